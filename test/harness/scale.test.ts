/**
 * 1,000 runs of a fast agent at 64 in flight: nothing lost (one outcome per
 * run, one history row per attempt), and the live progress exact at every
 * outcome. The 10,000-run version, with RSS, is test/soak/harness-scale.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runHarness } from '../../src/harness/harness.ts';
import { Spawner } from '../../src/spawner.ts';
import { query, runsOf } from './helpers.ts';

describe('harness at scale', () => {
  it('1,000 runs at 64 in flight: every run once, history rows == runs, progress exact throughout', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spawnpool-scale-'));
    const db = path.join(dir, 'history.db');
    const spawner = new Spawner({ workers: 1, history: { path: db } });
    try {
      await spawner.ready;
      const n = 1000;
      const runs = runsOf(
        [{ name: 'true', command: '/bin/true' }],
        Array.from({ length: n }, (_, i) => ({ id: i + 1 })),
      );
      const harness = await runHarness(spawner, runs, { concurrency: 64, runName: 'scale' });
      const seen = new Set<string>();
      let maxRunning = 0;
      let lastDone = 0;
      for await (const a of harness) {
        seen.add(a.run);
        const p = harness.progress;
        // Live counts: never behind the outcomes read (the iterator may lag the harness), never going back, adding up.
        expect(p.done).toBeGreaterThanOrEqual(seen.size);
        expect(p.done).toBeGreaterThanOrEqual(lastDone);
        expect(p.succeeded + p.failed).toBe(p.done);
        expect(p.done + p.running + p.starting).toBeLessThanOrEqual(n);
        lastDone = p.done;
        maxRunning = Math.max(maxRunning, p.running + p.starting);
      }
      const summary = await harness.summary;
      expect(harness.progress).toMatchObject({ done: n, succeeded: n, failed: 0, running: 0, starting: 0, retrying: 0, attempts: n });
      expect(seen.size).toBe(n);
      expect(summary).toMatchObject({ total: n, succeeded: n, failed: 0, attempts: n, interrupted: 0, notStarted: 0 });
      expect(maxRunning).toBeLessThanOrEqual(64);
      expect(maxRunning).toBeGreaterThan(1);
      await spawner.close();
      const [rows] = query<{ attempts: number; agentRuns: number; ok: number; batches: number }>(
        db,
        `SELECT count(*) AS attempts, count(a.id) AS agentRuns, sum(a.ok) AS ok, count(DISTINCT b.id) AS batches FROM harness_attempts h
         LEFT JOIN batches b ON b.run_id = h.spawner_run_id AND b.batch_seq = h.batch_seq LEFT JOIN agent_runs a ON a.batch_id = b.id AND a.agent = h.agent_run
         WHERE h.run_name = 'scale'`,
      );
      expect(rows).toEqual({ attempts: n, agentRuns: n, ok: n, batches: n });
      expect(query(db, 'SELECT count(*) AS n FROM agent_runs')).toEqual([{ n }]);
    } finally {
      await spawner.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
