import { Registry, Counter as PromCounter, register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ConfigError, Spawner } from '../../src/index.ts';
import { HISTOGRAMS, SPAWN_BUCKETS } from '../../src/export/instruments.ts';
import { withSpawner } from '../helpers.ts';
import { mixedAgents, parsePrometheus, runToEnd, sample } from './fixtures.ts';

describe('spawner.metrics.prometheus()', () => {
  it('exposes a real batch: names, types, _total counters, agent labels, bucket counts equal to the outcomes', async () => {
    await withSpawner({}, async (spawner) => {
      const { outcomes, results } = await runToEnd(spawner.spawnBatch(mixedAgents()));
      const text = await spawner.metrics.prometheus();
      const { samples, types } = parsePrometheus(text);

      for (const h of HISTOGRAMS) expect(types.get(h.prometheus), h.prometheus).toBe('histogram');
      expect(types.get('spawnpool_spawns_total')).toBe('counter');
      expect(types.get('spawnpool_errors_total')).toBe('counter');
      expect(types.get('spawnpool_ring_records_written_total')).toBe('counter');
      expect(types.get('spawnpool_ring_records_dropped_total')).toBe('counter');

      for (const o of outcomes) {
        const outcome = o.ok ? 'ok' : 'failed';
        const labels = { agent: o.name, outcome };
        // One spawn outcome per agent: count, +Inf bucket and the spawns counter all say 1.
        expect(sample(samples, 'spawnpool_spawn_duration_seconds_count', labels), o.name).toBe(1);
        expect(sample(samples, 'spawnpool_spawn_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(1);
        expect(sample(samples, 'spawnpool_spawn_duration_seconds_sum', labels)).toBeCloseTo(o.timings.spawnMs / 1000, 9);
        expect(sample(samples, 'spawnpool_spawns_total', { agent: o.name, stage: 'spawn', outcome })).toBe(1);
        // The single observation sits in the first bucket that holds it, and every later one.
        const seconds = o.timings.spawnMs / 1000;
        for (const le of SPAWN_BUCKETS) {
          expect(sample(samples, 'spawnpool_spawn_duration_seconds_bucket', { ...labels, le: String(le) })).toBe(seconds <= le ? 1 : 0);
        }
      }
      const spawned = outcomes.filter((o) => o.ok).length;
      const spawnCounts = samples.filter((s) => s.name === 'spawnpool_spawn_duration_seconds_count');
      expect(spawnCounts.reduce((n, s) => n + s.value, 0)).toBe(outcomes.length);
      expect(samples.filter((s) => s.name === 'spawnpool_spawns_total' && s.labels.stage === 'spawn' && s.labels.outcome === 'ok').reduce((n, s) => n + s.value, 0)).toBe(spawned);

      // Run stage: one per spawned agent, ok when it exited 0.
      for (const r of results.filter((r) => outcomes[r.index]!.ok)) {
        expect(sample(samples, 'spawnpool_spawns_total', { agent: r.name, stage: 'run', outcome: r.ok ? 'ok' : 'failed' }), r.name).toBe(1);
        expect(sample(samples, 'spawnpool_run_duration_seconds_count', { agent: r.name, outcome: r.ok ? 'ok' : 'failed' })).toBe(1);
      }
      expect(sample(samples, 'spawnpool_errors_total', { agent: 'missing', stage: 'spawn', code: 'E_ENOENT' })).toBe(1);
      expect(sample(samples, 'spawnpool_errors_total', { agent: 'exit3', stage: 'run', code: 'E_EXIT' })).toBe(1);
      // Only the prompted agent was built on a worker.
      expect(sample(samples, 'spawnpool_build_duration_seconds_count', { agent: 'prompted', outcome: 'ok' })).toBe(1);
      expect(sample(samples, 'spawnpool_build_duration_seconds_count', { agent: 'plain', outcome: 'ok' })).toBeUndefined();

      const counters = spawner.metrics.ring.counters();
      expect(sample(samples, 'spawnpool_ring_records_written_total', {})).toBe(counters.written);
      expect(sample(samples, 'spawnpool_ring_records_dropped_total', {})).toBe(0);
      // Every record is counted once in spawns_total.
      expect(samples.filter((s) => s.name === 'spawnpool_spawns_total').reduce((n, s) => n + s.value, 0)).toBe(counters.written);
    });
  });

  it('gives every spawner its own registry, never the global one', async () => {
    const a = new Spawner({ workers: 1 });
    const b = new Spawner({ workers: 1 });
    try {
      await runToEnd(a.spawnBatch([{ name: 'only-in-a', command: 'true' }]));
      await runToEnd(b.spawnBatch([{ name: 'only-in-b', command: 'true' }]));
      const [textA, textB] = await Promise.all([a.metrics.prometheus(), b.metrics.prometheus()]);
      expect(textA).toContain('agent="only-in-a"');
      expect(textA).not.toContain('only-in-b');
      expect(textB).toContain('agent="only-in-b"');
      expect(textB).not.toContain('only-in-a');
      expect(a.metrics.prometheusRegistry).not.toBe(b.metrics.prometheusRegistry);
      expect(globalRegistry.getSingleMetric('spawnpool_spawns_total')).toBeUndefined();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('records into a registry the user passes, next to their own metrics, and refuses to share it', async () => {
    const registry = new Registry();
    const mine = new PromCounter({ name: 'my_app_jobs_total', help: 'jobs', registers: [registry] });
    mine.inc(2);
    await withSpawner({ prometheusRegistry: registry }, async (spawner) => {
      await runToEnd(spawner.spawnBatch([{ name: 'shared', command: 'true' }]));
      expect(spawner.metrics.prometheusRegistry).toBe(registry);
      const { samples } = parsePrometheus(await registry.metrics());
      expect(sample(samples, 'my_app_jobs_total', {})).toBe(2);
      // A scrape of the user's registry drains the ring itself.
      expect(sample(samples, 'spawnpool_spawns_total', { agent: 'shared', stage: 'spawn', outcome: 'ok' })).toBe(1);
      expect(() => new Spawner({ workers: 1, prometheusRegistry: registry })).toThrow(ConfigError);
    });
  });

  it('can be switched off, and then says so', async () => {
    await withSpawner({ prometheus: false, workers: 1 }, async (spawner) => {
      expect(spawner.metrics.prometheusRegistry).toBeUndefined();
      await expect(spawner.metrics.prometheus()).rejects.toMatchObject({ code: 'E_CONFIG' });
    });
  });
});
