/** The harness's statistics: ratio orientation, the bootstrap interval, the permutation p-value, summaries. */
import { describe, expect, it } from 'vitest';
import { compare, summarize } from '../../bench/lib/stats.ts';
import type { MetricDef } from '../../bench/lib/types.ts';

const TIME: MetricDef = { key: 't', label: 'time', unit: 'ms', better: 'lower' };
const RATE: MetricDef = { key: 'r', label: 'rate', unit: '/s', better: 'higher' };
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe('compare', () => {
  it('reads a time ratio as baseline / candidate, with a tight interval and a tiny p for clearly separated samples', () => {
    const c = compare(TIME, { name: 'fast', values: range(10, 20) }, { name: 'slow', values: range(30, 20) }, 1);
    expect(c.ratio).toBeCloseTo(39.5 / 19.5, 10);
    expect(c.ci[0]).toBeGreaterThan(1.5);
    expect(c.ci[0]).toBeLessThanOrEqual(c.ratio);
    expect(c.ci[1]).toBeGreaterThanOrEqual(c.ratio);
    expect(c.p).toBeLessThan(c.pFloor * 2);
  });

  it('reads a throughput ratio as candidate / baseline', () => {
    const c = compare(RATE, { name: 'more', values: range(200, 20) }, { name: 'less', values: range(100, 20) }, 1);
    expect(c.ratio).toBeCloseTo(209.5 / 109.5, 10);
    expect(c.p).toBeLessThan(0.001);
  });

  it('gives a p near 1 when the candidate is the worse one, and an interval below 1', () => {
    const c = compare(TIME, { name: 'slow', values: range(30, 20) }, { name: 'fast', values: range(10, 20) }, 1);
    expect(c.ratio).toBeLessThan(1);
    expect(c.ci[1]).toBeLessThan(1);
    expect(c.p).toBeGreaterThan(0.99);
  });

  it('is deterministic for a seed', () => {
    const a = compare(TIME, { name: 'a', values: [5, 9, 7, 6, 8] }, { name: 'b', values: [6, 10, 8, 9, 7] }, 42);
    const b = compare(TIME, { name: 'a', values: [5, 9, 7, 6, 8] }, { name: 'b', values: [6, 10, 8, 9, 7] }, 42);
    expect(a).toEqual(b);
    expect(a.p).toBeGreaterThan(0.05);
  });
});

describe('summarize', () => {
  it('gives median, min, max, mean, and a p95 only from 20 samples on', () => {
    expect(summarize([3, 1, 2])).toEqual({ n: 3, median: 2, p95: null, min: 1, max: 3, mean: 2 });
    const s = summarize(range(1, 20));
    expect(s.p95).toBeCloseTo(19.05, 10);
    expect(s.median).toBe(10.5);
  });

  it('refuses an empty sample', () => {
    expect(() => summarize([])).toThrow(RangeError);
  });
});
