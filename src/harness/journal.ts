/**
 * Named runs in the history database: which batch was which attempt of
 * which agent run. The history already holds every attempt's outcome (each
 * attempt is one batch of one agent, so one `batches` row and one
 * `agent_runs` row); this table adds the run name, the task and the attempt
 * number, and whether the attempt was the run's last:
 *
 * | column           | meaning                                                                 |
 * |------------------|-------------------------------------------------------------------------|
 * | `run_name`       | the harness's `runName` (CLI `--run-name`)                               |
 * | `agent_run`      | `<agent>/<task id>`: the `agent` of the attempt's `agent_runs` row       |
 * | `agent`, `task_id` | the agent's own name and the task's id                                |
 * | `attempt`        | 1, 2, ... per agent run, across resumed invocations                      |
 * | `spawner_run_id`, `batch_seq` | the attempt's batch: `batches (run_id, batch_seq)`           |
 * | `started_at`     | ms since the epoch                                                       |
 * | `final`          | NULL until known; 1: the run's outcome (succeeded, or failed with no retry to come); 0: retried or interrupted |
 *
 * An attempt's row is committed before its agent can have been recorded
 * (the history writes a batch 200 ms or more after it ends, from this same
 * thread), and the outcome is read from `agent_runs`, the history's own
 * row. So after a crash at any point a run counts as succeeded only if the
 * history holds its success, and `resume` runs it again otherwise: every
 * task ends up succeeded exactly once in the history.
 *
 * The table is created here, in the history file, with `CREATE TABLE IF
 * NOT EXISTS` (the history's migrations belong to src/history). Its foreign
 * key cascades from `batches`, so `spawnpool cleanup` (whose connection has
 * foreign keys on) removes an attempt with its batch.
 */
import { createRequire } from 'node:module';
import type { Database, Statement } from 'better-sqlite3';
import { HistoryError } from '../errors.ts';

type DatabaseConstructor = typeof import('better-sqlite3');
const require = createRequire(import.meta.url);

export const ATTEMPTS_TABLE_SQL = `
  CREATE TABLE IF NOT EXISTS harness_attempts (
    id             INTEGER PRIMARY KEY,
    run_name       TEXT    NOT NULL,
    agent_run      TEXT    NOT NULL,
    agent          TEXT    NOT NULL,
    task_id        TEXT,
    attempt        INTEGER NOT NULL,
    spawner_run_id TEXT    NOT NULL,
    batch_seq      INTEGER NOT NULL,
    started_at     INTEGER NOT NULL,
    final          INTEGER,
    UNIQUE (run_name, agent_run, attempt),
    FOREIGN KEY (spawner_run_id, batch_seq) REFERENCES batches (run_id, batch_seq) ON DELETE CASCADE
  );
  CREATE INDEX IF NOT EXISTS harness_attempts_batch ON harness_attempts (spawner_run_id, batch_seq);
`;

/** What a named run already holds for one agent run. */
export interface PreviousRun {
  /** The history has an attempt of it that exited 0. */
  succeeded: boolean;
  /** Its last attempt failed and was final (not interrupted, no retry was to come), and the history has that failure. */
  failed: boolean;
  /** Highest attempt number so far. */
  lastAttempt: number;
}

/** One attempt about to start. */
export interface AttemptStart {
  runName: string;
  agentRun: string;
  agent: string;
  taskId: string | undefined;
  attempt: number;
  spawnerRunId: string;
  batchSeq: number;
}

export class RunJournal {
  readonly file: string;
  readonly runName: string;
  readonly #db: Database;
  readonly #insert: Statement | undefined;
  readonly #final: Statement | undefined;
  #closed = false;

  private constructor(db: Database, file: string, runName: string, writable: boolean) {
    this.#db = db;
    this.file = file;
    this.runName = runName;
    if (writable) {
      this.#insert = db.prepare(
        'INSERT INTO harness_attempts (run_name, agent_run, agent, task_id, attempt, spawner_run_id, batch_seq, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      );
      this.#final = db.prepare('UPDATE harness_attempts SET final = ? WHERE id = ?');
    }
  }

  /**
   * Opens the journal of `runName` in a history file the caller has already
   * opened with `History` (so its schema is checked and migrated), creating
   * the table if needed. A second connection: the history's own writes are
   * untouched.
   *
   * @throws HistoryError E_HISTORY_IO
   */
  static open(file: string, runName: string, options: { busyTimeoutMs?: number } = {}): RunJournal {
    return RunJournal.#open(file, runName, false, options.busyTimeoutMs);
  }

  /** For a dry run: reads the journal if the file and table exist; writes nothing, creates nothing. */
  static openReadonly(file: string, runName: string): RunJournal {
    return RunJournal.#open(file, runName, true, undefined);
  }

  static #open(file: string, runName: string, readonly: boolean, busyTimeoutMs: number | undefined): RunJournal {
    const Sqlite = require('better-sqlite3') as DatabaseConstructor;
    let db: Database;
    try {
      db = new Sqlite(file, { readonly, fileMustExist: readonly, timeout: busyTimeoutMs ?? 5000 });
    } catch (error) {
      throw new HistoryError('E_HISTORY_IO', `${file}: cannot open the history database for run "${runName}": ${(error as Error).message}`, {
        file,
        cause: error,
      });
    }
    try {
      if (!readonly) {
        // The history set WAL already (a property of the file); synchronous is per connection: NORMAL as the history's.
        db.pragma('synchronous = NORMAL');
        // An attempt's row is written before its batch's (see above): this connection must not check the key
        // (better-sqlite3 turns foreign keys on by default). The history's connection keeps them on, so deletes cascade.
        db.pragma('foreign_keys = OFF');
        db.exec(ATTEMPTS_TABLE_SQL);
      }
      return new RunJournal(db, file, runName, !readonly);
    } catch (error) {
      db.close();
      throw new HistoryError('E_HISTORY_IO', `${file}: cannot prepare the harness_attempts table for run "${runName}": ${(error as Error).message}`, {
        file,
        cause: error,
      });
    }
  }

  /** Attempts of this run so far, in every earlier invocation. */
  get attempts(): number {
    if (!this.#hasTable()) return 0;
    return this.#db.prepare('SELECT count(*) FROM harness_attempts WHERE run_name = ?').pluck().get(this.runName) as number;
  }

  /**
   * What the history holds for each agent run of this named run. Outcomes
   * come from `agent_runs`: an attempt whose row is missing (the process
   * died before the history wrote it) counts as not done.
   */
  previous(): Map<string, PreviousRun> {
    const out = new Map<string, PreviousRun>();
    if (!this.#hasTable()) return out;
    const rows = this.#db
      .prepare(`SELECT h.agent_run, h.attempt, h.final, a.ok, a.stage
        FROM harness_attempts h
        LEFT JOIN batches b ON b.run_id = h.spawner_run_id AND b.batch_seq = h.batch_seq
        LEFT JOIN agent_runs a ON a.batch_id = b.id AND a.agent = h.agent_run
        WHERE h.run_name = ?
        ORDER BY h.agent_run, h.attempt`)
      .raw()
      .iterate(this.runName) as IterableIterator<[string, number, number | null, number | null, string | null]>;
    for (const [agentRun, attempt, final, ok, stage] of rows) {
      let p = out.get(agentRun);
      if (p === undefined) out.set(agentRun, (p = { succeeded: false, failed: false, lastAttempt: 0 }));
      if (ok === 1) p.succeeded = true;
      // Rows come in attempt order: the last one decides `failed`.
      p.lastAttempt = attempt;
      p.failed = final === 1 && ok === 0 && stage !== 'aborted';
    }
    return out;
  }

  /** Records an attempt whose batch has just been created; returns its row id. Committed on return. */
  started(a: AttemptStart, at = Date.now()): number {
    this.#writable();
    try {
      return Number(this.#insert!.run(a.runName, a.agentRun, a.agent, a.taskId ?? null, a.attempt, a.spawnerRunId, a.batchSeq, Math.round(at)).lastInsertRowid);
    } catch (error) {
      throw new HistoryError(
        'E_HISTORY_IO',
        `${this.file}: cannot record attempt ${a.attempt} of "${a.agentRun}" (run "${a.runName}"): ${(error as Error).message}`,
        { file: this.file, cause: error },
      );
    }
  }

  /** Whether the attempt was the run's last (true) or is retried / was interrupted (false). */
  finished(id: number, final: boolean): void {
    this.#writable();
    try {
      this.#final!.run(final ? 1 : 0, id);
    } catch (error) {
      throw new HistoryError('E_HISTORY_IO', `${this.file}: cannot record the end of an attempt of run "${this.runName}": ${(error as Error).message}`, {
        file: this.file,
        cause: error,
      });
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #hasTable(): boolean {
    return this.#db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'harness_attempts'").get() !== undefined;
  }

  #writable(): void {
    if (this.#insert === undefined || this.#closed)
      throw new HistoryError('E_HISTORY_IO', `${this.file}: the journal of run "${this.runName}" is ${this.#closed ? 'closed' : 'read-only'}`, {
        file: this.file,
      });
  }
}
