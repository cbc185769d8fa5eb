/**
 * The harness flags of `spawnpool run` (GNU parallel's, for agents): task
 * lists, retries, rate limits, timeouts, halting, named runs and resume,
 * dry runs. Any of them turns `run` into a harness run. Bad values are
 * UsageErrors naming the flag (exit 2).
 */
import type { ConfigError } from '../errors.ts';
import { parseHalt } from '../harness/halt-policy.ts';
import { RUN_NAME, type HarnessOptions, type RateLimit } from '../harness/options.ts';
import type { RetryOptions } from '../harness/retry-policy.ts';
import { closest } from '../options/parse-options.ts';
import { intFlag, UsageError } from './usage-error.ts';

export const HARNESS_OPTIONS = {
  tasks: { type: 'string' },
  retries: { type: 'string' },
  'retry-on': { type: 'string' },
  'retry-delay': { type: 'string' },
  'retry-max-delay': { type: 'string' },
  'rate-limit': { type: 'string', multiple: true },
  timeout: { type: 'string' },
  halt: { type: 'string' },
  'run-name': { type: 'string' },
  resume: { type: 'boolean', default: false },
  'resume-failed': { type: 'boolean', default: false },
  'dry-run': { type: 'boolean', default: false },
} as const;

export const HARNESS_USAGE = `
Harness (any of these runs every agent once per task, as GNU parallel runs a command per input):
  --tasks FILE       task list: JSON lines (.jsonl) or CSV with a header (.csv); every agent runs
                     once per row, the row's fields are {{task.<field>}} in prompts, args, env and
                     cwd; a run is named <agent>/<task id>. --concurrency defaults to the cores
  --retries N        try a failed run N more times, with exponential backoff and jitter
  --retry-on LIST    what is retried, comma separated (default spawn): spawn (EAGAIN, EMFILE,
                     ENFILE, ENOMEM, launcher lost), timeout, exit=N (an exit code), exit=any
  --retry-delay T    first backoff, doubling per retry (default 1s); --retry-max-delay T (default 1m)
  --rate-limit R     at most N starts per interval, [AGENT=]N/T: 60/1m overall, reviewer=10/1s for
                     one agent, '*=10/1s' for each agent; repeatable. Per-agent concurrency is the
                     agent's "maxConcurrent" field
  --timeout T        kill an attempt after T (500ms, 30s, 5m, 1h), or after a multiple of the median
                     run time of the succeeded attempts: 300% or 3x (the agent's timeoutMs if smaller)
  --halt H           stop early, as GNU parallel: soon|now,fail|success|done=N|N% (soon starts
                     nothing new, now kills the running agents too), or never
  --run-name NAME    record the run in the history under NAME (letters, digits, . _ -)
  --resume           with --run-name: run only what did not end (never started, interrupted)
  --resume-failed    with --run-name: also run the failed ones again
  --dry-run          print what would run (commands, prompt sizes and tokens, counts); spawn nothing`;

export interface HarnessFlagValues {
  tasks?: string | undefined;
  retries?: string | undefined;
  'retry-on'?: string | undefined;
  'retry-delay'?: string | undefined;
  'retry-max-delay'?: string | undefined;
  'rate-limit'?: string[] | undefined;
  timeout?: string | undefined;
  halt?: string | undefined;
  'run-name'?: string | undefined;
  resume?: boolean | undefined;
  'resume-failed'?: boolean | undefined;
  'dry-run'?: boolean | undefined;
}

export interface HarnessFlags {
  tasksFile: string | undefined;
  dryRun: boolean;
  /** The harness options the flags set. */
  options: Pick<HarnessOptions, 'retry' | 'rateLimits' | 'halt' | 'timeoutMs' | 'relativeTimeout' | 'runName' | 'resume' | 'resumeFailed'>;
}

/** Whether any harness flag was given (then `run` is a harness run). */
export function harnessFlagsGiven(values: HarnessFlagValues): boolean {
  return (
    values.tasks !== undefined ||
    values.retries !== undefined ||
    values['retry-on'] !== undefined ||
    values['retry-delay'] !== undefined ||
    values['retry-max-delay'] !== undefined ||
    (values['rate-limit']?.length ?? 0) > 0 ||
    values.timeout !== undefined ||
    values.halt !== undefined ||
    values['run-name'] !== undefined ||
    values.resume === true ||
    values['resume-failed'] === true ||
    values['dry-run'] === true
  );
}

/** @throws UsageError naming the flag. */
export function parseHarnessFlags(values: HarnessFlagValues): HarnessFlags {
  const retries = intFlag('retries', values.retries, 0, 1000);
  for (const name of ['retry-on', 'retry-delay', 'retry-max-delay'] as const) {
    if (values[name] !== undefined && retries === undefined) throw new UsageError(`--${name} applies to --retries N`);
  }
  const retry: RetryOptions | undefined =
    retries === undefined
      ? undefined
      : {
          retries,
          ...(values['retry-on'] === undefined ? {} : { on: retryOn(values['retry-on']) }),
          ...(values['retry-delay'] === undefined ? {} : { baseDelayMs: durationFlag('retry-delay', values['retry-delay']) }),
          ...(values['retry-max-delay'] === undefined ? {} : { maxDelayMs: durationFlag('retry-max-delay', values['retry-max-delay']) }),
        };
  if (retry?.baseDelayMs !== undefined && retry.maxDelayMs !== undefined && retry.maxDelayMs < retry.baseDelayMs) {
    throw new UsageError(`Expected --retry-max-delay (${values['retry-max-delay']}) to be at least --retry-delay (${values['retry-delay']})`);
  }
  const rateLimits = (values['rate-limit'] ?? []).map(rateLimit);
  const timeout = timeoutFlag(values.timeout);
  let halt: string | undefined;
  if (values.halt !== undefined) {
    try {
      parseHalt(values.halt, '--halt');
    } catch (error) {
      throw new UsageError((error as ConfigError).message);
    }
    halt = values.halt;
  }
  const runName = values['run-name'];
  if (runName !== undefined && !RUN_NAME.test(runName)) {
    throw new UsageError(`Expected --run-name to be 1 to 100 letters, digits, ".", "_" or "-", starting with a letter, got "${runName}"`);
  }
  if (values.resume && values['resume-failed']) throw new UsageError('Expected either --resume or --resume-failed, not both');
  for (const name of ['resume', 'resume-failed'] as const) {
    if (values[name] && runName === undefined) throw new UsageError(`--${name} needs --run-name NAME: the named run to resume`);
  }
  return {
    tasksFile: values.tasks,
    dryRun: values['dry-run'] === true,
    options: {
      ...(retry === undefined ? {} : { retry }),
      ...(rateLimits.length === 0 ? {} : { rateLimits }),
      ...(halt === undefined ? {} : { halt }),
      ...timeout,
      ...(runName === undefined ? {} : { runName }),
      ...(values.resume ? { resume: true } : {}),
      ...(values['resume-failed'] ? { resumeFailed: true } : {}),
    },
  };
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };

/** A duration with a unit: 500ms, 30s, 1.5m, 2h. A bare number is refused (GNU parallel means seconds, spawnpool ms elsewhere). */
export function durationFlag(name: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|min|m|h)$/.exec(value.trim());
  const ms = m === null ? Number.NaN : Number(m[1]) * UNIT_MS[m[2]!]!;
  if (!(ms > 0) || !Number.isFinite(ms)) {
    throw new UsageError(`Expected --${name} to be a positive duration with a unit (500ms, 30s, 5m, 1h), got "${value}"`);
  }
  return Math.round(ms);
}

function retryOn(value: string): NonNullable<RetryOptions['on']> {
  const on = { spawn: false, timeout: false, exitCodes: [] as number[] | 'any' };
  for (const part of value.split(',').map((p) => p.trim())) {
    if (part === 'spawn') on.spawn = true;
    else if (part === 'timeout') on.timeout = true;
    else if (part === 'exit=any') on.exitCodes = 'any';
    else if (/^exit=\d+$/.test(part) && Number(part.slice(5)) >= 1 && Number(part.slice(5)) <= 255) {
      if (on.exitCodes !== 'any') on.exitCodes.push(Number(part.slice(5)));
    } else {
      const near = closest(part, ['spawn', 'timeout']);
      throw new UsageError(
        `Expected --retry-on to list spawn, timeout, exit=N (1 to 255) or exit=any, comma separated, got "${part}" in "${value}"${near === undefined ? '' : `: did you mean "${near}"?`}`,
      );
    }
  }
  return on;
}

function rateLimit(value: string): RateLimit {
  const m = /^(?:([^=]+)=)?(\d+)\/(.+)$/.exec(value.trim());
  const bad = () =>
    new UsageError(
      `Expected --rate-limit to be [AGENT=]N/T: at most N starts per T (e.g. 60/1m, 10/s, reviewer=5/1s, '*=5/1s' for each agent), got "${value}"`,
    );
  if (m === null) throw bad();
  const max = Number(m[2]);
  if (!Number.isSafeInteger(max) || max < 1) throw bad();
  const interval = m[3]!.trim();
  // 10/s is 10 per second: a bare unit is one of it.
  const intervalMs = /^(ms|s|min|m|h)$/.test(interval) ? UNIT_MS[interval]! : durationFlag('rate-limit', interval);
  return { max, intervalMs, ...(m[1] === undefined ? {} : { agent: m[1].trim() }) };
}

function timeoutFlag(value: string | undefined): Pick<HarnessOptions, 'timeoutMs' | 'relativeTimeout'> {
  if (value === undefined) return {};
  const relative = /^(\d+(?:\.\d+)?)(%|x)$/.exec(value.trim());
  if (relative !== null) {
    const factor = relative[2] === '%' ? Number(relative[1]) / 100 : Number(relative[1]);
    if (!(factor > 0)) throw new UsageError(`Expected --timeout to be above 0% of the median run time, got "${value}"`);
    return { relativeTimeout: { factor } };
  }
  if (!/^\d+(\.\d+)?(ms|s|min|m|h)$/.test(value.trim())) {
    throw new UsageError(
      `Expected --timeout to be a duration with a unit (500ms, 30s, 5m, 1h) or a multiple of the median run time (300%, 3x), got "${value}"`,
    );
  }
  return { timeoutMs: durationFlag('timeout', value) };
}
