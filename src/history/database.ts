/**
 * Opening a history database: WAL (readers never block the writer, several
 * processes may share the file), a busy timeout (a writer waits for another
 * instead of failing), then the schema check and migrations. SQLite errors
 * become HistoryErrors that say what to do; a file that is damaged, newer or
 * not ours is never rewritten.
 *
 * Two ways in:
 * - to write (a spawner's history, cleanup): refused at once, before any
 *   agent runs, when the file or its folder cannot be written, and without
 *   leaving files behind;
 * - read-only (`spawnpool stats`): creates no file. SQLite would create the
 *   `-wal` and `-shm` files of a WAL database even for a read-only
 *   connection, owned by whoever reads, and a reader who is not the owner
 *   would leave files the owner's next write cannot open. So when the WAL is
 *   not open (no `-wal` file: the main file holds everything) the reader
 *   works on a copy of the file in memory; when it is (a writer is running,
 *   or left it), the reader uses the files already there.
 */
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, type Stats } from 'node:fs';
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
  /** Open read-only, creating no file (implies mustExist). Default false. */
  readonly?: boolean;
  /** Bring an older schema up to date now. false: the caller migrates later (`migrate()`), e.g. after an integrity check. Default true. */
  migrate?: boolean;
}

export interface OpenedDatabase {
  db: Database;
  /** Schema version of the file as opened (0: empty). */
  version: number;
  /** Read-only: opened on the live files (`live`), or on an in-memory copy of the file (`snapshot`). Undefined when writable. */
  readMode: 'live' | 'snapshot' | undefined;
}

/** Opens (creating if allowed) and migrates a history database. Throws HistoryError. */
export function openHistoryDatabase(file: string, options: OpenOptions = {}): Database {
  return openHistory(file, options).db;
}

/** openHistoryDatabase, with what it found. */
export function openHistory(file: string, options: OpenOptions = {}): OpenedDatabase {
  if (options.readonly) return openReadOnly(file, options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS);
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const Sqlite = loadSqlite();
  checkWritable(file, options.mustExist ?? false);
  let db: Database;
  try {
    db = new Sqlite(file, { fileMustExist: options.mustExist ?? false, timeout: busyTimeoutMs });
  } catch (error) {
    if (options.mustExist && (error as { code?: string }).code === 'SQLITE_CANTOPEN') throw noDatabase(file, error);
    throw toHistoryError(error, file, 'open');
  }
  try {
    // Reads only: a file that is not SQLite, or not ours, or newer, is refused before anything writes to it.
    const version = checkSchema(db, file);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal')
      throw new HistoryError('E_HISTORY_IO', `${file}: cannot switch to WAL mode (got "${String(mode)}"): is it on a network file system?`, { file });
    // NORMAL is safe with WAL (no corruption on power loss; the last commits may roll back) and spares an fsync per flush.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // The write lock only when there is something to migrate.
    if (version < SCHEMA_VERSION && options.migrate !== false) migrate(db, file);
    if (version > 0 || options.migrate !== false) probeWrite(db, file);
    return { db, version, readMode: undefined };
  } catch (error) {
    db.close();
    throw toHistoryError(error, file, 'open');
  }
}

/**
 * A writer must be able to write the file, its `-wal` and `-shm`, and create
 * them in the folder: checked before SQLite opens anything (opening would
 * create those files even when it then cannot write), so a refused file is
 * left exactly as it was.
 */
function checkWritable(file: string, mustExist: boolean): void {
  const dir = path.dirname(path.resolve(file));
  if (!existsSync(file)) {
    if (mustExist) throw noDatabase(file);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (error) {
      throw new HistoryError(
        'E_HISTORY_IO',
        `${file}: cannot create the folder ${dir} for the history database: ${(error as Error).message}. Use another file (CLI: --db PATH, or --no-db)`,
        { file, cause: error },
      );
    }
  }
  const cannot = (target: string, what: string, error: unknown) =>
    new HistoryError(
      'E_HISTORY_IO',
      `${file}: the history database cannot be written: ${what} ${target} is not writable by this user (${ownerOf(target)}; ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Nothing was spawned. Fix its permissions, or use another file (CLI: --db PATH, or --no-db)`,
      { file, cause: error },
    );
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw cannot(dir, 'its folder', error);
  }
  for (const [target, what] of [
    [file, 'the file'],
    [`${file}-wal`, 'its WAL file'],
    [`${file}-shm`, 'its shared-memory file'],
  ] as const) {
    if (!existsSync(target)) continue;
    try {
      accessSync(target, constants.W_OK);
    } catch (error) {
      throw cannot(target, what, error);
    }
  }
}

/** A write that changes nothing, rolled back: proves the lock and the pages can be written (read-only mounts, files SQLite opened read-only). */
function probeWrite(db: Database, file: string): void {
  try {
    db.exec('BEGIN IMMEDIATE');
    try {
      db.prepare('UPDATE schema_migrations SET version = version WHERE version < 0').run();
    } finally {
      db.exec('ROLLBACK');
    }
  } catch (error) {
    const e = toHistoryError(error, file, 'write to');
    throw new HistoryError(e.code as 'E_HISTORY_IO' | 'E_HISTORY_CORRUPT', `${e.message}. Nothing was spawned`, {
      file,
      sqliteCode: e.sqliteCode,
      cause: error,
    });
  }
}

const SQLITE_HEADER = 'SQLite format 3\0';

function openReadOnly(file: string, busyTimeoutMs: number): OpenedDatabase {
  const Sqlite = loadSqlite();
  if (!existsSync(file)) throw noDatabase(file);
  for (let attempt = 0; attempt < 3; attempt++) {
    const header = readHeader(file);
    if (header.subarray(0, 16).toString('latin1') !== SQLITE_HEADER) {
      throw new HistoryError(
        'E_HISTORY_CORRUPT',
        `${file}: cannot read the history database: it is not SQLite (no SQLite header). spawnpool neither repairs nor replaces it: use another file (--db PATH)`,
        { file },
      );
    }
    const walOpen = existsSync(`${file}-wal`);
    const isWal = header[18] === 2;
    if (isWal && !walOpen) {
      // Nothing in a WAL: the main file holds every commit. Read a copy, as the legacy format (in-memory databases have no WAL).
      const before = statSync(file);
      const bytes = readFileSync(file);
      if (!sameFile(before, statSync(file)) || existsSync(`${file}-wal`)) continue;
      bytes[18] = 1;
      bytes[19] = 1;
      return openChecked(() => new Sqlite(bytes, { readonly: true }), file, 'snapshot');
    }
    if (isWal && !existsSync(`${file}-shm`)) {
      throw new HistoryError(
        'E_HISTORY_IO',
        `${file}: cannot read the history database without creating ${file}-shm: its WAL file is there but not its shared-memory file (left by a crash?). Open it once with write access (spawnpool run or cleanup, as its owner) so SQLite recovers it`,
        { file },
      );
    }
    return openChecked(() => new Sqlite(file, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs }), file, 'live');
  }
  throw new HistoryError('E_HISTORY_IO', `${file}: the history database kept changing while it was read (a writer checkpointing?): try again`, { file });
}

function openChecked(open: () => Database, file: string, readMode: 'live' | 'snapshot'): OpenedDatabase {
  let db: Database;
  try {
    db = open();
  } catch (error) {
    throw toHistoryError(error, file, 'open');
  }
  try {
    return { db, version: checkSchema(db, file), readMode };
  } catch (error) {
    db.close();
    throw toHistoryError(error, file, 'open');
  }
}

function readHeader(file: string): Buffer {
  const header = Buffer.alloc(100);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new HistoryError('E_HISTORY_IO', `${file}: cannot read the history database: ${(error as Error).message}`, { file, cause: error });
  }
  try {
    readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  return header;
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

function ownerOf(target: string): string {
  try {
    const s = statSync(target);
    return `owner uid ${s.uid}, mode ${(s.mode & 0o777).toString(8).padStart(3, '0')}, this process uid ${process.getuid?.() ?? '?'}`;
  } catch {
    return 'cannot stat it';
  }
}

function noDatabase(file: string, cause?: unknown): HistoryError {
  return new HistoryError('E_HISTORY_IO', `${file}: no history database there (run \`spawnpool run\` first, or pass --db)`, {
    file,
    sqliteCode: 'SQLITE_CANTOPEN',
    cause,
  });
}

/** Wraps a SQLite error as a HistoryError with a message a user can act on. HistoryErrors pass through. */
export function toHistoryError(error: unknown, file: string, action: string): HistoryError {
  if (error instanceof HistoryError) return error;
  const sqliteCode = (error as { code?: unknown }).code;
  const code = typeof sqliteCode === 'string' ? sqliteCode : undefined;
  const reason = (error as Error).message;
  if (code === 'SQLITE_NOTADB' || code?.startsWith('SQLITE_CORRUPT')) {
    return new HistoryError(
      'E_HISTORY_CORRUPT',
      `${file}: cannot ${action} the history database: it is damaged or not SQLite (${code}: ${reason}). spawnpool neither repairs nor replaces it: move it aside, or use another file (CLI: --db PATH, or --no-db)`,
      { file, sqliteCode: code, cause: error },
    );
  }
  if (code?.startsWith('SQLITE_BUSY') || code?.startsWith('SQLITE_LOCKED')) {
    return new HistoryError('E_HISTORY_IO', `${file}: cannot ${action} the history database: another process held its lock past the busy timeout (${code})`, {
      file,
      sqliteCode: code,
      cause: error,
    });
  }
  if (code?.startsWith('SQLITE_READONLY')) {
    const files = [file, `${file}-wal`, `${file}-shm`]
      .filter((f) => existsSync(f))
      .map((f) => `${path.basename(f)}: ${ownerOf(f)}`)
      .join('; ');
    return new HistoryError('E_HISTORY_IO', `${file}: cannot ${action} the history database: it is read-only for this process (${code}; ${files})`, {
      file,
      sqliteCode: code,
      cause: error,
    });
  }
  return new HistoryError('E_HISTORY_IO', `${file}: cannot ${action} the history database: ${reason}${code ? ` (${code})` : ''}`, {
    file,
    sqliteCode: code,
    cause: error,
  });
}
