/** Flags shared by `spawnpool enqueue`, `worker` and `status`: where the queue is. */
import { UsageError } from './usage-error.ts';

export const QUEUE_OPTIONS = {
  redis: { type: 'string' },
  queue: { type: 'string' },
  prefix: { type: 'string' },
} as const;

export const QUEUE_USAGE = `  --redis URL        the Redis server: redis://[user:password@]host:port[/db] (or rediss://)
  --queue NAME       the queue (letters, digits, ".", "_", "-"); each run's parent job is in NAME-runs
  --prefix P         BullMQ key prefix (default bull)`;

/** The required --redis and --queue, checked for presence (their form is checked by the fleet API, which names the flag's value). */
export function queueFlags(
  values: { redis?: string | undefined; queue?: string | undefined; prefix?: string | undefined },
  usage: string,
): { redis: string; queue: string; prefix?: string } {
  if (values.redis === undefined) throw new UsageError(`Expected --redis URL\n\n${usage}`);
  if (values.queue === undefined) throw new UsageError(`Expected --queue NAME\n\n${usage}`);
  if (!/^rediss?:\/\//.test(values.redis)) throw new UsageError(`Expected --redis to be a redis:// or rediss:// URL, got "${values.redis}"`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(values.queue))
    throw new UsageError(`Expected --queue to be 1 to 100 letters, digits, ".", "_" or "-" (starting with a letter or digit), got "${values.queue}"`);
  return { redis: values.redis, queue: values.queue, ...(values.prefix === undefined ? {} : { prefix: values.prefix }) };
}

/** A duration flag in ms: an integer, or with a unit (500ms, 30s, 2m). */
export function msFlag(name: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)(ms|s|m)?$/.exec(value.trim());
  const n = m === null ? Number.NaN : Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1);
  if (!Number.isSafeInteger(n) || n < min)
    throw new UsageError(`Expected --${name} to be a duration of at least ${min} ms (e.g. 500, 500ms, 30s, 2m), got "${value}"`);
  return n;
}
