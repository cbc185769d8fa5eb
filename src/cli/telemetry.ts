/**
 * What `spawnpool run` sends out of the process besides its report: the
 * history database (`--db`, `--no-db`), a JSON lines file of every metric
 * record (`--metrics-out`), and Prometheus metrics three ways: a loopback
 * endpoint (`--serve-metrics`, kept up until it has been scraped after the
 * batch, `--metrics-linger`), a Pushgateway (`--push-gateway`) and a file
 * for node_exporter's textfile collector (`--metrics-textfile`).
 */
import { once } from 'node:events';
import { createPusher, type MetricsPusher } from '../export/pushgateway.ts';
import { serveMetrics, type MetricsServer } from '../export/metrics-server.ts';
import { checkTextfilePath, writeTextfile } from '../export/textfile.ts';
import { parseDuration } from '../history/duration.ts';
import type { Spawner, SpawnerOptions } from '../spawner.ts';
import { dbPath, DB_USAGE } from './history-flags.ts';
import { intFlag, UsageError } from './usage-error.ts';

export const TELEMETRY_OPTIONS = {
  db: { type: 'string' },
  'no-db': { type: 'boolean', default: false },
  'metrics-out': { type: 'string' },
  'serve-metrics': { type: 'string' },
  'metrics-linger': { type: 'string' },
  'push-gateway': { type: 'string' },
  'metrics-textfile': { type: 'string' },
  'agent-labels': { type: 'boolean', default: false },
} as const;

/** How long the endpoint waits for a scrape, before the first spawn and after the batch, unless --metrics-linger says otherwise. */
export const DEFAULT_LINGER = '2m';

export const TELEMETRY_USAGE = `${DB_USAGE}
  --no-db            do not record this run in the history database
  --metrics-out FILE append one JSON line per metric record to FILE
  --serve-metrics PORT
                     serve Prometheus metrics on http://127.0.0.1:PORT/metrics (0: any free
                     port; the URL is printed to stderr). The first spawn waits for a first
                     scrape, and the endpoint stays up after the batch until it has been
                     scraped once more, so Prometheus holds the run's start and end
  --metrics-linger DURATION
                     longest --serve-metrics waits for each of those scrapes, e.g. 30s
                     (default ${DEFAULT_LINGER}; 0: no waiting, the endpoint closes with the batch)
  --push-gateway URL push the metrics to this Prometheus Pushgateway (job "spawnpool",
                     instance: this host) before the first spawn and after the batch
  --metrics-textfile FILE.prom
                     write the metrics to FILE.prom (replaced atomically) before the first
                     spawn and after the batch, for node_exporter's textfile collector
  --agent-labels     label metrics with the agent name (one set of series per name:
                     leave off when names are unique per task)`;

export interface TelemetryFlags {
  db?: string | undefined;
  'no-db'?: boolean | undefined;
  'metrics-out'?: string | undefined;
  'serve-metrics'?: string | undefined;
  'metrics-linger'?: string | undefined;
  'push-gateway'?: string | undefined;
  'metrics-textfile'?: string | undefined;
  'agent-labels'?: boolean | undefined;
}

/**
 * Spawner options the flags call for, every flag checked here, before the
 * Spawner starts anything. Prometheus stays off (prom-client unloaded)
 * unless metrics are served, pushed or written.
 */
export function telemetrySpawnerOptions(flags: TelemetryFlags): Pick<SpawnerOptions, 'history' | 'prometheus' | 'jsonl' | 'agentLabels'> {
  if (flags['no-db'] && flags.db !== undefined) throw new UsageError('Expected either --db or --no-db, not both');
  intFlag('serve-metrics', flags['serve-metrics'], 0, 65535);
  lingerMs(flags);
  if (flags['metrics-linger'] !== undefined && flags['serve-metrics'] === undefined) throw new UsageError('--metrics-linger applies to --serve-metrics');
  if (flags['push-gateway'] !== undefined) pushUrl(flags['push-gateway']);
  if (flags['metrics-textfile'] !== undefined) {
    try {
      checkTextfilePath(flags['metrics-textfile']);
    } catch (error) {
      throw new UsageError(`--metrics-textfile: ${(error as Error).message}`);
    }
  }
  const prometheus = flags['serve-metrics'] !== undefined || flags['push-gateway'] !== undefined || flags['metrics-textfile'] !== undefined;
  return {
    prometheus,
    agentLabels: flags['agent-labels'] ?? false,
    ...(flags['metrics-out'] === undefined ? {} : { jsonl: flags['metrics-out'] }),
    ...(flags['no-db'] ? {} : { history: { path: dbPath(flags.db) } }),
  };
}

export interface Telemetry {
  /**
   * Call after `spawner.close()` (every record drained, the history
   * written): writes the textfile and pushes once more, then keeps the
   * endpoint up until it has been scraped after that (at most the linger),
   * and closes it. Never rejects: failures are reported on stderr.
   */
  close(): Promise<void>;
}

/**
 * Starts what the flags ask for before the batch: the endpoint (then waits,
 * at most the linger, for its first scrape, so Prometheus holds every series
 * at 0 before the first spawn; a scrape answered after the timeout Prometheus
 * states is not one, as Prometheus dropped it), the first push and the first
 * textfile.
 * `signal` (Ctrl-C) cuts every wait short. Throws ConfigError when the port
 * is taken or the first push or write fails: nothing has spawned yet.
 */
export async function startTelemetry(spawner: Spawner, flags: TelemetryFlags, signal?: AbortSignal): Promise<Telemetry> {
  const port = intFlag('serve-metrics', flags['serve-metrics'], 0, 65535);
  const linger = lingerMs(flags);
  const textfile = flags['metrics-textfile'];
  const pusher: MetricsPusher | undefined = flags['push-gateway'] === undefined ? undefined : createPusher(spawner.metrics, pushUrl(flags['push-gateway']));
  let server: MetricsServer | undefined;
  try {
    if (textfile !== undefined) await writeTextfile(spawner.metrics, textfile);
    if (pusher !== undefined) await pusher.push();
    if (port !== undefined) {
      server = await serveMetrics(spawner.metrics, port);
      process.stderr.write(`spawnpool: serving metrics on ${server.url}\n`);
      if (linger > 0) {
        process.stderr.write(
          `spawnpool: waiting for a first scrape of ${server.url} before spawning (at most ${flags['metrics-linger'] ?? DEFAULT_LINGER}; --metrics-linger 0 does not wait)\n`,
        );
        if (!(await scraped(server, Date.now(), linger, signal)) && !signal?.aborted) {
          process.stderr.write(
            `spawnpool: no scrape of ${server.url} within ${flags['metrics-linger'] ?? DEFAULT_LINGER}: spawning anyway (rate() and increase() will miss what happens before the first one)\n`,
          );
        }
      }
    }
  } catch (error) {
    await server?.close();
    throw error;
  }
  let closed: Promise<void> | undefined;
  return {
    close() {
      closed ??= (async () => {
        const endedAt = Date.now();
        if (textfile !== undefined) await writeTextfile(spawner.metrics, textfile).catch(report);
        if (pusher !== undefined) {
          await pusher.push().then(() => process.stderr.write(`spawnpool: pushed metrics to ${pusher.groupUrl}\n`), report);
        }
        if (server === undefined) return;
        if (linger > 0) {
          process.stderr.write(
            `spawnpool: batch ended; serving metrics until ${server.url} has been scraped once more (at most ${flags['metrics-linger'] ?? DEFAULT_LINGER}; Ctrl-C stops waiting)\n`,
          );
          if (!(await scraped(server, endedAt, linger, undefined, true))) {
            process.stderr.write(
              `spawnpool: no scrape of ${server.url} after the batch within ${flags['metrics-linger'] ?? DEFAULT_LINGER}: Prometheus does not have this run's final figures\n`,
            );
          }
        }
        await server.close();
      })();
      return closed;
    },
  };
}

/** Waits for a scrape started at or after `after`; a signal (or, with `interruptible`, a Ctrl-C) ends the wait. */
async function scraped(server: MetricsServer, after: number, timeoutMs: number, signal: AbortSignal | undefined, interruptible = false): Promise<boolean> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  signal?.addEventListener('abort', onSignal, { once: true });
  if (interruptible) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    return await Promise.race([server.waitForScrape({ after, timeoutMs }), once(stop.signal, 'abort').then(() => false)]);
  } finally {
    stop.abort();
    signal?.removeEventListener('abort', onSignal);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function report(error: unknown): void {
  process.stderr.write(`spawnpool: ${(error as Error).message}\n`);
}

function lingerMs(flags: TelemetryFlags): number {
  const value = flags['metrics-linger'] ?? DEFAULT_LINGER;
  if (/^\s*0+(\.0*)?\s*(ms|s|m|h)?\s*$/.test(value)) return 0;
  try {
    return parseDuration(value, '--metrics-linger');
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function pushUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`Expected --push-gateway to be an http(s) URL such as http://127.0.0.1:9091, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`Expected --push-gateway to be an http(s) URL such as http://127.0.0.1:9091, got "${value}"`);
  return value;
}
