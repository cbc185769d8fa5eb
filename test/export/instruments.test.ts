import { describe, expect, it } from 'vitest';
import {
  BUILD_BUCKETS,
  COUNTERS,
  HISTOGRAMS,
  QUEUE_BUCKETS,
  RUN_BUCKETS,
  SPAWN_BUCKETS,
  RecordInstruments,
  errorSeries,
  observationsOf,
  type InstrumentLibrary,
} from '../../src/export/instruments.ts';
import { errorCodeNumber, type ErrorCode } from '../../src/errors.ts';
import type { NamedRecord } from '../../src/index.ts';
import { buildRecord, decodeRecord, exitRecord, spawnRecord, type RecordHeader } from '../../src/metrics/record.ts';

/** A record as subscribers get it, through the codec: `ms` is the stage's own time, `detail` its queue wait or exit code (null: a signal). */
function record(stage: NamedRecord['stage'], ok: boolean, ms: number, detail: number | null, error?: ErrorCode): NamedRecord {
  const common: RecordHeader = { ok, errorCode: errorCodeNumber(error), agentId: 0, batchId: 7, writerThreadId: 1, pid: 0, timestamp: 0 };
  const raw =
    stage === 'build'
      ? buildRecord({ ...common, buildMs: ms, queueMs: detail ?? 0 })
      : stage === 'spawn'
        ? spawnRecord({ ...common, spawnMs: ms, queueMs: detail ?? 0 })
        : exitRecord({ ...common, runMs: ms, exitCode: detail });
  return { ...decodeRecord(raw), agent: 'a', error };
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

  it('maps SPAWN records to spawn latency and queue wait (every agent), BUILD records to build time only, EXIT records to run time', () => {
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
    expect(observationsOf(record('exit', false, 5, null, 'E_TIMEOUT')).error).toEqual({ stage: 'timeout', type: 'E_TIMEOUT' });
    expect(observationsOf(record('exit', false, 5, null, 'E_ABORTED')).error).toEqual({ stage: 'aborted', type: 'E_ABORTED' });
    expect(observationsOf(record('exit', false, 5, 1)).error).toEqual({ stage: 'run', type: 'unknown' });
  });
});

/** A library that keeps every series' value by name and labels, to read back. */
interface Fake {
  name: string;
  labelNames: readonly string[];
  series: Map<string, number>;
}
function fakeLibrary(withZero: boolean): {
  library: InstrumentLibrary<Fake, Fake>;
  value: (name: string, labels: Record<string, string>) => number | undefined;
} {
  const all = new Map<string, Fake>();
  const make = (name: string, labelNames: readonly string[]): Fake => {
    const fake = { name, labelNames, series: new Map<string, number>() };
    all.set(name, fake);
    return fake;
  };
  const bump = (fake: Fake, labels: Record<string, string>, by: number) => {
    expect(Object.keys(labels).sort(), fake.name).toEqual([...fake.labelNames].sort());
    const key = JSON.stringify(Object.entries(labels).sort());
    fake.series.set(key, (fake.series.get(key) ?? 0) + by);
  };
  return {
    library: {
      errorTypeLabel: 'error_type',
      histogram: (def, labelNames) => make(def.prometheus, labelNames),
      counter: (def, labelNames) => make(def.prometheus, labelNames),
      // A histogram's value here is its sum of observations.
      observe: (h, seconds, labels) => bump(h, labels, seconds),
      add: (c, by, labels) => bump(c, labels, by),
      ...(withZero ? { zero: (h: Fake, labels: Record<string, string>) => bump(h, labels, 0) } : {}),
    },
    value: (name, labels) => all.get(name)?.series.get(JSON.stringify(Object.entries(labels).sort())),
  };
}

describe('RecordInstruments', () => {
  it('creates every fixed series at 0, histograms only where the library can, and observes records under their labels', () => {
    for (const withZero of [true, false]) {
      const { library, value } = fakeLibrary(withZero);
      const instruments = new RecordInstruments(library, false);
      for (const [stage, code] of errorSeries()) expect(value('spawnpool_errors_total', { stage, error_type: code })).toBe(0);
      for (const def of COUNTERS) for (const outcome of ['ok', 'failed']) expect(value(def.prometheus, { outcome })).toBe(0);
      expect(value('spawnpool_spawn_duration_seconds', { outcome: 'failed' })).toBe(withZero ? 0 : undefined);
      expect(value('spawnpool_queue_wait_seconds', {})).toBe(withZero ? 0 : undefined);

      instruments.observe(record('spawn', true, 120, 900));
      instruments.observe(record('exit', false, 2000, null, 'E_SIGNAL'));
      expect(value('spawnpool_spawn_duration_seconds', { outcome: 'ok' })).toBe(0.12);
      expect(value('spawnpool_queue_wait_seconds', {})).toBe(0.9);
      expect(value('spawnpool_spawns_total', { outcome: 'ok' })).toBe(1);
      expect(value('spawnpool_runs_total', { outcome: 'failed' })).toBe(1);
      expect(value('spawnpool_run_duration_seconds', { outcome: 'failed' })).toBe(2);
      expect(value('spawnpool_errors_total', { stage: 'run', error_type: 'E_SIGNAL' })).toBe(1);
    }
  });

  it("with per-agent labels, creates an agent's series once, when its name is first declared", () => {
    const { library, value } = fakeLibrary(true);
    const instruments = new RecordInstruments(library, true);
    expect(value('spawnpool_spawns_total', { outcome: 'ok' })).toBeUndefined();
    instruments.declareAgents(['a', 'b']);
    instruments.observe(record('spawn', true, 120, 900));
    instruments.declareAgents(['a']);
    expect(value('spawnpool_spawns_total', { outcome: 'ok', agent: 'a' })).toBe(1);
    expect(value('spawnpool_spawns_total', { outcome: 'failed', agent: 'b' })).toBe(0);
    expect(value('spawnpool_queue_wait_seconds', { agent: 'a' })).toBe(0.9);
    expect(HISTOGRAMS.every((h) => value(h.prometheus, h.byOutcome ? { outcome: 'ok', agent: 'b' } : { agent: 'b' }) === 0)).toBe(true);
  });
});
