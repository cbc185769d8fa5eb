/** The history database flags shared by `run`, `stats` and `cleanup`. */
import path from 'node:path';

/** Relative to the working folder. */
export const DEFAULT_DB = path.join('.spawnpool', 'history.db');

export const DB_USAGE = `  --db PATH          history database (default ${DEFAULT_DB})`;

/** The database path from `--db`, resolved against the working folder. */
export function dbPath(value: string | undefined): string {
  return path.resolve(value ?? DEFAULT_DB);
}
