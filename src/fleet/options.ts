/**
 * Option objects of the fleet API, validated once with zod: an unknown key
 * is an error naming it (with a "did you mean" when one is close), a bad
 * value names the option and what was expected.
 */
import { z } from 'zod';
import { ConfigError } from '../index.ts';

/**
 * Parses `value` with `schema` (a strict object), or throws a ConfigError
 * such as "Unknown option `concurency` of FleetWorker: did you mean `concurrency`?".
 */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, what: string, known: readonly string[]): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    if (issue.path.length > 0) throw new ConfigError(`Unknown field \`${key}\` in the \`${issue.path.map(String).join('.')}\` option of ${what}`);
    const near = closest(key, known);
    throw new ConfigError(
      `Unknown option \`${key}\` of ${what}${near === undefined ? `: expected one of ${known.map((k) => `\`${k}\``).join(', ')}` : `: did you mean \`${near}\`?`}`,
    );
  }
  const name = issue.path.map(String).join('.');
  const got = issue.path.reduce<unknown>(
    (v, k) => (typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined),
    value,
  );
  throw new ConfigError(`Expected the \`${name}\` option of ${what} ${issue.message.replace(/^Invalid input: /, '')}, got \`${describe(got)}\``);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object' && v !== null) return Array.isArray(v) ? 'an array' : 'an object';
  return String(v);
}

/** The known key nearest to `key` within 2 edits (or a case-insensitive match). */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = k.toLowerCase() === key.toLowerCase() ? 0 : distance(key, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** A redis:// or rediss:// URL. */
export const redisUrlSchema = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return u.protocol === 'redis:' || u.protocol === 'rediss:';
  } catch {
    return false;
  }
}, 'to be a redis:// or rediss:// URL');

/** BullMQ forbids ':' in queue names; spawnpool keeps them to characters safe in keys, file names and URLs. */
export const queueNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'to be 1 to 100 letters, digits, ".", "_" or "-" (starting with a letter or digit)');

/** A run's name is its parent job's id: it must not look like a number (BullMQ refuses integer custom ids). */
export const runNameSchema = z.string().regex(/^[A-Za-z][A-Za-z0-9._-]{0,99}$/, 'to be 1 to 100 letters, digits, ".", "_" or "-", starting with a letter');

/** BullMQ's key prefix. */
export const prefixSchema = z.string().regex(/^[A-Za-z0-9._-]{1,50}$/, 'to be 1 to 50 letters, digits, ".", "_" or "-"');

export const positiveInt = z.number().int().positive();
