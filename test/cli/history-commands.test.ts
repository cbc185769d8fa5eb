import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './run-cli.ts';
import { withTempDir } from '../helpers.ts';
import { agentRow, DAY_MS, entry, writeEntries } from '../history/fixtures.ts';

/** 10 batches 40 days old, 25 from the last two days (so today and yesterday both have >= 20 spawns of "fast"). */
function seed(file: string): void {
  const now = Date.now();
  writeEntries(file, [
    ...Array.from({ length: 10 }, (_, i) => entry(now - 40 * DAY_MS - i, [agentRow('ancient', 0, 9)], i)),
    ...Array.from({ length: 25 }, (_, i) => entry(now - DAY_MS - i, [agentRow('fast', 0, 10 + i), agentRow('slow', 1, 200)], 100 + i)),
    ...Array.from({ length: 25 }, (_, i) => entry(now - i, [agentRow('fast', 0, 20 + i), agentRow('broken', 1, null)], 200 + i)),
  ]);
}

describe('spawnpool stats / cleanup', () => {
  it('stats prints quantiles per agent and a chart of p95 per day; --json gives the figures', { timeout: 60_000 }, async () => {
    await withTempDir(async (dir) => {
      const db = path.join(dir, 'h.db');
      seed(db);
      const text = await cli(['stats', '--db', db]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/60 batches, 110 agent runs: 85 spawned/);
      expect(text.stdout).toMatch(/^fast\s+50\s+50\s+50\s+0\s+100\.0%\s+100\.0%\s+[\d.]+\s+[\d.]+\s+[\d.]+$/m);
      // 25 samples of "slow": enough for p95, and all 200.
      expect(text.stdout).toMatch(/^slow\s+25\s+25\s+25\s+0\s+100\.0%\s+100\.0%\s+200\s+200\s+200$/m);
      expect(text.stdout).toMatch(/^ancient\s+10\s+10\s+10\s+0\s+100\.0%\s+100\.0%\s+9\.0\s+n\/a\s+n\/a$/m);
      expect(text.stdout).toMatch(/^broken\s+25\s+0\s+0\s+25\s+0\.0%\s+0\.0%\s+n\/a\s+n\/a\s+n\/a$/m);
      expect(text.stdout).toContain('p95 spawn latency per day (UTC)');
      expect(text.stdout).toMatch(/^\d{4}-\d{2}-\d{2}  █+/m);

      const json = await cli(['stats', '--db', db, '--since', '7d', '--agent', 'fast', '--json']);
      expect(json.code).toBe(0);
      const stats = JSON.parse(json.stdout) as { total: number; agent: string; latency: { samples: number; p95Ms: number | null }; agents: unknown[] };
      expect(stats).toMatchObject({ agent: 'fast', total: 50, latency: { samples: 50 } });
      expect(stats.latency.p95Ms).toBeTypeOf('number');
      expect(stats.agents).toHaveLength(1);

      const few = JSON.parse((await cli(['stats', '--db', db, '--agent', 'ancient', '--json'])).stdout) as { latency: { p95Ms: number | null; p99Ms: number | null } };
      expect(few.latency).toMatchObject({ p95Ms: null, p99Ms: null });
    });
  });

  it('cleanup removes exactly the old batches and reports rows, bytes and integrity', { timeout: 60_000 }, async () => {
    await withTempDir(async (dir) => {
      const db = path.join(dir, 'h.db');
      seed(db);
      const res = await cli(['cleanup', '--db', db, '--older-than', '30d', '--json']);
      expect(res.code).toBe(0);
      expect(JSON.parse(res.stdout)).toMatchObject({ batchesRemoved: 10, agentRunsRemoved: 10, integrity: 'ok', complete: true });
      const text = await cli(['cleanup', '--db', db, '--older-than', '30d', '--vacuum']);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/removed 0 batches and 0 agent runs in 0 chunks, then vacuumed/);
      expect(text.stdout).toMatch(/integrity_check: ok/);
      expect(JSON.parse((await cli(['stats', '--db', db, '--json'])).stdout)).toMatchObject({ batches: 50, total: 100 });
    });
  });

  it('says what is wrong: no database, a missing flag, a bad duration', { timeout: 60_000 }, async () => {
    await withTempDir(async (dir) => {
      const missing = await cli(['stats', '--db', path.join(dir, 'none.db')]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/no history database there/);
      const noFlag = await cli(['cleanup', '--db', path.join(dir, 'none.db')]);
      expect(noFlag.code).toBe(2);
      expect(noFlag.stderr).toMatch(/Expected --older-than/);
      const bad = await cli(['stats', '--since', 'last week']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/Expected --since to be a duration/);
    });
  });
});
