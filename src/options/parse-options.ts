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
 * Parses `value` with `schema` (a z.strictObject, nested ones strict too);
 * throws a ConfigError that names the option (`retry.baseDelayMs` when
 * nested), says what it must be and shows what it got. An unknown key comes
 * first, whatever else is wrong: a misspelt key usually explains the rest.
 * `where` says whose options these are, e.g. "new Spawner()"; `words` says
 * what each option must be, by its dotted name, where zod's words would not do.
 */
export function parseOptions<S extends z.ZodType>(schema: S, words: OptionWords, value: unknown, where: string): z.output<S> {
  if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw new ConfigError(`Expected the options of ${where} to be an object, got \`${show(value)}\``);
  }
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issues = result.error.issues;
  const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]!;
  const at = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const prefix = at.length === 0 ? '' : `${at.join('.')}.`;
    const key = issue.keys[0]!;
    const known = knownKeys(schema, issue.path);
    const near = closest(key, known);
    throw new ConfigError(
      `Unknown option \`${prefix}${key}\` in ${where}${
        near === undefined ? `; the options are ${known.map((k) => `\`${prefix}${k}\``).join(', ')}` : `: did you mean \`${prefix}${near}\`?`
      }`,
    );
  }
  const name = at.join('.');
  const got = issue.path.reduce<unknown>((v, k) => (typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined), value);
  throw new ConfigError(`Expected the \`${name}\` option to be ${words[name] ?? expected(issue)}, got \`${show(got)}\``);
}

/**
 * The first issue of a failed parse of a file's or a message's object by
 * `schema`, in the words agent files use: `field "prompt": unknown field
 * "templte" (did you mean "template"?)`. An unknown field comes first.
 */
export function fieldIssue(schema: z.ZodType, issues: readonly z.core.$ZodIssue[]): string {
  const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]!;
  const field = issue.path.length > 0 ? `field "${issue.path.join('.')}": ` : '';
  if (issue.code !== 'unrecognized_keys') return `${field}${issue.message}`;
  const known = knownKeys(schema, issue.path);
  const named = issue.keys.map((k) => {
    const near = closest(k, known);
    return near === undefined ? `"${k}"` : `"${k}" (did you mean "${near}"?)`;
  });
  return `${field}unknown field${issue.keys.length > 1 ? 's' : ''} ${named.join(', ')}`;
}

/** What a value must be, from the issue zod raised: a schema's own message is worded "to be ...", zod's are not. */
function expected(issue: z.core.$ZodIssue): string {
  if (issue.message.startsWith('to be ')) return issue.message.slice('to be '.length);
  switch (issue.code) {
    case 'invalid_type':
      return /^[aeiou]/.test(issue.expected) ? `an ${issue.expected}` : `a ${issue.expected}`;
    case 'too_small':
      return issue.origin === 'number' ? `a number ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}` : `at least ${String(issue.minimum)} long`;
    case 'too_big':
      return issue.origin === 'number' ? `a number ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}` : `at most ${String(issue.maximum)} long`;
    case 'invalid_value':
      return issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `valid (${issue.message.replace(/^Invalid input: /, '')})`;
  }
}

/** The keys of the object schema at `path` inside `schema` (through optional, default, array and union wrappers). */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let at: z.ZodType | undefined = schema;
  for (const key of path) {
    at = objectOf(at);
    if (at === undefined) return [];
    at = typeof key === 'number' ? at : (at as z.ZodObject).shape[key as string];
  }
  const object = objectOf(at);
  return object === undefined ? [] : Object.keys(object.shape);
}

/** The object schema `s` is or wraps (an array's element, a union's object member), if any. */
function objectOf(s: z.ZodType | undefined): z.ZodObject | undefined {
  for (let depth = 0; s !== undefined && depth < 8; depth++) {
    const def = s._zod.def as { type: string; innerType?: z.ZodType; element?: z.ZodType; options?: z.ZodType[]; in?: z.ZodType };
    if (def.type === 'object') return s as z.ZodObject;
    if (def.type === 'array') s = def.element;
    else if (def.type === 'pipe') s = def.in;
    else if (def.type === 'union') s = def.options?.find((o) => objectOf(o) !== undefined);
    else s = def.innerType;
  }
  return undefined;
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

/** Edit distance where swapping two neighbours counts as one edit (optimal string alignment): `agnet` is 1 from `agent`. */
function distance(a: string, b: string): number {
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, before[j - 2]! + 1);
    }
    before = previous;
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
