/**
 * One way to check an options object: a zod schema per object, and one
 * voice for what is wrong, execa's ("Expected the `workers` option to be a
 * positive integer, got `0`"). An unknown key is an error with a "did you
 * mean", as in agent specs: `new Spawner({ wrokers: 2 })` must not pass.
 */
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';

/** What each option must be, in words, for the message. */
export type OptionWords = Record<string, string>;

/**
 * Parses `value` with `schema` (a z.strictObject); throws a ConfigError that
 * names the option, says what it must be and shows what it got.
 * `where` says whose options these are, e.g. "new Spawner()".
 */
export function parseOptions<S extends z.ZodType>(schema: S, words: OptionWords, value: unknown, where: string): z.output<S> {
  if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw new ConfigError(`Expected the options of ${where} to be an object, got \`${show(value)}\``);
  }
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const near = closest(key, Object.keys(words));
    throw new ConfigError(
      `Unknown option \`${key}\` in ${where}${
        near === undefined
          ? `; the options are ${Object.keys(words)
              .map((k) => `\`${k}\``)
              .join(', ')}`
          : `: did you mean \`${near}\`?`
      }`,
    );
  }
  const key = String(issue.path[0] ?? '');
  const got = (value as Record<string, unknown>)[key];
  throw new ConfigError(`Expected the \`${key}\` option to be ${words[key] ?? issue.message}, got \`${show(got)}\``);
}

/**
 * Checks one option by name with the schema of its options object, and
 * throws what {@link parseOptions} would for that value in that object: for
 * callers holding one value at a time, such as a command-line flag, that
 * must word a bad value as the library does.
 */
export function parseOption<S extends z.ZodType, K extends keyof z.output<S> & string>(
  schema: S,
  words: OptionWords,
  key: K,
  value: unknown,
  where: string,
): z.output<S>[K] {
  return parseOptions(schema, words, { [key]: value }, where)[key];
}

/** The known name nearest to `key` (edit distance at most a third of its length, and 3), if any. */
export function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.min(3, Math.max(1, Math.floor(key.length / 3)));
  for (const name of known) {
    const d = distance(key.toLowerCase(), name.toLowerCase());
    if (d <= bestDistance) {
      best = name;
      bestDistance = d - 1;
    }
  }
  return best;
}

/** Levenshtein distance, two rows. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length]!;
}

function show(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
