import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { withSpawner, withTempDir } from '../support/fixtures.ts';
import { mixedAgents, runToEnd, type BatchRun } from '../export/fixtures.ts';

const CYCLES = 100;
const BATCHES_PER_CYCLE = 2;

describe('history under concurrent batches', () => {
  it(`${CYCLES} cycles of ${BATCHES_PER_CYCLE} concurrent batches: integrity ok, one row per outcome`, { timeout: 600_000 }, async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'history.db');
      const runs: (BatchRun & { batchId: number })[] = [];
      let runId = '';
      // A short flush interval, so writes interleave with the batches still running.
      await withSpawner({ history: { path: file, flushIntervalMs: 1 } }, async (spawner) => {
        runId = spawner.history!.runId;
        for (let cycle = 0; cycle < CYCLES; cycle++) {
          const batches = Array.from({ length: BATCHES_PER_CYCLE }, () => spawner.spawnBatch(mixedAgents()));
          runs.push(...(await Promise.all(batches.map(async (b) => ({ batchId: b.batchId, ...(await runToEnd(b)) })))));
        }
      });

      const db = new Database(file, { readonly: true });
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(db.pragma('foreign_key_check')).toEqual([]);
        const count = (sql: string, ...params: unknown[]) =>
          db
            .prepare(sql)
            .pluck()
            .get(...params) as number;
        expect(count('SELECT count(*) FROM batches WHERE run_id = ?', runId)).toBe(runs.length);
        expect(count('SELECT count(*) FROM agent_runs')).toBe(runs.length * 4);

        const results = runs.flatMap((r) => r.results);
        const outcomes = runs.flatMap((r) => r.outcomes);
        expect(count('SELECT count(*) FROM agent_runs WHERE ok = 1')).toBe(results.filter((r) => r.ok).length);
        expect(count('SELECT count(*) FROM agent_runs WHERE spawned = 1')).toBe(outcomes.filter((o) => o.ok).length);
        expect(count('SELECT count(*) FROM agent_runs WHERE spawned IS NULL')).toBe(0);
        for (const stage of ['spawn', 'run']) {
          expect(count('SELECT count(*) FROM agent_runs WHERE stage = ?', stage), stage).toBe(results.filter((r) => r.stage === stage).length);
        }
        // Each batch row agrees with its own agent rows.
        const mismatched = count(`SELECT count(*) FROM batches b WHERE b.total != (SELECT count(*) FROM agent_runs a WHERE a.batch_id = b.id)
          OR b.succeeded != (SELECT count(*) FROM agent_runs a WHERE a.batch_id = b.id AND a.ok = 1)`);
        expect(mismatched).toBe(0);
        // Timings from the ring match what the batch reported, to the bit.
        const spawnMs = db.prepare('SELECT b.batch_seq, a.agent, a.spawn_ms FROM agent_runs a JOIN batches b ON b.id = a.batch_id').raw().all() as [
          number,
          string,
          number,
        ][];
        const expected = new Map(runs.flatMap((r) => r.outcomes.map((o) => [`${r.batchId}/${o.name}`, o.timings.spawnMs] as const)));
        expect(spawnMs).toHaveLength(expected.size);
        for (const [seq, agent, ms] of spawnMs) expect(ms, `${seq}/${agent}`).toBe(expected.get(`${seq}/${agent}`));
      } finally {
        db.close();
      }
    });
  });
});
