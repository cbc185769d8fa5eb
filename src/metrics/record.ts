/**
 * One metric record: what a writer (a build worker or the main thread) says
 * about one stage of one agent. The ring stores these in fixed 64-byte slots;
 * see ring.ts for the byte layout.
 */

/** Stage a record describes. Wire numbers: never renumber. */
export const STAGE = { build: 1, spawn: 2, exit: 3 } as const;
export type RecordStage = keyof typeof STAGE;
export const STAGE_BY_NUMBER: readonly (RecordStage | undefined)[] = [undefined, 'build', 'spawn', 'exit'];

export interface MetricRecord {
  /** build: prompt built on a worker; spawn: agent spawned (or failed to); exit: agent exited. */
  stage: RecordStage;
  ok: boolean;
  /** Wire number of the error code (see errors.ts), 0 when ok. */
  errorCode: number;
  /** Small integer from the spawner's name table (names never enter the ring). */
  agentId: number;
  batchId: number;
  /** `threadId` of the writer: 0 is the main thread, >0 a worker. */
  writerThreadId: number;
  /** Child pid for spawn/exit records, 0 otherwise. */
  pid: number;
  /** Wall-clock time of the event, in ms since the epoch (comparable across threads). */
  timestamp: number;
  /**
   * build: build time; spawn: spawn latency (batch start to spawned);
   * exit: run time (spawned to exit).
   */
  durationMs: number;
  /** build: queue wait before the worker started; spawn: launch time; exit: exit code (-1 if killed by a signal). */
  detailMs: number;
}

/** Milliseconds since the epoch, with sub-millisecond precision, on any thread. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}
