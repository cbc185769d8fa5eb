import { type ParseArgsConfig, parseArgs } from 'node:util';
import { closest } from '../options/parse-options.ts';

/** Bad command-line input: printed without a stack, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Parses a flag value as an integer within bounds, or throws a UsageError naming the flag. */
export function intFlag(name: string, value: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`Expected --${name} to be an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}, got "${value}"`);
  }
  return n;
}

/**
 * node:util's parseArgs, with an unknown flag worded as the library words an
 * unknown option: "Unknown option `--concurency`: did you mean `--concurrency`?".
 */
export function parseFlags<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const flag = code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /Unknown option '([^']+)'/.exec((error as Error).message)?.[1] : undefined;
    if (flag === undefined) throw error;
    const names = Object.keys(config.options ?? {});
    const near = flag.startsWith('--') ? closest(flag.slice(2), names) : undefined;
    throw new UsageError(`Unknown option \`${flag}\`${near === undefined ? '; --help lists the options' : `: did you mean \`--${near}\`?`}`, { cause: error });
  }
}
