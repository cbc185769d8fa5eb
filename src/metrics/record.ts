/**
 * The metric record codec. A writer (a build worker, the launch thread, the
 * main thread) says what happened at one stage of one agent with one of the
 * typed constructors; the ring stores the raw `MetricRecord` in a fixed
 * 64-byte slot (ring.ts has the byte layout); readers get named fields back
 * from `decodeRecord`. The two stage-dependent slots of the raw record are
 * given meaning here and nowhere else:
 *
 * | stage | durationMs | detailMs                              |
 * |-------|------------|---------------------------------------|
 * | build | buildMs    | queueMs                               |
 * | spawn | spawnMs    | queueMs                               |
 * | exit  | runMs      | exitCode (-1 when killed by a signal) |
 */

/** Stage a record describes. Wire numbers: never renumber. */
export const STAGE = { build: 1, spawn: 2, exit: 3 } as const;
export type RecordStage = keyof typeof STAGE;
export const STAGE_BY_NUMBER: readonly (RecordStage | undefined)[] = [undefined, 'build', 'spawn', 'exit'];

/** The fields every record has, whatever its stage. */
export interface RecordHeader {
  ok: boolean;
  /** Wire number of the error code (`errorCodeNumber` in errors.ts), 0 when ok. */
  errorCode: number;
  agentId: number;
  batchId: number;
  /** `threadId` of the writer: 0 is the main thread, >0 a worker. */
  writerThreadId: number;
  /** The agent's pid; 0 on build records and where no process was started. */
  pid: number;
  /** Wall-clock time of the event, in ms since the epoch (`wallClockMs()`). */
  timestamp: number;
}

/** A record as the ring stores it. Build one with `buildRecord`, `spawnRecord` or `exitRecord`; read one with `decodeRecord`. */
export interface MetricRecord extends RecordHeader {
  /** build: prompt built on a worker; spawn: agent spawned (or failed to); exit: agent exited. */
  stage: RecordStage;
  /** The stage's own time: build time, spawn latency or run time. */
  durationMs: number;
  /** build and spawn: queue wait; exit: the exit code, -1 when killed by a signal. */
  detailMs: number;
}

/** A prompt built (or failing to build) on a worker thread. */
export interface BuildRecord extends RecordHeader {
  stage: 'build';
  /** Prompt build time on the worker. */
  buildMs: number;
  /** The batch start to the worker starting the build. */
  queueMs: number;
}

/** An agent spawned, or failing to: one per agent. */
export interface SpawnRecord extends RecordHeader {
  stage: 'spawn';
  /** Spawn latency: the prompt build starting to the agent counting as spawned (queue wait not included). */
  spawnMs: number;
  /** The batch start to the prompt build starting: set for every agent, with a prompt or not. */
  queueMs: number;
}

/** A spawned agent exited: one per spawned agent. */
export interface ExitRecord extends RecordHeader {
  stage: 'exit';
  /** Spawned to exit. */
  runMs: number;
  /** The exit code (never negative), or null when a signal killed the agent. */
  exitCode: number | null;
}

/** A record with its stage's named fields: what `decodeRecord` returns, switch on `stage`. */
export type DecodedRecord = BuildRecord | SpawnRecord | ExitRecord;

// What the wire stores for "no exit code": exit codes are never negative, so -1 cannot be one.
const NO_EXIT_CODE = -1;

/**
 * The raw record of a prompt build.
 *
 * @example
 * ring.write(
 *   buildRecord({ ok: true, errorCode: 0, agentId, batchId, writerThreadId: threadId, pid: 0, timestamp: startedAt, buildMs: builtAt - startedAt, queueMs }),
 * );
 */
export function buildRecord(r: Omit<BuildRecord, 'stage'>): MetricRecord {
  // Field by field, one object: this runs on every write, and a spread would also carry the named fields into the ring's record.
  const { ok, errorCode, agentId, batchId, writerThreadId, pid, timestamp } = r;
  return { stage: 'build', ok, errorCode, agentId, batchId, writerThreadId, pid, timestamp, durationMs: r.buildMs, detailMs: r.queueMs };
}

/**
 * The raw record of an agent's spawn, or of its failure to spawn.
 *
 * @example
 * const common: RecordHeader = { ok: true, errorCode: 0, agentId, batchId, writerThreadId: threadId, pid, timestamp: at };
 * ring.write(spawnRecord({ ...common, spawnMs: timings.spawnMs, queueMs: timings.queueMs }));
 */
export function spawnRecord(r: Omit<SpawnRecord, 'stage'>): MetricRecord {
  const { ok, errorCode, agentId, batchId, writerThreadId, pid, timestamp } = r;
  return { stage: 'spawn', ok, errorCode, agentId, batchId, writerThreadId, pid, timestamp, durationMs: r.spawnMs, detailMs: r.queueMs };
}

/**
 * The raw record of an agent's exit. `exitCode: null` (killed by a signal) is stored as -1.
 *
 * @example
 * const common: RecordHeader = { ok: false, errorCode: errorCodeNumber('E_SIGNAL'), agentId, batchId, writerThreadId: threadId, pid, timestamp: exit.at };
 * ring.write(exitRecord({ ...common, runMs: exit.durationMs, exitCode: exit.exitCode ?? null }));
 */
export function exitRecord(r: Omit<ExitRecord, 'stage'>): MetricRecord {
  const { ok, errorCode, agentId, batchId, writerThreadId, pid, timestamp } = r;
  return { stage: 'exit', ok, errorCode, agentId, batchId, writerThreadId, pid, timestamp, durationMs: r.runMs, detailMs: r.exitCode ?? NO_EXIT_CODE };
}

/**
 * A raw record's named fields. Returns a new object: the ring's `drain`
 * reuses the records it hands out, so decode what you keep.
 *
 * @example
 * ring.drain((raw) => {
 *   const r = decodeRecord(raw);
 *   if (r.stage === 'exit' && r.exitCode === null) console.log(`killed by a signal after ${r.runMs} ms`);
 * });
 */
export function decodeRecord(r: Readonly<MetricRecord>): DecodedRecord {
  const { ok, errorCode, agentId, batchId, writerThreadId, pid, timestamp, durationMs, detailMs } = r;
  switch (r.stage) {
    case 'build':
      return { stage: 'build', ok, errorCode, agentId, batchId, writerThreadId, pid, timestamp, buildMs: durationMs, queueMs: detailMs };
    case 'spawn':
      return { stage: 'spawn', ok, errorCode, agentId, batchId, writerThreadId, pid, timestamp, spawnMs: durationMs, queueMs: detailMs };
    case 'exit':
      return { stage: 'exit', ok, errorCode, agentId, batchId, writerThreadId, pid, timestamp, runMs: durationMs, exitCode: detailMs < 0 ? null : detailMs };
  }
}

/** Milliseconds since the epoch, with sub-millisecond precision, on any thread. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}
