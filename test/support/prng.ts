/** Seeded randomness for the tests and the bench: fixtures, record streams, resampling and jitter must repeat run to run. */

/** mulberry32: a small, fast, seedable PRNG. Returns uint32 values. */
export function mulberry32Uint32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** The same stream as floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  const next = mulberry32Uint32(seed);
  return () => next() / 2 ** 32;
}
