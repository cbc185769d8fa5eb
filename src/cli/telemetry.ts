/**
 * What `spawnpool run` sends out of the process besides its report: the
 * history database (`--db`, `--no-db`), a JSON lines file of every metric
 * record (`--metrics-out`) and a loopback Prometheus endpoint
 * (`--serve-metrics`).
 */
import { JsonlWriter } from '../export/jsonl.ts';
import { serveMetrics, type MetricsServer } from '../export/metrics-server.ts';
import type { Spawner, SpawnerOptions } from '../spawner.ts';
import { dbPath, DB_USAGE } from './history-flags.ts';
import { intFlag, UsageError } from './usage-error.ts';

export const TELEMETRY_OPTIONS = {
  db: { type: 'string' },
  'no-db': { type: 'boolean', default: false },
  'metrics-out': { type: 'string' },
  'serve-metrics': { type: 'string' },
} as const;

export const TELEMETRY_USAGE = `${DB_USAGE}
  --no-db            do not record this run in the history database
  --metrics-out FILE append one JSON line per metric record to FILE
  --serve-metrics PORT
                     serve Prometheus metrics on http://127.0.0.1:PORT/metrics while
                     the batch runs (0: any free port; the URL is printed to stderr)`;

export interface TelemetryFlags {
  db?: string | undefined;
  'no-db'?: boolean | undefined;
  'metrics-out'?: string | undefined;
  'serve-metrics'?: string | undefined;
}

/** Spawner options the flags call for. Prometheus stays off (prom-client unloaded) unless metrics are served. */
export function telemetrySpawnerOptions(flags: TelemetryFlags): Pick<SpawnerOptions, 'history' | 'prometheus'> {
  if (flags['no-db'] && flags.db !== undefined) throw new UsageError('Expected either --db or --no-db, not both');
  // Checked here, before the Spawner starts its workers.
  intFlag('serve-metrics', flags['serve-metrics'], 0, 65535);
  return {
    prometheus: flags['serve-metrics'] !== undefined,
    ...(flags['no-db'] ? {} : { history: { path: dbPath(flags.db) } }),
  };
}

export interface Telemetry {
  /** Writes what the JSON lines file still has queued and stops the server. Call after `spawner.close()`. */
  close(): Promise<void>;
}

/** Starts the JSON lines writer and the metrics server the flags ask for. */
export async function startTelemetry(spawner: Spawner, flags: TelemetryFlags): Promise<Telemetry> {
  const port = intFlag('serve-metrics', flags['serve-metrics'], 0, 65535);
  const writer = flags['metrics-out'] === undefined ? undefined : new JsonlWriter(spawner.metrics, flags['metrics-out']);
  let server: MetricsServer | undefined;
  try {
    if (port !== undefined) {
      server = await serveMetrics(spawner.metrics, port);
      process.stderr.write(`spawnpool: serving metrics on ${server.url}\n`);
    }
  } catch (error) {
    await writer?.close();
    throw error;
  }
  return {
    async close() {
      await Promise.all([writer?.close(), server?.close()]);
    },
  };
}
