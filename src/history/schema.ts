/**
 * The history schema and its migrations. A migration is appended, never
 * edited: a database records the versions it has applied in
 * `schema_migrations`, and a spawnpool that finds a version it does not know
 * refuses to touch the file rather than guess.
 *
 * All times are integer ms since the epoch (UTC); durations are real ms;
 * NULL means "not measured" (e.g. no prompt, so no build).
 */
import type { Database } from 'better-sqlite3';
import { HistoryError } from '../errors.ts';

/** `PRAGMA application_id` of a spawnpool history file: "SPHI". */
export const APPLICATION_ID = 0x53504849;

interface Migration {
  version: number;
  description: string;
  sql: string;
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'batches and agent runs',
    sql: `
      CREATE TABLE batches (
        id         INTEGER PRIMARY KEY,
        run_id     TEXT    NOT NULL,          -- one Spawner instance (random UUID)
        batch_seq  INTEGER NOT NULL,          -- the Spawner's batch id
        host       TEXT    NOT NULL,
        pid        INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at   INTEGER NOT NULL,          -- last agent exited
        total      INTEGER NOT NULL,
        spawned    INTEGER NOT NULL,
        succeeded  INTEGER NOT NULL,          -- ran and exited 0
        failed     INTEGER NOT NULL,          -- total - succeeded
        wall_ms    REAL,                      -- batch start to the last spawn outcome
        UNIQUE (run_id, batch_seq)
      );
      CREATE INDEX batches_started_at ON batches (started_at);
      CREATE TABLE agent_runs (
        id          INTEGER PRIMARY KEY,
        batch_id    INTEGER NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
        agent       TEXT    NOT NULL,
        idx         INTEGER NOT NULL,         -- position in the batch
        started_at  INTEGER NOT NULL,         -- the batch start, so old rows go with their batch
        ok          INTEGER NOT NULL,         -- 1: spawned, ran, exited 0
        spawned     INTEGER,                  -- 1: counted as spawned; NULL: its spawn record was lost
        stage       TEXT,                     -- failure stage: build, spawn, run, timeout, aborted
        error_code  TEXT,
        pid         INTEGER,
        exit_code   INTEGER,
        signal      TEXT,
        timed_out   INTEGER NOT NULL,
        queue_ms    REAL,
        build_ms    REAL,
        launch_ms   REAL,
        spawn_ms    REAL,                     -- spawn latency: batch start to spawned
        run_ms      REAL,                     -- spawned to exit
        spawned_at  INTEGER,
        exited_at   INTEGER
      );
      CREATE INDEX agent_runs_started_at ON agent_runs (started_at);
      CREATE INDEX agent_runs_agent ON agent_runs (agent, started_at);
      CREATE INDEX agent_runs_batch ON agent_runs (batch_id);
    `,
  },
  {
    version: 2,
    description: 'spawn latency from the build start; queue wait for every agent',
    // Rows written before: spawn_ms counted from the batch start (queue wait included), queue_ms only for agents with a prompt.
    sql: `
      ALTER TABLE agent_runs ADD COLUMN spawn_ms_from TEXT NOT NULL DEFAULT 'batch_start'; -- 'build_start' from schema 2 on
    `,
  },
];

/** The schema version this spawnpool writes. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Brings the database to SCHEMA_VERSION. Throws E_HISTORY_SCHEMA, leaving the
 * file untouched, when it is newer or is some other application's database.
 * Safe against another process migrating at the same time.
 */
export function migrate(db: Database, file: string): void {
  // IMMEDIATE: take the write lock before reading the version again, so two processes cannot both apply v1.
  db.transaction(() => {
    const from = checkSchema(db, file);
    if (from === 0) {
      db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)');
      db.pragma(`application_id = ${APPLICATION_ID}`);
    }
    const record = db.prepare('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)');
    for (const m of MIGRATIONS) {
      if (m.version <= from) continue;
      db.exec(m.sql);
      record.run(m.version, m.description, Date.now());
    }
  }).immediate();
}

/**
 * Reads only: the applied version (0 for an empty file). Throws
 * E_HISTORY_SCHEMA for a newer schema or a file that is not a history.
 * Run before anything writes to the file (even switching it to WAL).
 */
export function checkSchema(db: Database, file: string): number {
  const version = currentVersion(db, file);
  if (version > SCHEMA_VERSION) {
    throw new HistoryError(
      'E_HISTORY_SCHEMA',
      `${file}: the history database has schema version ${version}, written by a newer spawnpool; this one reads up to version ${SCHEMA_VERSION}. Upgrade spawnpool, or use another file (CLI: --db PATH, or --no-db)`,
      { file },
    );
  }
  return version;
}

function currentVersion(db: Database, file: string): number {
  const appId = db.pragma('application_id', { simple: true }) as number;
  const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
  if (tables.length === 0 && appId === 0) return 0;
  if (appId !== APPLICATION_ID || !tables.includes('schema_migrations')) {
    const what = tables.length > 0 ? `it holds tables ${tables.slice(0, 5).join(', ')}` : `its application id is ${appId}`;
    throw new HistoryError(
      'E_HISTORY_SCHEMA',
      `${file}: not a spawnpool history database (${what}); it was left untouched. Use another file (CLI: --db PATH, or --no-db)`,
      { file },
    );
  }
  return (db.prepare('SELECT max(version) FROM schema_migrations').pluck().get() as number | null) ?? 0;
}
