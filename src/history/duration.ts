/**
 * Durations as people type them on a command line: `90s`, `15m`, `12h`,
 * `7d`, `2w`, or a plain number of milliseconds.
 */
import { ConfigError } from '../errors.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * Milliseconds in `value`. Throws a ConfigError naming `what` (an option or
 * flag) on anything else, including zero and negative durations.
 *
 * @example
 * parseDuration('7d', '--since'); // 604800000
 */
export function parseDuration(value: string | number, what: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value > 0) return value;
    throw new ConfigError(`Expected ${what} to be a positive number of milliseconds, got \`${String(value)}\``);
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/i.exec(value);
  const ms = match ? Number(match[1]) * UNIT_MS[match[2]!.toLowerCase()]! : Number.NaN;
  if (!(ms > 0)) {
    throw new ConfigError(`Expected ${what} to be a duration such as 90s, 15m, 12h, 7d or 2w, got \`${value}\``);
  }
  return ms;
}
