/**
 * Which failed attempts are tried again, and after how long: exponential
 * backoff with jitter. By default only failures to start that the OS may
 * not repeat are retried (out of processes, file descriptors or memory: the
 * agent never ran, so running it again cannot do anything twice); exit
 * codes and timeouts only when asked, as only the user knows whether the
 * agent is safe to run again.
 */
import type { AgentResult } from '../batch/types.ts';
import { errnoOf } from '../errors.ts';

/** Failures to start that may not happen again: their `SpawnError.errno`. */
export const TRANSIENT_SPAWN_ERRNOS: readonly string[] = ['EAGAIN', 'EMFILE', 'ENFILE', 'ENOMEM'];

/**
 * Which failures are retried (harness option `retry.on`, CLI `--retry-on`).
 *
 * @example
 * const on: RetryOn = { spawn: true, timeout: true, exitCodes: [75] }; // --retry-on spawn,timeout,exit=75
 */
export interface RetryOn {
  /**
   * Failures to start with EAGAIN, EMFILE, ENFILE or ENOMEM, and the launcher dying before the agent started (E_LAUNCHER).
   * @default true
   */
  spawn?: boolean;
  /**
   * Attempts killed at their timeout.
   * @default false
   */
  timeout?: boolean;
  /**
   * Exit codes to retry on, or 'any' for every non-zero exit.
   * @default []
   */
  exitCodes?: readonly number[] | 'any';
}

/**
 * Retries of failed attempts, with exponential backoff and jitter (harness option `retry`).
 *
 * @example
 * await runHarness(spawner, runs, { retry: { retries: 3, on: { timeout: true }, baseDelayMs: 500 } });
 */
export interface RetryOptions {
  /**
   * Attempts after the first.
   * @default 0
   */
  retries?: number;
  /** What is retried. */
  on?: RetryOn;
  /**
   * The first retry waits about this long (ms), each next one twice as long.
   * @default 1000
   */
  baseDelayMs?: number;
  /**
   * No wait exceeds this (ms).
   * @default 60000
   */
  maxDelayMs?: number;
  /**
   * Fraction of each wait drawn at random (0: none; 1: anywhere from 0 to the full wait).
   * @default 0.5
   */
  jitter?: number;
}

export class RetryPolicy {
  readonly retries: number;
  readonly #spawn: boolean;
  readonly #timeout: boolean;
  readonly #exitCodes: ReadonlySet<number> | 'any';
  readonly #base: number;
  readonly #max: number;
  readonly #jitter: number;
  readonly #random: () => number;

  /** Options already validated (see options.ts). `random` returns [0, 1): Math.random unless a test fixes it. */
  constructor(options: RetryOptions = {}, random: () => number = Math.random) {
    this.retries = options.retries ?? 0;
    this.#spawn = options.on?.spawn ?? true;
    this.#timeout = options.on?.timeout ?? false;
    const codes = options.on?.exitCodes ?? [];
    this.#exitCodes = codes === 'any' ? 'any' : new Set(codes);
    this.#base = options.baseDelayMs ?? 1000;
    this.#max = options.maxDelayMs ?? 60_000;
    this.#jitter = options.jitter ?? 0.5;
    this.#random = random;
  }

  /** Whether this failure is of a kind the policy retries (attempts left or not). */
  retryable(result: AgentResult): boolean {
    if (result.ok) return false;
    switch (result.stage) {
      case 'spawn':
        return this.#spawn && isTransientSpawnFailure(result);
      case 'timeout':
        return this.#timeout;
      case 'run':
        return result.exitCode !== undefined && (this.#exitCodes === 'any' || this.#exitCodes.has(result.exitCode));
      default:
        // build (deterministic), aborted (we stopped it): never.
        return false;
    }
  }

  /**
   * The wait before attempt `made + 1`, or undefined when the run is done:
   * it succeeded, the failure is not retried, or `made` already used every retry.
   */
  delayAfter(result: AgentResult, made: number): number | undefined {
    if (made > this.retries || !this.retryable(result)) return undefined;
    const full = Math.min(this.#max, this.#base * 2 ** (made - 1));
    return Math.round(full * (1 - this.#jitter * this.#random()));
  }
}

/** A failure to start that the OS may not repeat (see TRANSIENT_SPAWN_ERRNOS), or a launcher lost before the agent started. */
export function isTransientSpawnFailure(result: AgentResult): boolean {
  const error = result.error;
  if (error?.code === 'E_LAUNCHER') return true;
  const errno = errnoOf(error);
  return error?.code === 'E_SPAWN' && errno !== undefined && TRANSIENT_SPAWN_ERRNOS.includes(errno);
}
