/**
 * The harness's options, a zod schema checked by the options module
 * (src/options/parse-options.ts): unknown keys are errors that name the key
 * (with a "did you mean"), bad values name the option, as for new Spawner().
 */
import os from 'node:os';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { parseOptions } from '../options/parse-options.ts';
import { parseHalt, type HaltSpec } from './halt-policy.ts';
import type { RateRule } from './rate-limiter.ts';
import type { RetryOptions } from './retry-policy.ts';
import type { RelativeTimeout } from './timeout-policy.ts';
import type { SpawnHook } from './types.ts';

/** A rate limit: at most `max` starts in any `intervalMs`. */
export interface RateLimit extends RateRule {
  /** Absent: across all agents. An agent's name: that agent's runs only. `'*'`: each agent separately. */
  agent?: string;
}

/** `--halt` as an object: exactly one of fail / success / done, a count or a percentage such as `'10%'`. */
export interface HaltObject {
  /** 'soon': start nothing new, let running attempts end; 'now': kill them too. */
  when: 'soon' | 'now';
  /** Halt once this many runs (or this share of all runs) have failed for good. */
  fail?: number | `${number}%`;
  /** Halt once this many runs (or this share) have succeeded. */
  success?: number | `${number}%`;
  /** Halt once this many runs (or this share) have ended, either way. */
  done?: number | `${number}%`;
}

/**
 * Options of {@link runHarness}, validated once: unknown keys are a
 * ConfigError with a "did you mean".
 *
 * @example
 * const harness = await runHarness(spawner, runs, {
 *   concurrency: 32,
 *   rateLimits: [{ agent: '*', max: 10, intervalMs: 60_000 }],
 *   retry: { retries: 2, on: { timeout: true } },
 *   relativeTimeout: { factor: 3 },
 *   runName: 'nightly-2024-06-01', // recorded in spawner.history: the Spawner needs a `history` option
 * });
 */
export interface HarnessOptions {
  /**
   * Runs in flight at once, across agents (GNU parallel's `--jobs`); `Infinity`: no bound.
   * @default the number of cores (`os.availableParallelism()`), as GNU parallel
   */
  concurrency?: number;
  /** Rate limits, all applied: per agent (`agent: 'name'` or `'*'`) or overall. Per-agent concurrency is the spec's `maxConcurrent`. */
  rateLimits?: readonly RateLimit[];
  /** Retries with exponential backoff and jitter; by default none, and only transient spawn failures when `retries` is set. */
  retry?: RetryOptions;
  /**
   * Stop early, GNU parallel's `--halt`: `'soon,fail=3'`, `'now,fail=10%'`, `{ when: 'now', success: 1 }`...
   * @default never
   */
  halt?: string | HaltObject;
  /** A timeout for every attempt (the agent's own `timeoutMs` wins if smaller). */
  timeoutMs?: number;
  /** A timeout of `factor` times the median run time of the succeeded attempts (GNU parallel's `--timeout 300%`). */
  relativeTimeout?: RelativeTimeout;
  /** Records the run in the spawner's history under this name, for `resume` / `resumeFailed`. Needs `spawner.history`. */
  runName?: string;
  /**
   * Skips the named run's agent runs that already ended (succeeded, or failed for good); runs the rest (never started, interrupted).
   * @default false
   */
  resume?: boolean;
  /**
   * Skips only those that already succeeded: failed ones run again, with the unfinished ones.
   * @default false
   */
  resumeFailed?: boolean;
  /**
   * Runs that must succeed (counting ones skipped as already succeeded) for `summary.ok`.
   * @default all of them
   */
  minSuccess?: number;
  /**
   * Folder that prompt files must stay under.
   * @default the spawner's `root`
   */
  root?: string;
  /** One folder per agent run, `<dir>/<agent>/<task id>/` (the batch option `resultsDir`; a retry overwrites the attempt before). */
  resultsDir?: string;
  /**
   * The batch option `stream` for every attempt (outcome.stdout / stderr as they come).
   * @default false
   */
  stream?: boolean;
  /** Aborting stops the harness as `stop('now')` does. */
  signal?: AbortSignal;
  /** Called at each attempt's spawn outcome (e.g. to follow its output). */
  onSpawn?: SpawnHook;
  /**
   * Source of the backoff jitter, [0, 1) (a seeded one makes delays repeatable in tests).
   * @default Math.random
   */
  random?: () => number;
}

/** Options after validation, with their defaults. */
export interface ResolvedHarnessOptions {
  concurrency: number;
  rateLimits: RateLimit[];
  retry: RetryOptions;
  halt: HaltSpec | undefined;
  timeoutMs: number | undefined;
  relativeTimeout: RelativeTimeout | undefined;
  runName: string | undefined;
  resume: 'done' | 'succeeded' | undefined;
  minSuccess: number | undefined;
  root: string | undefined;
  resultsDir: string | undefined;
  stream: boolean;
  signal: AbortSignal | undefined;
  onSpawn: SpawnHook | undefined;
  random: () => number;
}

/** Names a run can have: as `spawnpool enqueue --run-name`. */
export const RUN_NAME = /^[A-Za-z][A-Za-z0-9._-]{0,99}$/;

const posInt = z.number().int().positive();
const posNumber = z.number().positive().finite();
const count = z.union([posInt, z.string().regex(/^\d+(\.\d+)?%$/, 'to be a count or a percentage such as "10%"')]);
const fn = <T>() => z.custom<T>((v) => typeof v === 'function', 'to be a function');

const schema = z.strictObject({
  concurrency: z.union([posInt, z.literal(Number.POSITIVE_INFINITY)]).optional(),
  rateLimits: z.array(z.strictObject({ max: posInt, intervalMs: posNumber, agent: z.string().min(1).optional() })).optional(),
  retry: z
    .strictObject({
      retries: z.number().int().nonnegative().optional(),
      on: z
        .strictObject({
          spawn: z.boolean().optional(),
          timeout: z.boolean().optional(),
          exitCodes: z.union([z.array(z.number().int().min(1).max(255)), z.literal('any')]).optional(),
        })
        .optional(),
      baseDelayMs: z.number().nonnegative().finite().optional(),
      maxDelayMs: z.number().nonnegative().finite().optional(),
      jitter: z.number().min(0).max(1).optional(),
    })
    .optional(),
  halt: z
    .union([z.string(), z.strictObject({ when: z.enum(['soon', 'now']), fail: count.optional(), success: count.optional(), done: count.optional() })])
    .optional(),
  timeoutMs: posInt.optional(),
  relativeTimeout: z.strictObject({ factor: z.number().gt(0).finite(), minSamples: posInt.optional() }).optional(),
  runName: z.string().regex(RUN_NAME, 'to be 1 to 100 letters, digits, ".", "_" or "-", starting with a letter').optional(),
  resume: z.boolean().optional(),
  resumeFailed: z.boolean().optional(),
  minSuccess: z.number().int().nonnegative().optional(),
  root: z.string().min(1).optional(),
  resultsDir: z.string().min(1).optional(),
  stream: z.boolean().optional(),
  signal: z.instanceof(AbortSignal).optional(),
  onSpawn: fn<SpawnHook>().optional(),
  random: fn<() => number>().optional(),
});

/** What the options whose schema is a union must be, for the message (zod's says only "Invalid input"). */
const WORDS = {
  concurrency: 'a positive integer or Infinity',
  halt: 'a halt string such as "now,fail=1" or an object { when, and one of fail, success, done }',
};

/**
 * Validates harness options. Throws a ConfigError naming the option (and,
 * for an unknown key, the closest known one). `where` names the call.
 */
export function resolveHarnessOptions(options: HarnessOptions, where = 'runHarness()'): ResolvedHarnessOptions {
  const o = parseOptions(schema, WORDS, options, where);
  if (o.resume && o.resumeFailed) throw new ConfigError('Expected either the `resume` or the `resumeFailed` option, not both');
  if ((o.resume || o.resumeFailed) && o.runName === undefined)
    throw new ConfigError(`The \`${o.resume ? 'resume' : 'resumeFailed'}\` option needs \`runName\`: the named run to resume`);
  const retry = o.retry ?? {};
  if (retry.baseDelayMs !== undefined && retry.maxDelayMs !== undefined && retry.maxDelayMs < retry.baseDelayMs) {
    throw new ConfigError(`Expected the \`retry.maxDelayMs\` option (${retry.maxDelayMs}) to be at least \`retry.baseDelayMs\` (${retry.baseDelayMs})`);
  }
  return {
    concurrency: o.concurrency ?? os.availableParallelism(),
    rateLimits: (o.rateLimits ?? []).map((r) => ({ ...r })),
    retry,
    halt: o.halt === undefined ? undefined : typeof o.halt === 'string' ? parseHalt(o.halt) : haltFromObject(o.halt),
    timeoutMs: o.timeoutMs,
    relativeTimeout: o.relativeTimeout,
    runName: o.runName,
    resume: o.resume ? 'done' : o.resumeFailed ? 'succeeded' : undefined,
    minSuccess: o.minSuccess,
    root: o.root,
    resultsDir: o.resultsDir,
    stream: o.stream ?? false,
    signal: o.signal,
    onSpawn: o.onSpawn,
    random: o.random ?? Math.random,
  };
}

function haltFromObject(h: {
  when: 'soon' | 'now';
  fail?: number | string | undefined;
  success?: number | string | undefined;
  done?: number | string | undefined;
}): HaltSpec | undefined {
  const given = (['fail', 'success', 'done'] as const).filter((k) => h[k] !== undefined);
  if (given.length !== 1)
    throw new ConfigError(
      `Expected the \`halt\` option to have exactly one of \`fail\`, \`success\` or \`done\`, got ${given.length === 0 ? 'none' : given.map((k) => `\`${k}\``).join(' and ')}`,
    );
  const why = given[0]!;
  return parseHalt(`${h.when},${why}=${String(h[why])}`, `the \`halt.${why}\` option`);
}
