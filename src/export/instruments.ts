/**
 * The instruments spawnpool exports, defined once so that Prometheus and
 * OpenTelemetry report the same observations, each under its own naming
 * rules (`spawnpool_spawn_duration_seconds` / `spawnpool.spawn.duration`).
 * Also the one mapping from a ring record to those observations.
 */
import type { ErrorCode } from '../errors.ts';
import type { NamedRecord } from '../metrics/spawner-metrics.ts';

/** Spawns take milliseconds to a few seconds (a slow `ready` line). Seconds. */
export const SPAWN_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Queue wait, prompt build and launch: sub-millisecond to a few seconds. Seconds. */
export const STEP_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Agents run from milliseconds (a failing command) to an hour. Seconds. */
export const RUN_BUCKETS: readonly number[] = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];

export type HistogramKey = 'spawn' | 'queue' | 'build' | 'launch' | 'run';

export interface HistogramDef {
  key: HistogramKey;
  /** Prometheus name: base unit (seconds) as suffix. */
  prometheus: string;
  /** OpenTelemetry name: dotted, unit given separately. */
  otel: string;
  help: string;
  buckets: readonly number[];
}

/** Histograms, labelled `agent` and `outcome` ("ok" | "failed"). */
export const HISTOGRAMS: readonly HistogramDef[] = [
  { key: 'spawn', prometheus: 'spawnpool_spawn_duration_seconds', otel: 'spawnpool.spawn.duration', help: 'Spawn latency: batch start to the agent counting as spawned (queue wait + build + launch).', buckets: SPAWN_BUCKETS },
  { key: 'queue', prometheus: 'spawnpool_queue_wait_seconds', otel: 'spawnpool.queue.wait', help: 'Batch start to the prompt build starting on a worker thread.', buckets: STEP_BUCKETS },
  { key: 'build', prometheus: 'spawnpool_build_duration_seconds', otel: 'spawnpool.build.duration', help: 'Prompt build time on a worker thread.', buckets: STEP_BUCKETS },
  { key: 'launch', prometheus: 'spawnpool_launch_duration_seconds', otel: 'spawnpool.launch.duration', help: 'Prompt back on the main thread to the agent counting as spawned.', buckets: STEP_BUCKETS },
  { key: 'run', prometheus: 'spawnpool_run_duration_seconds', otel: 'spawnpool.run.duration', help: 'Agent run time: spawned to exit.', buckets: RUN_BUCKETS },
];

export const SPAWNS = {
  prometheus: 'spawnpool_spawns_total',
  otel: 'spawnpool.spawns',
  help: 'Agent outcomes by stage: build (prompt built), spawn (agent spawned), run (agent exited with code 0).',
} as const;

export const ERRORS = {
  prometheus: 'spawnpool_errors_total',
  otel: 'spawnpool.errors',
  help: 'Failed stages by error code.',
} as const;

export const RING_WRITTEN = {
  prometheus: 'spawnpool_ring_records_written_total',
  otel: 'spawnpool.ring.records.written',
  help: 'Metric records written to the ring by every thread.',
} as const;

export const RING_DROPPED = {
  prometheus: 'spawnpool_ring_records_dropped_total',
  otel: 'spawnpool.ring.records.dropped',
  help: 'Metric records lost: overwritten before they were read, or torn.',
} as const;

export type Outcome = 'ok' | 'failed';
/** Stage label values. A ring `exit` record is the `run` stage. */
export type ExportStage = 'build' | 'spawn' | 'run';

/** What one ring record contributes to the exported instruments. */
export interface RecordObservations {
  agent: string;
  stage: ExportStage;
  outcome: Outcome;
  /** Set when the stage failed: the error code, or "unknown" for a wire number this version does not know. */
  code: ErrorCode | 'unknown' | undefined;
  /** Seconds per histogram; a histogram absent here is not observed. */
  seconds: Partial<Record<HistogramKey, number>>;
}

/** Maps a ring record to its observations (see record.ts for what durationMs / detailMs hold per stage). */
export function observationsOf(record: NamedRecord): RecordObservations {
  const outcome: Outcome = record.ok ? 'ok' : 'failed';
  const code: RecordObservations['code'] = record.ok ? undefined : (record.error ?? 'unknown');
  const base = { agent: record.agent, outcome, code };
  switch (record.stage) {
    case 'build':
      return { ...base, stage: 'build', seconds: { build: seconds(record.durationMs), queue: seconds(record.detailMs) } };
    case 'spawn':
      // A failed spawn has no launch time (detailMs is 0): observing it would skew the launch histogram.
      return { ...base, stage: 'spawn', seconds: record.ok ? { spawn: seconds(record.durationMs), launch: seconds(record.detailMs) } : { spawn: seconds(record.durationMs) } };
    case 'exit':
      return { ...base, stage: 'run', seconds: { run: seconds(record.durationMs) } };
  }
}

// Clocks of different threads may disagree by a hair; a negative duration is noise, not data.
function seconds(ms: number): number {
  return Math.max(0, ms) / 1000;
}
