import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JsonlLine } from '../../src/index.ts';
import { withSpawner, withTempDir } from '../support/fixtures.ts';
import { runToEnd } from '../export/fixtures.ts';
import { sqlite3 } from './fixtures.ts';

describe('the history recorder', () => {
  it('stores the same figures as the outcomes and the JSON lines, joined by run id and batch id (read back with the sqlite3 CLI)', async () => {
    await withTempDir(async (dir) => {
      const db = path.join(dir, 'h.db');
      const jsonl = path.join(dir, 'records.jsonl');
      let runId = '';
      let batchId = 0;
      let outcomes: Awaited<ReturnType<typeof runToEnd>>['outcomes'] = [];
      // concurrency 1: the agents queue one behind the other, so queue waits are real, also for the agents without a prompt.
      await withSpawner({ workers: 1, prometheus: false, history: { path: db }, jsonl }, async (spawner) => {
        runId = spawner.metrics.runId;
        const batch = spawner.spawnBatch(
          [
            { name: 'plain-1', command: 'sh', args: ['-c', 'sleep 0.2'] },
            { name: 'plain-2', command: 'true' },
            { name: 'prompted', command: 'cat', prompt: { template: 'hello' } },
          ],
          { concurrency: 1 },
        );
        batchId = batch.batchId;
        outcomes = (await runToEnd(batch)).outcomes;
      });
      const rows = JSON.parse(
        await sqlite3(
          db,
          'SELECT b.run_id, b.batch_seq, b.pid, a.agent, a.queue_ms, a.build_ms, a.launch_ms, a.spawn_ms, a.spawn_ms_from FROM agent_runs a JOIN batches b ON b.id = a.batch_id ORDER BY a.idx',
          { json: true },
        ),
      ) as Record<string, unknown>[];
      expect(rows).toHaveLength(3);
      const lines = (await readFile(jsonl, 'utf8'))
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as JsonlLine);
      for (const [i, row] of rows.entries()) {
        const o = outcomes[i]!;
        expect(row).toMatchObject({ run_id: runId, batch_seq: batchId, pid: process.pid, agent: o.name, launch_ms: null, spawn_ms_from: 'build_start' });
        expect(row.queue_ms, o.name).toBe(o.timings.queueMs);
        expect(row.spawn_ms, o.name).toBe(o.timings.spawnMs);
        // The JSON line of the same spawn, found by the history's keys.
        const line = lines.find((l) => l.runId === row.run_id && l.batchId === row.batch_seq && l.agent === row.agent && l.stage === 'spawn')!;
        expect(line.queueMs).toBe(row.queue_ms);
        expect(line.spawnMs).toBe(row.spawn_ms);
      }
      // The second agent (no prompt) waited for the first one's 200 ms run: its queue wait is in its row.
      expect(rows[1]!.queue_ms as number).toBeGreaterThan(150);
      expect(rows[2]!.build_ms).toBeTypeOf('number');
      expect(rows[0]!.build_ms).toBeNull();
    });
  });
});
