import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonlWriter, type JsonlLine } from '../../src/export/jsonl.ts';
import { Spawner, type NamedRecord } from '../../src/index.ts';
import { withSpawner, withTempDir } from '../support/fixtures.ts';
import { mixedAgents, runToEnd } from './fixtures.ts';

describe('JsonlWriter', () => {
  it('appends one line per record, written off the spawn path and flushed on close', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'metrics.jsonl');
      const seen: NamedRecord[] = [];
      let writer: JsonlWriter | undefined;
      let spawnerRunId = '';
      let outcomes: Awaited<ReturnType<typeof runToEnd>>['outcomes'] = [];
      await withSpawner({}, async (spawner) => {
        spawnerRunId = spawner.metrics.runId;
        spawner.metrics.subscribe((r) => seen.push(r));
        // A flush interval far beyond the test: nothing may reach the file before close().
        writer = new JsonlWriter(spawner.metrics, file, { flushIntervalMs: 3_600_000 });
        const run = await runToEnd(spawner.spawnBatch(mixedAgents()));
        outcomes = run.outcomes;
        const results = run.results;
        expect(outcomes).toHaveLength(4);
        expect(results).toHaveLength(4);
        expect((await stat(file)).size).toBe(0);
      });
      await writer!.close();

      const lines = (await readFile(file, 'utf8'))
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as JsonlLine);
      expect(seen.length).toBeGreaterThan(0);
      expect(lines).toHaveLength(seen.length);
      expect(writer!.lines).toBe(seen.length);
      lines.forEach((line, i) => {
        const r = seen[i]!;
        expect(line).toMatchObject({
          stage: r.stage,
          agent: r.agent,
          batchId: r.batchId,
          ok: r.ok,
          error: r.error ?? null,
          runId: spawnerRunId,
          hostPid: process.pid,
        });
      });
      // The same figures as the outcomes: queue wait on every agent's spawn line (with a prompt or not), spawn latency from the build start.
      for (const o of outcomes) {
        const spawn = lines.find((l) => l.stage === 'spawn' && l.agent === o.name)!;
        expect(spawn.queueMs, o.name).toBe(o.timings.queueMs);
        expect(spawn.spawnMs, o.name).toBe(o.timings.spawnMs);
        expect(spawn).not.toHaveProperty('launchMs');
      }
      const build = lines.find((l) => l.stage === 'build' && l.agent === 'prompted')!;
      expect(build.buildMs).toBe(outcomes.find((o) => o.name === 'prompted')!.timings.buildMs);
      expect(build.thread).toBeGreaterThan(0);
      expect(lines.find((l) => l.stage === 'exit' && l.agent === 'exit3')).toMatchObject({ ok: false, error: 'E_EXIT', exitCode: 3 });
      expect(lines.find((l) => l.stage === 'spawn' && l.agent === 'missing')).toMatchObject({ ok: false, error: 'E_ENOENT', pid: null });
    });
  });

  it('appends to an existing file, keeps two runs apart by run id and batch id, and fails at once on a path it cannot open', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'out.jsonl');
      const runs: { runId: string; batchId: number }[] = [];
      for (let round = 1; round <= 2; round++) {
        // The Spawner's own `jsonl` option: closed (and flushed) with it.
        await withSpawner({ workers: 1, jsonl: file }, async (spawner) => {
          const batch = spawner.spawnBatch([{ name: 'same-name', command: 'true' }]);
          await runToEnd(batch);
          runs.push({ runId: spawner.metrics.runId, batchId: batch.batchId });
        });
      }
      const lines = (await readFile(file, 'utf8'))
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as JsonlLine);
      expect(lines.map((l) => l.stage)).toEqual(['spawn', 'exit', 'spawn', 'exit']);
      expect(lines.map((l) => ({ runId: l.runId, batchId: l.batchId }))).toEqual([runs[0], runs[0], runs[1], runs[1]]);
      expect(runs[0]!.runId).not.toBe(runs[1]!.runId);
      // Batch ids do not repeat across runs either (each spawner starts at a random one).
      expect(runs[0]!.batchId).not.toBe(runs[1]!.batchId);
      await withSpawner({ workers: 1, prometheus: false }, async (spawner) => {
        expect(() => new JsonlWriter(spawner.metrics, path.join(dir, 'no-such-dir', 'x.jsonl'))).toThrow(/Cannot open the JSON lines file/);
      });
      expect(() => new Spawner({ workers: 1, jsonl: path.join(dir, 'no-such-dir', 'x.jsonl') })).toThrow(/Cannot open the JSON lines file/);
    });
  });
});
