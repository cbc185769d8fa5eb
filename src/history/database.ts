/**
 * Opening a history database: WAL (readers never block the writer, several
 * processes may share the file), a busy timeout (a writer waits for another
 * instead of failing), then the schema check and migrations. SQLite errors
 * become HistoryErrors that say what to do; a file that is damaged, newer or
 * not ours is never rewritten.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { HistoryError } from '../errors.ts';
import { checkSchema, migrate, SCHEMA_VERSION } from './schema.ts';

type DatabaseConstructor = typeof import('better-sqlite3');

const require = createRequire(import.meta.url);
let sqlite: DatabaseConstructor | undefined;

// Loaded on first use: spawners without history never load the native module.
function loadSqlite(): DatabaseConstructor {
  sqlite ??= require('better-sqlite3') as DatabaseConstructor;
  return sqlite;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

export interface OpenOptions {
  /** Fail when the file does not exist (stats, cleanup) instead of creating it. Default false. */
  mustExist?: boolean;
  /** How long a write waits for another connection's lock. Default 5000 ms. */
  busyTimeoutMs?: number;
}

/** Opens (creating if allowed) and migrates a history database. Throws HistoryError. */
export function openHistoryDatabase(file: string, options: OpenOptions = {}): Database {
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const Sqlite = loadSqlite();
  let db: Database;
  try {
    if (!options.mustExist) mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    db = new Sqlite(file, { fileMustExist: options.mustExist ?? false, timeout: busyTimeoutMs });
  } catch (error) {
    if (options.mustExist && (error as { code?: string }).code === 'SQLITE_CANTOPEN') {
      throw new HistoryError('E_HISTORY_IO', `${file}: no history database there (run \`spawnpool run\` first, or pass --db)`, { file, sqliteCode: 'SQLITE_CANTOPEN', cause: error });
    }
    throw toHistoryError(error, file, 'open');
  }
  try {
    // Reads only: a file that is not SQLite, or not ours, or newer, is refused before anything writes to it.
    const version = checkSchema(db, file);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new HistoryError('E_HISTORY_IO', `${file}: cannot switch to WAL mode (got "${String(mode)}"): is it on a network file system?`, { file });
    // NORMAL is safe with WAL (no corruption on power loss; the last commits may roll back) and spares an fsync per flush.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // The write lock only when there is something to migrate: opening for `stats` must not wait on writers.
    if (version < SCHEMA_VERSION) migrate(db, file);
    return db;
  } catch (error) {
    db.close();
    throw toHistoryError(error, file, 'open');
  }
}

/** Wraps a SQLite error as a HistoryError with a message a user can act on. HistoryErrors pass through. */
export function toHistoryError(error: unknown, file: string, action: string): HistoryError {
  if (error instanceof HistoryError) return error;
  const sqliteCode = (error as { code?: unknown }).code;
  const code = typeof sqliteCode === 'string' ? sqliteCode : undefined;
  const reason = (error as Error).message;
  if (code === 'SQLITE_NOTADB' || code?.startsWith('SQLITE_CORRUPT')) {
    return new HistoryError('E_HISTORY_CORRUPT', `${file}: cannot ${action} the history database: it is damaged or not SQLite (${code}: ${reason}). spawnpool neither repairs nor replaces it: move it aside, or use another file (CLI: --db PATH, or --no-db)`, { file, sqliteCode: code, cause: error });
  }
  if (code?.startsWith('SQLITE_BUSY') || code?.startsWith('SQLITE_LOCKED')) {
    return new HistoryError('E_HISTORY_IO', `${file}: cannot ${action} the history database: another process held its lock past the busy timeout (${code})`, { file, sqliteCode: code, cause: error });
  }
  return new HistoryError('E_HISTORY_IO', `${file}: cannot ${action} the history database: ${reason}${code ? ` (${code})` : ''}`, { file, sqliteCode: code, cause: error });
}
