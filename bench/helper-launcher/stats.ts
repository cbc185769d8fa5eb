/** Formatting and settings shared by the helper benchmark's sections (statistics come from simple-statistics). */

export function fmt(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n >= 100 ? n.toFixed(0) : n.toFixed(digits);
}

export function ratio(a: number, b: number): string {
  return Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : 'n/a';
}

/** Helpers per helper launcher in the latency sections: --helpers of the benchmark, passed down as an environment variable; default DEFAULT_HELPERS. */
export function benchHelpers(): number | undefined {
  const n = process.env.SPAWNPOOL_BENCH_HELPERS;
  return n === undefined || n === '' ? undefined : Number(n);
}
