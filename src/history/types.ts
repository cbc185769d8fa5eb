/**
 * The history's public types, kept apart from the code that needs
 * better-sqlite3, so the published declarations never reference it.
 */
import type { LatencyStats } from '../metrics/stats.ts';

/** Options of `history.stats()`. Default: the whole history, every agent. */
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
  /** Runs that did not succeed (any stage). */
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

/** The figures of one agent (by name, across all the batches it ran in). */
export interface AgentStats extends RunStats {
  /** The agent's name. */
  agent: string;
}

/** Spawn latency of one UTC day. */
export interface DayStats {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  /** Agent runs counted as spawned that day. */
  spawned: number;
  /** Median spawn latency that day; undefined with no spawns. */
  p50Ms: number | undefined;
  /** undefined under 20 spawns that day. */
  p95Ms: number | undefined;
}

/** What `history.stats()` returns: the figures of every run it selected, then by agent and by day. */
export interface HistoryStats extends RunStats {
  /** ISO time of `since`, or null for all of the history. */
  since: string | null;
  /** The `agent` asked for, or null for every agent. */
  agent: string | null;
  /** Batches with at least one selected run. */
  batches: number;
  /** By agent name. */
  agents: AgentStats[];
  /** Days with at least one spawn, oldest first. */
  daily: DayStats[];
}

/** Options of `history.cleanup()` (and, with the schedule's own, of `history.scheduleCleanup()`). */
export interface CleanupOptions {
  /** Delete batches started longer ago than this: ms, or a duration such as `30d`. */
  olderThan: number | string;
  /**
   * Rebuild the file afterwards so it shrinks on disk (slow on big files; locks out writers meanwhile).
   * @default false
   */
  vacuum?: boolean;
  /**
   * Rows deleted per transaction: smaller holds the write lock for less time at once.
   * @default 1000
   */
  chunkSize?: number;
  /**
   * The check run before anything is deleted: `integrity` (full, reads every
   * page), `quick` (skips index cross-checks) or false (none). A file that
   * fails it is left untouched.
   * @default 'integrity'
   */
  check?: 'integrity' | 'quick' | false;
  /**
   * The present, ms since the epoch, for tests.
   * @default Date.now()
   */
  now?: number;
  /** Stops between chunks; what was deleted stays deleted. */
  signal?: AbortSignal;
}

/** What one cleanup did. */
export interface CleanupReport {
  /** ISO time: batches started before it were deleted. */
  cutoff: string;
  /** Batches deleted. */
  batchesRemoved: number;
  /** Agent runs deleted with them. */
  agentRunsRemoved: number;
  /** Transactions used. */
  chunks: number;
  /** False when stopped through `signal` before the end, or when the check found damage (then nothing was removed). */
  complete: boolean;
  /** Size on disk of the database and its WAL, before. */
  bytesBefore: number;
  /** The same, after. */
  bytesAfter: number;
  /** bytesBefore - bytesAfter, at least 0. Without `vacuum` the file keeps its size: see `freeBytes`. */
  bytesReclaimed: number;
  /** Space inside the file now free for new rows (free pages). */
  freeBytes: number;
  /** The check before deleting: `ok`, or SQLite's list of problems (nothing removed); `skipped` when `check` is false or the run was stopped. */
  integrity: 'ok' | 'skipped' | string[];
  /** True when the file was rebuilt (`vacuum`, and the cleanup completed). */
  vacuumed: boolean;
}
