import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { History } from '../../src/history/history.ts';
import { parseDuration } from '../../src/history/duration.ts';
import { withSpawner, withTempDir } from '../support/fixtures.ts';
import { mixedAgents, runToEnd } from '../export/fixtures.ts';
import { agentRow, DAY_MS, entry, sqlite3, writeEntries } from './fixtures.ts';

const DAY1 = Date.UTC(2026, 10, 20, 10);
const DAY2 = DAY1 + DAY_MS;

describe('history stats', () => {
  it('p50/p95/p99 per agent, p95 only from 20 samples, success rates, p95 per UTC day', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'h.db');
      // Day 1: "fast" spawns 25 times in 1..25 ms; "rare" 5 times. Day 2: "fast" 10 times at 100 ms, one failure.
      writeEntries(file, [
        ...Array.from({ length: 25 }, (_, i) => entry(DAY1 + i, [agentRow('fast', 0, i + 1), ...(i < 5 ? [agentRow('rare', 1, 50)] : [])], i)),
        ...Array.from({ length: 10 }, (_, i) => entry(DAY2 + i, [agentRow('fast', 0, 100), agentRow('broken', 1, null)], 100 + i)),
      ]);
      const history = History.open(file);
      try {
        const all = history.stats();
        expect(all).toMatchObject({ since: null, agent: null, batches: 35, total: 50, spawned: 40, succeeded: 40, failed: 10 });
        expect(all.successRate).toBe(40 / 50);
        expect(all.failedByStage).toEqual({ spawn: 10 });
        const fast = all.agents.find((a) => a.agent === 'fast')!;
        expect(fast.latency.samples).toBe(35);
        expect(fast.latency.p50Ms).toBe(18);
        expect(fast.latency.p95Ms).toBe(100);
        expect(fast.latency.p99Ms).toBe(100);
        const rare = all.agents.find((a) => a.agent === 'rare')!;
        expect(rare.latency).toMatchObject({ samples: 5, p50Ms: 50, p95Ms: undefined, p99Ms: undefined });
        expect(all.agents.find((a) => a.agent === 'broken')).toMatchObject({ total: 10, spawned: 0, spawnSuccessRate: 0, latency: { samples: 0 } });

        expect(all.daily.map((d) => d.day)).toEqual(['2026-11-20', '2026-11-21']);
        expect(all.daily[0]).toMatchObject({ spawned: 30 });
        expect(all.daily[0]!.p95Ms).toBeTypeOf('number');
        // Ten spawns on day 2: under 20, so no p95 for that day.
        expect(all.daily[1]).toMatchObject({ spawned: 10, p50Ms: 100, p95Ms: undefined });

        const since = history.stats({ since: DAY2 });
        expect(since).toMatchObject({ batches: 10, total: 20, since: new Date(DAY2).toISOString() });
        const one = history.stats({ agent: 'rare' });
        expect(one).toMatchObject({ agent: 'rare', batches: 5, total: 5 });
        expect(one.agents.map((a) => a.agent)).toEqual(['rare']);
      } finally {
        await history.close();
      }
    });
  });

  it('stats() of a spawner see its batches without waiting for the flush timer', async () => {
    await withTempDir(async (dir) => {
      await withSpawner({ history: { path: path.join(dir, 'h.db'), flushIntervalMs: 3_600_000 } }, async (spawner) => {
        const history = spawner.history!;
        const { results } = await runToEnd(spawner.spawnBatch(mixedAgents()));
        // The batch's rows are queued once every agent has exited, a turn after `results`.
        await new Promise<void>((resolve) => setImmediate(resolve));
        expect(history.pending).toBe(1);
        const stats = history.stats();
        expect(history.pending).toBe(0);
        expect(stats.total).toBe(4);
        expect(stats.succeeded).toBe(results.filter((r) => r.ok).length);
        expect(stats.agents.find((a) => a.agent === 'missing')).toMatchObject({ spawned: 0, failedByStage: { spawn: 1 } });
        expect(stats.agents.find((a) => a.agent === 'exit3')).toMatchObject({ spawned: 1, succeeded: 0, failedByStage: { run: 1 } });
      });
    });
  });
});

describe('history stats over rows from before schema 2', () => {
  it('takes the queue wait off spawn_ms where it was measured, and reads a file still at schema 1 read-only', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'old.db');
      // 25 old rows: spawn_ms 150 counted from the batch start, queue_ms 100 (a prompt) or NULL (none, not measured then).
      writeEntries(
        file,
        Array.from({ length: 25 }, (_, i) =>
          entry(
            DAY1 + i,
            [
              { ...agentRow('queued', 0, 150), queueMs: 100 },
              { ...agentRow('unqueued', 1, 150), queueMs: null },
            ],
            i,
          ),
        ),
      );
      await sqlite3(file, "UPDATE agent_runs SET spawn_ms_from = 'batch_start'", { write: true });
      const history = History.open({ path: file, readonly: true });
      try {
        const s = history.stats();
        expect(s.agents.find((a) => a.agent === 'queued')!.latency.p95Ms).toBe(50);
        expect(s.agents.find((a) => a.agent === 'unqueued')!.latency.p95Ms).toBe(150);
      } finally {
        await history.close();
      }
      // The same file as schema 1 wrote it: no spawn_ms_from column, version 1 (stats opens it read-only and does not migrate).
      await sqlite3(file, 'ALTER TABLE agent_runs DROP COLUMN spawn_ms_from; DELETE FROM schema_migrations WHERE version = 2', { write: true });
      const v1 = History.open({ path: file, readonly: true });
      try {
        expect(v1.stats().agents.find((a) => a.agent === 'queued')!.latency.p95Ms).toBe(50);
      } finally {
        await v1.close();
      }
      expect(await sqlite3(file, 'SELECT max(version) FROM schema_migrations')).toBe('1');
    });
  });
});

describe('parseDuration', () => {
  it('reads the units a person types, and names the flag when it cannot', () => {
    expect(parseDuration('90s', '--x')).toBe(90_000);
    expect(parseDuration('15m', '--x')).toBe(900_000);
    expect(parseDuration('12h', '--x')).toBe(43_200_000);
    expect(parseDuration('7d', '--x')).toBe(7 * DAY_MS);
    expect(parseDuration('2w', '--x')).toBe(14 * DAY_MS);
    expect(parseDuration('1.5d', '--x')).toBe(1.5 * DAY_MS);
    expect(parseDuration(250, '--x')).toBe(250);
    for (const bad of ['', '7', 'd', '-1d', '0d', 'seven days', '7y']) {
      expect(() => parseDuration(bad, '--since'), bad).toThrow(/Expected --since to be a duration/);
    }
    expect(() => parseDuration(0, '--since')).toThrow(/positive number/);
  });
});
