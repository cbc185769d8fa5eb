/**
 * Every exporter of a spawner's metrics, built in one list: prom-client,
 * OpenTelemetry, JSON lines and the SQLite history. Each is a subscriber of
 * the spawner's metrics (its records and its queued batches) with a
 * `close()`; the Spawner builds the list once and closes it with itself.
 */
import type { Meter } from '@opentelemetry/api';
import type { Registry } from 'prom-client';
import { History, type HistoryOptions } from '../history/history.ts';
import type { SpawnerMetrics } from '../metrics/spawner-metrics.ts';
import { BatchTally } from './batch-tally.ts';
import { JsonlWriter, type JsonlOptions } from './jsonl.ts';
import { OtelExporter } from './otel.ts';
import { PrometheusExporter } from './prometheus.ts';

/** One subscriber of a spawner's metrics. */
export interface MetricsSubscriber {
  /** Stops listening and writes or hands over what is left. */
  close(): void | Promise<void>;
}

export interface ExporterOptions {
  /** true: prom-client export on a registry of its own; a Registry: on that one; false: none (prom-client never loaded). */
  prometheus?: boolean | Registry;
  /** Also record every instrument on this OpenTelemetry Meter. */
  meter?: Meter | undefined;
  /** Per-agent `agent` label (prom-client) and attribute (OpenTelemetry). Default false: bounded series. */
  agentLabels?: boolean | undefined;
  /** Append one JSON line per record to this file. */
  jsonl?: string | ({ path: string } & JsonlOptions) | undefined;
  /** Record every batch and agent outcome in this SQLite file. */
  history?: HistoryOptions | undefined;
}

export interface Exporters {
  readonly subscribers: readonly MetricsSubscriber[];
  readonly prometheus: PrometheusExporter | undefined;
  readonly history: History | undefined;
  readonly jsonl: JsonlWriter | undefined;
  /** Closes every subscriber; rejects with the first failure (e.g. history rows that could not be written) once all have closed. Idempotent. */
  close(): Promise<void>;
}

/**
 * Builds the exporters `options` asks for. The history is opened last, so a
 * bad option leaves no open database; if anything throws, what was built is
 * closed again.
 */
export function createExporters(metrics: SpawnerMetrics, options: ExporterOptions): Exporters {
  const subscribers: MetricsSubscriber[] = [];
  const tally = new BatchTally(metrics);
  subscribers.push(tally);
  const agentLabels = options.agentLabels ?? false;
  let prometheus: PrometheusExporter | undefined;
  let jsonl: JsonlWriter | undefined;
  let history: History | undefined;
  try {
    if (options.prometheus !== undefined && options.prometheus !== false) {
      prometheus = new PrometheusExporter(metrics, { registry: options.prometheus === true ? undefined : options.prometheus, agentLabels, tally });
      subscribers.push(prometheus);
    }
    if (options.meter !== undefined) subscribers.push(new OtelExporter(metrics, options.meter, { agentLabels, tally }));
    if (options.jsonl !== undefined) {
      const { path, ...jsonlOptions } = typeof options.jsonl === 'string' ? { path: options.jsonl } : options.jsonl;
      jsonl = new JsonlWriter(metrics, path, jsonlOptions);
      subscribers.push(jsonl);
    }
    if (options.history !== undefined) {
      history = History.open(options.history);
      subscribers.push(history);
      history.recordFrom(metrics);
    }
  } catch (error) {
    for (const s of subscribers) void Promise.resolve(s.close()).catch(() => {});
    throw error;
  }
  let closed: Promise<void> | undefined;
  return {
    subscribers,
    prometheus,
    history,
    jsonl,
    close() {
      closed ??= (async () => {
        const results = await Promise.allSettled(subscribers.map((s) => s.close()));
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      })();
      return closed;
    },
  };
}
