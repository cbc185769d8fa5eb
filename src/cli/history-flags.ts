/** The history database flags shared by `run`, `stats` and `cleanup`. */
import path from 'node:path';

/** Relative to the working folder. */
export const DEFAULT_DB = path.join('.spawnpool', 'history.db');

export const DB_USAGE = `  --db PATH          history database (default: $SPAWNPOOL_DB, else ${DEFAULT_DB})`;

/** The database path from `--db`, else the SPAWNPOOL_DB environment variable, resolved against the working folder. */
export function dbPath(value: string | undefined): string {
  return path.resolve(value ?? (process.env.SPAWNPOOL_DB || DEFAULT_DB));
}
