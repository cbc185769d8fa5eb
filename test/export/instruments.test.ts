import { describe, expect, it } from 'vitest';
import { BUILD_BUCKETS, HISTOGRAMS, QUEUE_BUCKETS, RUN_BUCKETS, SPAWN_BUCKETS, observationsOf } from '../../src/export/instruments.ts';
import type { ErrorCode } from '../../src/errors.ts';
import type { NamedRecord } from '../../src/index.ts';

function record(stage: NamedRecord['stage'], ok: boolean, durationMs: number, detailMs: number, error?: ErrorCode): NamedRecord {
  return { stage, ok, errorCode: 0, agentId: 0, batchId: 7, writerThreadId: 1, pid: 0, timestamp: 0, durationMs, detailMs, agent: 'a', error };
}

describe('instruments', () => {
  it('buckets: dense where spawns fall (at most 7.1% apart from 5 ms to 2 s), increasing everywhere', () => {
    const dense = SPAWN_BUCKETS.filter((b) => b >= 0.005 && b <= 2);
    expect(dense[0]).toBe(0.005);
    expect(dense.at(-1)).toBe(2);
    for (let i = 1; i < dense.length; i++) expect(dense[i]! / dense[i - 1]!, `${dense[i - 1]} -> ${dense[i]}`).toBeLessThanOrEqual(1.0715);
    for (const buckets of [SPAWN_BUCKETS, QUEUE_BUCKETS, BUILD_BUCKETS, RUN_BUCKETS]) {
      for (let i = 1; i < buckets.length; i++) expect(buckets[i]!).toBeGreaterThan(buckets[i - 1]!);
    }
    // Queue wait reaches minutes: a long batch under a small concurrency.
    expect(QUEUE_BUCKETS.at(-1)).toBeGreaterThanOrEqual(600);
    expect(new Set(HISTOGRAMS.map((h) => h.prometheus)).size).toBe(HISTOGRAMS.length);
  });

  it('maps SPAWN records: spawn latency from the duration, queue wait from the detail (every agent)', () => {
    expect(observationsOf(record('spawn', true, 120, 900))).toMatchObject({
      counter: 'spawns',
      outcome: 'ok',
      error: undefined,
      seconds: { spawn: 0.12, queue: 0.9 },
    });
    expect(observationsOf(record('build', true, 40, 900))).toMatchObject({ counter: 'builds', seconds: { build: 0.04 } });
    expect(observationsOf(record('build', true, 40, 900)).seconds.queue).toBeUndefined();
    expect(observationsOf(record('exit', true, 2000, 0))).toMatchObject({ counter: 'runs', outcome: 'ok', seconds: { run: 2 } });
  });

  it('counts an error once, on the record that ends the agent, at the stage that failed', () => {
    // A failed build: its BUILD record counts no error; the failed SPAWN that follows does, at stage build.
    expect(observationsOf(record('build', false, 3, 1, 'E_TEMPLATE')).error).toBeUndefined();
    expect(observationsOf(record('spawn', false, 5, 1, 'E_TEMPLATE')).error).toEqual({ stage: 'build', type: 'E_TEMPLATE' });
    expect(observationsOf(record('spawn', false, 5, 1, 'E_ENOENT')).error).toEqual({ stage: 'spawn', type: 'E_ENOENT' });
    expect(observationsOf(record('spawn', false, 5, 1, 'E_TIMEOUT')).error).toEqual({ stage: 'spawn', type: 'E_TIMEOUT' });
    expect(observationsOf(record('spawn', false, 5, 1, 'E_CLOSED')).error).toEqual({ stage: 'aborted', type: 'E_CLOSED' });
    expect(observationsOf(record('exit', false, 5, 3, 'E_EXIT')).error).toEqual({ stage: 'run', type: 'E_EXIT' });
    expect(observationsOf(record('exit', false, 5, -1, 'E_TIMEOUT')).error).toEqual({ stage: 'timeout', type: 'E_TIMEOUT' });
    expect(observationsOf(record('exit', false, 5, -1, 'E_ABORTED')).error).toEqual({ stage: 'aborted', type: 'E_ABORTED' });
    expect(observationsOf(record('exit', false, 5, 1)).error).toEqual({ stage: 'run', type: 'unknown' });
  });
});
