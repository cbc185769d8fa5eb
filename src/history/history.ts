import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import type { Batch } from '../batch/batch.ts';
import { HistoryError } from '../errors.ts';
import type { SpawnerMetrics } from '../metrics/spawner-metrics.ts';
import { cleanupHistory } from './cleanup.ts';
import { openHistory, toHistoryError } from './database.ts';
import { queryStats } from './queries.ts';
import { BatchRecorder } from './recorder.ts';
import { CleanupSchedule, type ScheduleOptions } from './schedule.ts';
import { migrate, SCHEMA_VERSION } from './schema.ts';
import { HistoryWriter } from './store.ts';
import type { CleanupOptions, CleanupReport, HistoryStats, StatsOptions } from './types.ts';

/** Options of `History.open()` and of the Spawner option `history`. */
export interface HistoryOptions {
  /** The database file; its folder is created if missing. */
  path: string;
  /**
   * Longest a finished batch waits before it is written, ms.
   * @default 200
   */
  flushIntervalMs?: number;
  /**
   * How long a write waits for another process's lock, ms.
   * @default 5000
   */
  busyTimeoutMs?: number;
  /**
   * Fail if the file does not exist instead of creating it.
   * @default false
   */
  mustExist?: boolean;
  /**
   * Open for reading only (stats), creating no file at all, not even SQLite's
   * `-wal` / `-shm` (implies mustExist). A read-only History cannot record or
   * clean up.
   * @default false
   */
  readonly?: boolean;
}

/**
 * A spawn history in SQLite: every batch and every agent outcome with its
 * timings, across runs and processes (several spawners may share one file).
 * It is `spawner.history` when the Spawner was given `history: { path }`;
 * `History.open()` reads or cleans one up. Errors are HistoryErrors with a
 * stable `code` and the file's path.
 *
 * @example
 * const spawner = new Spawner({ history: { path: '.spawnpool/history.db' } });
 * await spawner.spawnBatch(agents).done;
 * const { successRate, latency } = spawner.history!.stats({ agent: 'reviewer' });
 * await spawner.close();
 */
export class History {
  /** Absolute path of the database file. */
  readonly path: string;
  /** Opened with `readonly: true`. */
  readonly readonly: boolean;
  readonly #db: Database;
  readonly #flushIntervalMs: number | undefined;
  // Created on the first batch to write (a History opened for cleanup before migrating has none).
  #writer: HistoryWriter | undefined;
  #recorder: BatchRecorder | undefined;
  #runId: string | undefined;
  // Schema version still to migrate to (opened for cleanup: after the integrity check).
  #migrateFrom: number | undefined;
  readonly #schedules = new Set<CleanupSchedule>();
  // Cleanups run one after another, whoever starts them (a schedule, a direct call).
  #cleanupTail: Promise<unknown> = Promise.resolve();
  #closed: Promise<void> | undefined;

  // Private: History.open() opens and checks the file; this only holds what it opened.
  private constructor(db: Database, file: string, options: HistoryOptions, migrateFrom: number | undefined) {
    this.#db = db;
    this.path = file;
    this.readonly = options.readonly ?? false;
    this.#flushIntervalMs = options.flushIntervalMs;
    this.#migrateFrom = migrateFrom;
  }

  /**
   * Opens (creating if needed) a history database. Throws HistoryError:
   * E_HISTORY_SCHEMA (newer spawnpool, or not a history file),
   * E_HISTORY_CORRUPT, E_HISTORY_IO (among others: a file, folder, `-wal` or
   * `-shm` this user cannot write, found here, before anything runs). A file
   * it refuses is left untouched.
   *
   * @example
   * const history = History.open({ path: '.spawnpool/history.db', readonly: true });
   * console.log(history.stats({ since: Date.now() - 7 * 86_400_000 }).latency.p95Ms);
   * await history.close();
   */
  static open(options: HistoryOptions | string): History {
    return History.#open(typeof options === 'string' ? { path: options } : options, true);
  }

  /** @internal For cleanup: opened to write, but an older schema is migrated only once the integrity check has passed. */
  static openForCleanup(options: HistoryOptions): History {
    return History.#open(options, false);
  }

  static #open(o: HistoryOptions, migrateNow: boolean): History {
    const file = path.resolve(o.path);
    const readonly = o.readonly ?? false;
    const opened = openHistory(file, {
      mustExist: readonly || (o.mustExist ?? false),
      readonly,
      migrate: migrateNow,
      ...(o.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: o.busyTimeoutMs }),
    });
    return new History(opened.db, file, o, !readonly && !migrateNow && opened.version < SCHEMA_VERSION ? opened.version : undefined);
  }

  /** Identifies the spawner recording here (`batches.run_id`): its `metrics.runId` once connected. */
  get runId(): string {
    this.#runId ??= randomUUID();
    return this.#runId;
  }

  /** @internal The Spawner connects its metrics: records feed the timings of tracked batches. */
  recordFrom(metrics: SpawnerMetrics): void {
    this.#assertWritable('record into');
    this.#runId = metrics.runId;
    // Prepared now: a failure shows here, at the spawner's construction, not after a batch.
    const writer = this.#writerFor();
    this.#recorder ??= new BatchRecorder(metrics, (entry) => writer.add(entry));
  }

  /** @internal The Spawner hands over each batch as it starts; it is written once every agent has exited. */
  track(batch: Batch): void {
    this.#assertOpen();
    if (this.#recorder === undefined)
      throw new HistoryError('E_HISTORY_IO', `${this.path}: this History is not connected to a spawner's metrics`, { file: this.path });
    this.#recorder.track(batch);
  }

  /** Batches finished but not written yet. */
  get pending(): number {
    return this.#writer?.pending ?? 0;
  }

  /** Rows this History has committed. */
  get written(): { batches: number; agents: number } {
    return this.#writer?.written ?? { batches: 0, agents: 0 };
  }

  /** Writes finished batches now instead of at the next flush tick. Throws HistoryError (rows stay queued). */
  flush(): void {
    this.#assertOpen();
    this.#writer?.flush();
  }

  /**
   * Spawn latency (p50/p95/p99; p95/p99 undefined under 20 samples), success
   * rates and counts per agent, and p95 per UTC day. Flushes first.
   *
   * @throws HistoryError when the file cannot be read.
   * @example
   * const week = history.stats({ since: Date.now() - 7 * 86_400_000 });
   * for (const a of week.agents) console.log(a.agent, a.successRate, a.latency.p95Ms);
   */
  stats(options: StatsOptions = {}): HistoryStats {
    this.flush();
    try {
      return queryStats(this.#db, options);
    } catch (error) {
      throw toHistoryError(error, this.path, 'read');
    }
  }

  /**
   * Checks the file (`check`, default the full integrity check) and, only if
   * it is sound, deletes batches older than `olderThan` with their agent
   * runs, in chunks. A damaged file is left as it was: the report lists the
   * damage and nothing is removed. Waits for any cleanup already running.
   * Rejects with a HistoryError on a read-only or closed History.
   *
   * @example
   * const report = await history.cleanup({ olderThan: '30d', vacuum: true });
   * if (report.integrity !== 'ok') console.error('damaged:', report.integrity);
   */
  cleanup(options: CleanupOptions): Promise<CleanupReport> {
    try {
      this.#assertOpen();
      this.#assertWritable('clean up');
    } catch (error) {
      return Promise.reject(error);
    }
    const run = this.#cleanupTail.then(() => {
      this.#writer?.flush();
      return cleanupHistory(this.#db, this.path, options, () => this.#migrateNow());
    });
    this.#cleanupTail = run.catch(() => {});
    return run;
  }

  /**
   * Runs `cleanup()` every `every` (e.g. `1d`), in this process, never two at
   * once. Stopped by `schedule.stop()` or `close()`.
   *
   * @example
   * spawner.history?.scheduleCleanup({ olderThan: '30d', every: '1d', check: 'quick' });
   */
  scheduleCleanup(options: ScheduleOptions): CleanupSchedule {
    this.#assertOpen();
    const { every: _every, runNow: _runNow, onResult: _onResult, onError: _onError, ...cleanup } = options;
    const schedule = new CleanupSchedule((signal) => this.cleanup({ ...cleanup, signal }), options);
    this.#schedules.add(schedule);
    return schedule;
  }

  /** Result of `PRAGMA integrity_check`: `['ok']` when the file is sound. */
  integrityCheck(): string[] {
    try {
      return (this.#db.pragma('integrity_check') as { integrity_check: string }[]).map((row) => row.integrity_check);
    } catch (error) {
      throw toHistoryError(error, this.path, 'check');
    }
  }

  /**
   * Stops schedules, waits for tracked batches to finish, writes every row and
   * closes the file. Rejects with a HistoryError if the rows cannot be written.
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.all([...this.#schedules].map((s) => s.stop()));
      await this.#cleanupTail;
      await this.#recorder?.settled();
      this.#recorder?.close();
      try {
        this.#writer?.flush();
      } finally {
        this.#db.close();
      }
    })();
    return this.#closed;
  }

  #assertOpen(): void {
    if (this.#closed) throw new HistoryError('E_HISTORY_IO', `${this.path}: the history is closed`, { file: this.path });
  }

  #assertWritable(action: string): void {
    if (this.readonly) throw new HistoryError('E_HISTORY_IO', `${this.path}: cannot ${action} a history opened read-only`, { file: this.path });
  }

  #writerFor(): HistoryWriter {
    this.#migrateNow();
    this.#writer ??= new HistoryWriter(this.#db, this.path, this.#flushIntervalMs === undefined ? {} : { flushIntervalMs: this.#flushIntervalMs });
    return this.#writer;
  }

  // The migration deferred by openForCleanup (a no-op otherwise).
  #migrateNow(): void {
    if (this.#migrateFrom === undefined) return;
    try {
      migrate(this.#db, this.path);
    } catch (error) {
      throw toHistoryError(error, this.path, 'migrate');
    }
    this.#migrateFrom = undefined;
  }
}
