import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Registry, Counter as PromCounter, register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ConfigError, Spawner } from '../../src/index.ts';
import { COUNTERS, HISTOGRAMS, SPAWN_BUCKETS, errorSeries } from '../../src/export/instruments.ts';
import { withSpawner, withTempDir } from '../support/fixtures.ts';
import { promtoolCheck } from '../support/prometheus-server.ts';
import { mixedAgents, parsePrometheus, runToEnd, sample, type Sample } from './fixtures.ts';

/** Every series of the exposition, as `name{labels}` (label order as exposed). */
function seriesOf(samples: Sample[]): string[] {
  return samples.map((s) => `${s.name}${JSON.stringify(s.labels)}`).sort();
}

describe('spawner.metrics.prometheus()', () => {
  it('exposes every fixed series at 0 before anything ran, and the exposition passes promtool', async () => {
    await withSpawner({ workers: 1 }, async (spawner) => {
      const text = await spawner.metrics.prometheus();
      expect(await promtoolCheck(text)).toBe('');
      const { samples, types } = parsePrometheus(text);
      for (const h of HISTOGRAMS) {
        expect(types.get(h.prometheus), h.prometheus).toBe('histogram');
        for (const labels of h.byOutcome ? [{ outcome: 'ok' }, { outcome: 'failed' }] : [{} as Record<string, string>]) {
          expect(sample(samples, `${h.prometheus}_count`, labels), `${h.prometheus} ${JSON.stringify(labels)}`).toBe(0);
          expect(samples.filter((s) => s.name === `${h.prometheus}_bucket` && Object.entries(labels).every(([k, v]) => s.labels[k] === v))).toHaveLength(
            h.buckets.length + 1,
          );
        }
      }
      for (const c of COUNTERS) {
        expect(types.get(c.prometheus)).toBe('counter');
        expect(sample(samples, c.prometheus, { outcome: 'ok' })).toBe(0);
        expect(sample(samples, c.prometheus, { outcome: 'failed' })).toBe(0);
      }
      for (const [stage, code] of errorSeries()) expect(sample(samples, 'spawnpool_errors_total', { stage, error_type: code })).toBe(0);
      expect(sample(samples, 'spawnpool_batches_total', {})).toBe(0);
      expect(sample(samples, 'spawnpool_agents_running', {})).toBe(0);
      expect(sample(samples, 'spawnpool_agents_pending', {})).toBe(0);
      expect(sample(samples, 'spawnpool_spawner_info', { run_id: spawner.metrics.runId })).toBe(1);
      // No agent label anywhere by default.
      expect(samples.filter((s) => 'agent' in s.labels)).toEqual([]);
    });
  });

  it('counts a real batch once per meaning: builds, spawns, runs, errors (once per failed agent)', async () => {
    await withSpawner({}, async (spawner) => {
      const agents = [...mixedAgents(), { name: 'bad-template', command: 'cat', prompt: { template: '{{#open}}' } }];
      const { outcomes, results } = await runToEnd(spawner.spawnBatch(agents));
      const text = await spawner.metrics.prometheus();
      expect(await promtoolCheck(text)).toBe('');
      const { samples } = parsePrometheus(text);
      const spawned = outcomes.filter((o) => o.ok);
      expect(sample(samples, 'spawnpool_spawns_total', { outcome: 'ok' })).toBe(spawned.length);
      expect(sample(samples, 'spawnpool_spawns_total', { outcome: 'failed' })).toBe(outcomes.length - spawned.length);
      expect(sample(samples, 'spawnpool_runs_total', { outcome: 'ok' })).toBe(results.filter((r) => r.ok).length);
      expect(sample(samples, 'spawnpool_runs_total', { outcome: 'failed' })).toBe(spawned.length - results.filter((r) => r.ok).length);
      // Two agents with a prompt: one built, one whose template does not parse.
      expect(sample(samples, 'spawnpool_builds_total', { outcome: 'ok' })).toBe(1);
      expect(sample(samples, 'spawnpool_builds_total', { outcome: 'failed' })).toBe(1);
      // One error per failed agent, at its stage: the failed build is not counted again as a failed spawn.
      const errors = samples.filter((s) => s.name === 'spawnpool_errors_total' && s.value > 0).map((s) => [s.labels.stage, s.labels.error_type, s.value]);
      expect(errors.sort()).toEqual([
        ['build', 'E_TEMPLATE', 1],
        ['run', 'E_EXIT', 1],
        ['spawn', 'E_ENOENT', 1],
      ]);
      expect(errors.length).toBe(results.filter((r) => !r.ok).length);

      // Spawn latency: one observation per agent, the SPAWN record's duration (the build start to spawned).
      expect(sample(samples, 'spawnpool_spawn_duration_seconds_count', { outcome: 'ok' })).toBe(spawned.length);
      expect(sample(samples, 'spawnpool_spawn_duration_seconds_sum', { outcome: 'ok' })).toBeCloseTo(
        spawned.reduce((n, o) => n + o.timings.spawnMs, 0) / 1000,
        9,
      );
      for (const le of SPAWN_BUCKETS) {
        const expected = spawned.filter((o) => o.timings.spawnMs / 1000 <= le).length;
        expect(sample(samples, 'spawnpool_spawn_duration_seconds_bucket', { outcome: 'ok', le: String(le) }), `le ${le}`).toBe(expected);
      }
      // Queue wait for every agent, with a prompt or not.
      expect(sample(samples, 'spawnpool_queue_wait_seconds_count', {})).toBe(outcomes.length);
      expect(sample(samples, 'spawnpool_queue_wait_seconds_sum', {})).toBeCloseTo(outcomes.reduce((n, o) => n + o.timings.queueMs, 0) / 1000, 9);
      expect(sample(samples, 'spawnpool_build_duration_seconds_count', { outcome: 'ok' })).toBe(1);

      expect(sample(samples, 'spawnpool_batches_total', {})).toBe(1);
      expect(sample(samples, 'spawnpool_agents_running', {})).toBe(0);
      expect(sample(samples, 'spawnpool_last_batch_agents', {})).toBe(agents.length);
      expect(sample(samples, 'spawnpool_last_batch_spawned', {})).toBe(spawned.length);
      expect(sample(samples, 'spawnpool_last_batch_succeeded', {})).toBe(results.filter((r) => r.ok).length);
      expect(sample(samples, 'spawnpool_last_batch_end_timestamp_seconds', {})).toBeGreaterThan(Date.now() / 1000 - 60);
      const counters = spawner.metrics.counters();
      expect(sample(samples, 'spawnpool_ring_records_written_total', {})).toBe(counters.written);
      expect(sample(samples, 'spawnpool_ring_records_dropped_total', {})).toBe(0);
    });
  });

  it('under a concurrency limit, spawn latency leaves the queue wait out, and the queue wait has its own histogram', async () => {
    await withSpawner({ workers: 1 }, async (spawner) => {
      // One at a time, each running 0.6 s: the second waits 0.6 s in the queue, the third 1.2 s, the fourth 1.8 s.
      const agents = Array.from({ length: 4 }, (_, i) => ({ name: `slow-${i}`, command: 'sh', args: ['-c', 'sleep 0.6'] }));
      const { outcomes } = await runToEnd(spawner.spawnBatch(agents, { concurrency: 1 }));
      const { samples } = parsePrometheus(await spawner.metrics.prometheus());
      expect(outcomes.map((o) => o.timings.queueMs).sort((a, b) => a - b)[3]).toBeGreaterThan(1700);
      // Every spawn took well under 0.5 s once its build started; measured from the batch start, three would not.
      expect(sample(samples, 'spawnpool_spawn_duration_seconds_bucket', { outcome: 'ok', le: '0.5' })).toBe(4);
      expect(sample(samples, 'spawnpool_spawn_duration_seconds_bucket', { outcome: 'ok', le: '+Inf' })).toBe(4);
      expect(sample(samples, 'spawnpool_queue_wait_seconds_count', {})).toBe(4);
      expect(sample(samples, 'spawnpool_queue_wait_seconds_sum', {})).toBeGreaterThan(3.4);
      expect(sample(samples, 'spawnpool_queue_wait_seconds_bucket', { le: '0.4' })).toBe(1);
    });
  });

  it('keeps the same bounded set of series however many differently named agents ran', async () => {
    await withSpawner({ workers: 1 }, async (spawner) => {
      await runToEnd(spawner.spawnBatch([{ name: 'only', command: 'true' }]));
      const after1 = seriesOf(parsePrometheus(await spawner.metrics.prometheus()).samples);
      await runToEnd(spawner.spawnBatch(Array.from({ length: 60 }, (_, i) => ({ name: `task-${i}`, command: 'true' }))));
      const after61 = seriesOf(parsePrometheus(await spawner.metrics.prometheus()).samples);
      expect(after61).toEqual(after1);
      expect(after1.length).toBeLessThan(500);
    });
  });

  it("with agentLabels, creates an agent's series at 0 when its batch is queued, before its first record", async () => {
    await withTempDir(async (dir) => {
      const release = path.join(dir, 'release');
      await withSpawner({ workers: 1, agentLabels: true }, async (spawner) => {
        // concurrency 1: "second" waits in the queue while "first" holds the slot until released.
        const batch = spawner.spawnBatch(
          [
            { name: 'first', command: 'sh', args: ['-c', `while [ ! -e '${release}' ]; do sleep 0.02; done`] },
            { name: 'second', command: 'true' },
          ],
          { concurrency: 1 },
        );
        const iterator = batch[Symbol.asyncIterator]();
        expect((await iterator.next()).value?.name).toBe('first');
        const text = await spawner.metrics.prometheus();
        expect(await promtoolCheck(text)).toBe('');
        const { samples } = parsePrometheus(text);
        // "second" has no record yet; every one of its series is there, at 0.
        for (const c of COUNTERS)
          for (const outcome of ['ok', 'failed']) expect(sample(samples, c.prometheus, { agent: 'second', outcome }), `${c.prometheus} ${outcome}`).toBe(0);
        for (const h of HISTOGRAMS) {
          const labels: Record<string, string> = h.byOutcome ? { agent: 'second', outcome: 'ok' } : { agent: 'second' };
          expect(sample(samples, `${h.prometheus}_count`, labels), h.prometheus).toBe(0);
        }
        expect(sample(samples, 'spawnpool_spawns_total', { agent: 'first', outcome: 'ok' })).toBe(1);
        expect(sample(samples, 'spawnpool_agents_running', {})).toBe(1);
        expect(sample(samples, 'spawnpool_agents_pending', {})).toBe(1);
        await writeFile(release, '');
        await batch.results;
        const after = parsePrometheus(await spawner.metrics.prometheus()).samples;
        expect(sample(after, 'spawnpool_spawns_total', { agent: 'second', outcome: 'ok' })).toBe(1);
        expect(sample(after, 'spawnpool_runs_total', { agent: 'first', outcome: 'ok' })).toBe(1);
        // errors_total stays bounded: never by agent.
        // Names declared ahead (the CLI declares its agents file's) have their series before any batch queues them.
        spawner.metrics.declareAgents(['later']);
        const declared = parsePrometheus(await spawner.metrics.prometheus()).samples;
        expect(sample(declared, 'spawnpool_spawns_total', { agent: 'later', outcome: 'ok' })).toBe(0);
        expect(after.filter((s) => s.name === 'spawnpool_errors_total' && 'agent' in s.labels)).toEqual([]);
      });
    });
  });

  it('gives every spawner its own registry, never the global one', async () => {
    const a = new Spawner({ workers: 1 });
    const b = new Spawner({ workers: 1 });
    try {
      await runToEnd(a.spawnBatch([{ name: 'only-in-a', command: 'true' }]));
      const [textA, textB] = await Promise.all([a.metrics.prometheus(), b.metrics.prometheus()]);
      expect(sample(parsePrometheus(textA).samples, 'spawnpool_spawns_total', { outcome: 'ok' })).toBe(1);
      expect(sample(parsePrometheus(textB).samples, 'spawnpool_spawns_total', { outcome: 'ok' })).toBe(0);
      expect(a.metrics.runId).not.toBe(b.metrics.runId);
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
      expect(sample(samples, 'spawnpool_spawns_total', { outcome: 'ok' })).toBe(1);
      expect(() => new Spawner({ workers: 1, prometheusRegistry: registry })).toThrow(ConfigError);
    });
  });

  it('can be switched off, and then says so', async () => {
    await withSpawner({ prometheus: false, workers: 1 }, async (spawner) => {
      expect(spawner.metrics.prometheusRegistry).toBeUndefined();
      await expect(spawner.metrics.prometheus()).rejects.toMatchObject({ code: 'E_CONFIG' });
    });
  });

  it('keeps the final figures readable after close()', async () => {
    const spawner = new Spawner({ workers: 1 });
    await runToEnd(spawner.spawnBatch([{ name: 'x', command: 'true' }]));
    await spawner.close();
    expect(sample(parsePrometheus(await spawner.metrics.prometheus()).samples, 'spawnpool_runs_total', { outcome: 'ok' })).toBe(1);
  });
});
