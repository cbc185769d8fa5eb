/**
 * Typed errors. Every error spawnpool raises or reports carries a stable
 * `code` (for programs) and, where one agent is concerned, its `agent` name
 * (for people). Codes also travel through the metrics ring as small integers,
 * so the table below is append-only: never renumber an entry.
 */

/** Stable error codes, and their wire numbers in metric records. */
export const ERROR_CODES = {
  E_CONFIG: 1,
  E_BUILD: 2,
  E_BUILD_WORKER: 3,
  E_CONTEXT_ESCAPE: 4,
  E_CONTEXT_READ: 5,
  E_TEMPLATE: 6,
  E_ENOENT: 7,
  E_EACCES: 8,
  E_CWD: 9,
  E_SPAWN: 10,
  E_EXIT: 11,
  E_SIGNAL: 12,
  E_TIMEOUT: 13,
  E_ABORTED: 14,
  E_CLOSED: 15,
  E_ARG_TOO_LONG: 16,
  E_READY: 17,
  E_LAUNCHER: 18,
  E_HISTORY_SCHEMA: 19,
  E_HISTORY_CORRUPT: 20,
  E_HISTORY_IO: 21,
  E_BUILD_TIMEOUT: 22,
  E_OUTPUT_FILE: 23,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

const CODE_BY_NUMBER = new Map<number, ErrorCode>(Object.entries(ERROR_CODES).map(([code, n]) => [n, code as ErrorCode]));

/** The wire number of an error code (0 means "no error"). */
export function errorCodeNumber(code: ErrorCode | undefined): number {
  return code === undefined ? 0 : ERROR_CODES[code];
}

/** The error code for a wire number, or undefined for 0 / unknown numbers. */
export function errorCodeFromNumber(n: number): ErrorCode | undefined {
  return CODE_BY_NUMBER.get(n);
}

/** The stage at which an agent failed. */
export type FailureStage = 'build' | 'spawn' | 'run' | 'timeout' | 'aborted';

interface ErrorDetails {
  agent?: string | undefined;
  stage?: FailureStage | undefined;
  cause?: unknown;
  /** SpawnError only: the OS error name. */
  errno?: string | undefined;
}

/**
 * Base class of every spawnpool error. Check `code` rather than `instanceof`
 * when the error may have crossed a thread or process boundary.
 */
export class SpawnpoolError extends Error {
  readonly code: ErrorCode;
  /** Name of the agent concerned, if any. */
  readonly agent: string | undefined;
  /** Stage at which the agent failed, if this is an agent failure. */
  readonly stage: FailureStage | undefined;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    this.agent = details.agent;
    this.stage = details.stage;
  }
}

/** The agents file, an agent spec or an option is invalid. Nothing was spawned. */
export class ConfigError extends SpawnpoolError {
  /** Path of the offending file, when the error came from one. */
  readonly file: string | undefined;
  constructor(message: string, details: ErrorDetails & { file?: string } = {}) {
    super('E_CONFIG', message, details);
    this.file = details.file;
  }
}

/** Building an agent's prompt failed (on a worker thread). */
export class BuildError extends SpawnpoolError {
  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(code, message, { ...details, stage: 'build' });
  }
}

/** Launching, running or stopping an agent failed. */
export class SpawnError extends SpawnpoolError {
  /** True when the agent was killed because it ran past `timeoutMs`. */
  readonly timedOut: boolean;
  /** True when the agent was stopped through the batch's AbortSignal or `close()`. */
  readonly isAborted: boolean;
  /**
   * The OS error when the agent could not be started (`'ENOENT'`, `'EACCES'`,
   * `'EAGAIN'`, `'EMFILE'`, ...); undefined for every other failure.
   *
   * @example
   * if (result.error instanceof SpawnError && result.error.errno === 'EMFILE') console.warn('out of file descriptors');
   */
  readonly errno: string | undefined;
  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(code, message, details);
    this.timedOut = code === 'E_TIMEOUT';
    this.isAborted = code === 'E_ABORTED' || code === 'E_CLOSED';
    this.errno = details.errno;
  }
}

/**
 * The OS error of an agent that could not be started, read as data: an error
 * that crossed a thread or a process (a fleet worker's result) is no longer a
 * SpawnError instance, but keeps its fields.
 */
export function errnoOf(error: unknown): string | undefined {
  const errno = (error as { errno?: unknown } | undefined)?.errno;
  return typeof errno === 'string' ? errno : undefined;
}

/**
 * The history database cannot be used: E_HISTORY_SCHEMA (written by a newer
 * spawnpool, or not a spawnpool history), E_HISTORY_CORRUPT (damaged or not
 * SQLite), E_HISTORY_IO (cannot open, locked past the busy timeout, disk
 * full). The file is left as it was.
 */
export class HistoryError extends SpawnpoolError {
  /** Path of the database file. */
  readonly file: string;
  /** SQLite's own code (e.g. SQLITE_NOTADB), when SQLite raised it. */
  readonly sqliteCode: string | undefined;
  constructor(
    code: 'E_HISTORY_SCHEMA' | 'E_HISTORY_CORRUPT' | 'E_HISTORY_IO',
    message: string,
    details: { file: string; sqliteCode?: string | undefined; cause?: unknown },
  ) {
    super(code, message, { cause: details.cause });
    this.file = details.file;
    this.sqliteCode = details.sqliteCode;
  }
}
