/**
 * The history's public types, kept apart from the code that needs
 * better-sqlite3, so the published declarations never reference it.
 */
import type { LatencyStats } from '../metrics/stats.ts';

export interface StatsOptions {
  /** Only batches started at or after this time (ms since the epoch). */
  since?: number | undefined;
  /** Only this agent. */
  agent?: string | undefined;
}

/** Counts and spawn latency of a set of agent runs. */
export interface RunStats {
  /** Agent runs. */
  total: number;
  /** Counted as spawned. */
  spawned: number;
  /** Spawned, ran and exited 0. */
  succeeded: number;
  failed: number;
  /** Failures by stage (build, spawn, run, timeout, aborted). */
  failedByStage: Record<string, number>;
  /** spawned / total; undefined with no runs. */
  spawnSuccessRate: number | undefined;
  /** succeeded / total; undefined with no runs. */
  successRate: number | undefined;
  /**
   * Spawn latency of the spawned runs: the build starting to spawned. Rows
   * from before schema 2 counted from the batch start: their queue wait is
   * taken off where it was measured (agents with a prompt). p95/p99
   * undefined under 20 samples.
   */
  latency: LatencyStats;
}

export interface AgentStats extends RunStats {
  agent: string;
}

export interface DayStats {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  spawned: number;
  p50Ms: number | undefined;
  /** undefined under 20 spawns that day. */
  p95Ms: number | undefined;
}

export interface HistoryStats extends RunStats {
  /** ISO time of `since`, or null for all of the history. */
  since: string | null;
  agent: string | null;
  batches: number;
  /** By agent name. */
  agents: AgentStats[];
  /** Days with at least one spawn, oldest first. */
  daily: DayStats[];
}

export interface CleanupOptions {
  /** Delete batches started longer ago than this: ms, or a duration such as `30d`. */
  olderThan: number | string;
  /** Rebuild the file afterwards so it shrinks on disk (slow on big files; locks out writers meanwhile). Default false. */
  vacuum?: boolean;
  /** Rows deleted per transaction. Default 1000. */
  chunkSize?: number;
  /**
   * The check run before anything is deleted: `integrity` (full, reads every
   * page), `quick` (skips index cross-checks) or false (none). A file that
   * fails it is left untouched. Default `integrity`.
   */
  check?: 'integrity' | 'quick' | false;
  /** The present, for tests. Default Date.now(). */
  now?: number;
  /** Stops between chunks; what was deleted stays deleted. */
  signal?: AbortSignal;
}

export interface CleanupReport {
  /** ISO time: batches started before it were deleted. */
  cutoff: string;
  batchesRemoved: number;
  agentRunsRemoved: number;
  /** Transactions used. */
  chunks: number;
  /** False when stopped through `signal` before the end, or when the check found damage (then nothing was removed). */
  complete: boolean;
  /** Size on disk of the database and its WAL, before and after. */
  bytesBefore: number;
  bytesAfter: number;
  /** bytesBefore - bytesAfter, at least 0. Without `vacuum` the file keeps its size: see `freeBytes`. */
  bytesReclaimed: number;
  /** Space inside the file now free for new rows (free pages). */
  freeBytes: number;
  /** The check before deleting: `ok`, or SQLite's list of problems (nothing removed); `skipped` when `check` is false or the run was stopped. */
  integrity: 'ok' | 'skipped' | string[];
  vacuumed: boolean;
}
