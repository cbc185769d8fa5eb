import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonlWriter, type JsonlLine } from '../../src/export/jsonl.ts';
import type { NamedRecord } from '../../src/index.ts';
import { withSpawner, withTempDir } from '../helpers.ts';
import { mixedAgents, runToEnd } from './fixtures.ts';

describe('JsonlWriter', () => {
  it('appends one line per record, written off the spawn path and flushed on close', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'metrics.jsonl');
      const seen: NamedRecord[] = [];
      let writer: JsonlWriter | undefined;
      await withSpawner({}, async (spawner) => {
        spawner.metrics.subscribe((r) => seen.push(r));
        // A flush interval far beyond the test: nothing may reach the file before close().
        writer = new JsonlWriter(spawner.metrics, file, { flushIntervalMs: 3_600_000 });
        const { outcomes, results } = await runToEnd(spawner.spawnBatch(mixedAgents()));
        expect(outcomes).toHaveLength(4);
        expect(results).toHaveLength(4);
        expect((await stat(file)).size).toBe(0);
      });
      await writer!.close();

      const lines = (await readFile(file, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as JsonlLine);
      expect(seen.length).toBeGreaterThan(0);
      expect(lines).toHaveLength(seen.length);
      expect(writer!.lines).toBe(seen.length);
      lines.forEach((line, i) => {
        const r = seen[i]!;
        expect(line).toMatchObject({ stage: r.stage, agent: r.agent, batchId: r.batchId, ok: r.ok, error: r.error ?? null });
      });
      const spawn = lines.find((l) => l.stage === 'spawn' && l.agent === 'prompted')!;
      expect(spawn.spawnMs).toBeGreaterThan(0);
      expect(spawn.launchMs).toBeTypeOf('number');
      const build = lines.find((l) => l.stage === 'build' && l.agent === 'prompted')!;
      expect(build.buildMs).toBeTypeOf('number');
      expect(build.thread).toBeGreaterThan(0);
      expect(lines.find((l) => l.stage === 'exit' && l.agent === 'exit3')).toMatchObject({ ok: false, error: 'E_EXIT', exitCode: 3 });
      expect(lines.find((l) => l.stage === 'spawn' && l.agent === 'missing')).toMatchObject({ ok: false, error: 'E_ENOENT', pid: null });
    });
  });

  it('appends to an existing file and fails at once on a path it cannot open', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'out.jsonl');
      for (let round = 1; round <= 2; round++) {
        await withSpawner({ workers: 1 }, async (spawner) => {
          const writer = new JsonlWriter(spawner.metrics, file);
          try {
            await runToEnd(spawner.spawnBatch([{ name: `round${round}`, command: 'true' }]));
          } finally {
            await spawner.close();
            await writer.close();
          }
        });
      }
      const agents = (await readFile(file, 'utf8')).trimEnd().split('\n').map((l) => (JSON.parse(l) as JsonlLine).agent);
      expect(agents).toEqual(['round1', 'round1', 'round2', 'round2']);
      await withSpawner({ workers: 1, prometheus: false }, async (spawner) => {
        expect(() => new JsonlWriter(spawner.metrics, path.join(dir, 'no-such-dir', 'x.jsonl'))).toThrow(/Cannot open the JSON lines file/);
      });
    });
  });
});
