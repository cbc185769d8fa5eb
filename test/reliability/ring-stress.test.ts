/**
 * The metrics ring under a real load, at the spawner level: 100 cycles of a
 * concurrent 8-agent batch on one spawner, two build workers and the main
 * thread writing into a small ring (128 slots, lapped many times). Zero
 * invalid records, exact counters, every record decodes to what happened,
 * and the windows never hold more than their size.
 */
import { describe, expect, it } from 'vitest';
import type { NamedRecord } from '../../src/metrics/spawner-metrics.ts';
import type { AgentSpec } from '../../src/spec/schema.ts';
import { withSpawner } from './helpers.ts';

const CYCLES = 100;
const AGENTS = 8;
const WINDOW = 100;
const RING = 128;

describe('metrics ring under stress', () => {
  it(`${CYCLES} cycles of ${AGENTS} concurrent agents: no invalid record, exact counters, bounded windows`, async () => {
    await withSpawner({ workers: 2, windowSize: WINDOW, ringCapacity: RING }, async (spawner) => {
      const seen: NamedRecord[] = [];
      const unsubscribe = spawner.metrics.subscribe((r) => seen.push(r));
      const agents: AgentSpec[] = Array.from({ length: AGENTS }, (_, i) => ({
        name: `stress-${i}`,
        command: '/bin/true',
        // A prompt, so each agent's BUILD record is written by a worker thread.
        prompt: { template: 'cycle prompt for {{agent}}' },
      }));
      const pidsByBatch = new Map<number, Set<number>>();
      let maxCount = 0;

      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const batch = spawner.spawnBatch(agents);
        const results = await batch.results;
        const failed = results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error?.message}`);
        expect(failed, `cycle ${cycle}`).toEqual([]);
        pidsByBatch.set(batch.batchId, new Set(results.map((r) => r.pid!)));

        const snap = spawner.metrics.snapshot();
        maxCount = Math.max(maxCount, snap.count, snap.build.count, snap.run.count);
        expect(snap.invalid, `cycle ${cycle}`).toBe(0);
        expect(snap.written, `cycle ${cycle}`).toBe(seen.length + snap.dropped);
      }
      unsubscribe();

      const snap = spawner.metrics.snapshot();
      const counters = spawner.metrics.counters();
      const n = CYCLES * AGENTS;
      expect(snap.invalid).toBe(0);
      expect(counters.pending).toBe(0);
      expect(counters.written).toBe(counters.read + counters.dropped);
      expect(counters.written).toBe(3 * n);
      expect(snap.totals).toEqual({ build: { ok: n, failed: 0 }, spawn: { ok: n, failed: 0 }, exit: { ok: n, failed: 0 } });
      expect(maxCount).toBe(WINDOW);
      expect([snap.count, snap.build.count, snap.run.count]).toEqual([WINDOW, WINDOW, WINDOW]);

      // Every record read describes what happened, field by field.
      expect(seen.length).toBe(counters.read);
      const names = new Set(agents.map((a) => a.name));
      for (const r of seen) {
        expect(names.has(r.agent), r.agent).toBe(true);
        expect(r.ok).toBe(true);
        expect(r.error).toBeUndefined();
        expect(pidsByBatch.has(r.batchId)).toBe(true);
        if (r.stage === 'build') {
          expect(r.writerThreadId).toBeGreaterThan(0);
          expect(r.pid).toBe(0);
        } else {
          expect(pidsByBatch.get(r.batchId)!.has(r.pid)).toBe(true);
        }
        if (r.stage === 'exit') expect(r.exitCode).toBe(0);
        const ms = r.stage === 'build' ? r.buildMs : r.stage === 'spawn' ? r.spawnMs : r.runMs;
        expect(Number.isFinite(ms) && ms >= 0).toBe(true);
      }
      // SPAWN and EXIT come from the launch thread: one thread, neither the main thread nor a build worker.
      const launchSide = new Set(seen.filter((r) => r.stage !== 'build').map((r) => r.writerThreadId));
      const builders = new Set(seen.filter((r) => r.stage === 'build').map((r) => r.writerThreadId));
      expect(launchSide.size).toBe(1);
      expect([...launchSide][0]).toBeGreaterThan(0);
      expect(builders.has([...launchSide][0]!)).toBe(false);
      // Each (batch, agent, stage) at most once: no record read twice.
      const keys = new Set(seen.map((r) => `${r.batchId}/${r.agent}/${r.stage}`));
      expect(keys.size).toBe(seen.length);
      console.log(`ring stress: ${counters.written} records written, ${counters.read} read, ${counters.dropped} dropped, ${counters.invalid} invalid`);
    });
  }, 120_000);
});
