/**
 * Pushes a spawner's Prometheus metrics to a Pushgateway with prom-client's
 * own client (PUT: the group's metrics are replaced by this push), for runs
 * too short to be scraped: a CLI run, a CI job.
 */
import os from 'node:os';
import { ConfigError } from '../errors.ts';
import type { SpawnerMetrics } from '../metrics/spawner-metrics.ts';
import { loadPromClient } from './prometheus.ts';

export interface PushOptions {
  /** The `job` label of the group. Default `spawnpool`. */
  job?: string;
  /** More grouping labels. Default `{ instance: <hostname> }`. */
  groupings?: Record<string, string>;
  /** Give up on a push after this long. Default 10000 ms. */
  timeoutMs?: number;
}

/** A Pushgateway client for one spawner's registry. */
export interface MetricsPusher {
  /** The group's URL, e.g. `http://127.0.0.1:9091/metrics/job/spawnpool/instance/host1`. */
  readonly groupUrl: string;
  /** Replaces the group's metrics with the spawner's now (the ring is drained first). Rejects with the gateway's answer on failure. */
  push(): Promise<void>;
}

/**
 * @example
 * const pusher = createPusher(spawner.metrics, 'http://127.0.0.1:9091');
 * await pusher.push(); // after the batch
 */
export function createPusher(metrics: SpawnerMetrics, url: string, options: PushOptions = {}): MetricsPusher {
  const registry = metrics.prometheusRegistry;
  if (registry === undefined) throw new ConfigError('Prometheus export is off for this spawner: create it without `prometheus: false` to push metrics');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`Expected the Pushgateway URL to be an http(s) URL such as http://127.0.0.1:9091, got \`${url}\``);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(`Expected the Pushgateway URL to be an http(s) URL, got \`${url}\``);
  const jobName = options.job ?? 'spawnpool';
  const groupings = options.groupings ?? { instance: os.hostname() };
  const prom = loadPromClient();
  const gateway = new prom.Pushgateway(url, { timeout: options.timeoutMs ?? 10_000 }, registry);
  const base = url.replace(/\/+$/, '');
  const groupUrl = `${base}/metrics/job/${encodeURIComponent(jobName)}${Object.entries(groupings)
    .map(([k, v]) => `/${encodeURIComponent(k)}/${encodeURIComponent(v)}`)
    .join('')}`;
  return {
    groupUrl,
    async push() {
      try {
        await gateway.push({ jobName, groupings });
      } catch (error) {
        throw new ConfigError(`Cannot push metrics to ${groupUrl}: ${(error as Error).message}`, { cause: error });
      }
    },
  };
}
