import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { History } from '../../src/history/history.ts';
import { withTempDir } from '../support/fixtures.ts';
import { agentRow, damageIndex, DAY_MS, entry, sha256, sqlite3, writeEntries } from './fixtures.ts';

const NOW = Date.UTC(2026, 10, 27, 12);

/** 40 batches 31..70 days old and 10 batches 0..29 days old, 3 agents each. */
function seed(file: string): void {
  const old = Array.from({ length: 40 }, (_, i) =>
    entry(NOW - (31 + i) * DAY_MS, [agentRow('old-a', 0, 5), agentRow('old-b', 1, 6), agentRow('old-c', 2, null)], i),
  );
  const young = Array.from({ length: 10 }, (_, i) =>
    entry(NOW - i * 3 * DAY_MS, [agentRow('new-a', 0, 5), agentRow('new-b', 1, 6), agentRow('new-c', 2, 7, false)], 100 + i),
  );
  writeEntries(file, [...old, ...young]);
}

describe('history cleanup', () => {
  it('removes exactly the rows older than the cutoff, in bounded chunks, and checks the file', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'h.db');
      seed(file);
      const history = History.open(file);
      try {
        const report = await history.cleanup({ olderThan: '30d', now: NOW, chunkSize: 7 });
        expect(report).toMatchObject({ batchesRemoved: 40, agentRunsRemoved: 120, complete: true, integrity: 'ok', vacuumed: false });
        expect(report.cutoff).toBe(new Date(NOW - 30 * DAY_MS).toISOString());
        // Whole batches per chunk, at most 7 agent runs: two 3-agent batches per chunk, 20 chunks for 40 batches.
        expect(report.chunks).toBe(20);
        expect(report.freeBytes).toBeGreaterThan(0);

        const stats = history.stats();
        expect(stats.batches).toBe(10);
        expect(stats.total).toBe(30);
        expect(stats.agents.map((a) => a.agent)).toEqual(['new-a', 'new-b', 'new-c']);
        // A second run finds nothing left to do.
        expect(await history.cleanup({ olderThan: '30d', now: NOW })).toMatchObject({ batchesRemoved: 0, agentRunsRemoved: 0 });
      } finally {
        await history.close();
      }
      const db = new Database(file, { readonly: true });
      try {
        expect(db.prepare('SELECT min(started_at) FROM batches').pluck().get()).toBeGreaterThanOrEqual(NOW - 30 * DAY_MS);
        expect(db.prepare('SELECT count(*) FROM agent_runs a LEFT JOIN batches b ON b.id = a.batch_id WHERE b.id IS NULL').pluck().get()).toBe(0);
      } finally {
        db.close();
      }
    });
  });

  it('with vacuum, gives the space back to the file system', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'v.db');
      const rows = Array.from({ length: 20 }, (_, i) => agentRow(`agent-${i}`, i, 5));
      writeEntries(
        file,
        Array.from({ length: 300 }, (_, i) => entry(NOW - 60 * DAY_MS, rows, i)),
      );
      const history = History.open(file);
      try {
        const report = await history.cleanup({ olderThan: '30d', now: NOW, vacuum: true });
        expect(report).toMatchObject({ batchesRemoved: 300, agentRunsRemoved: 6000, vacuumed: true, integrity: 'ok' });
        expect(report.bytesAfter).toBeLessThan(report.bytesBefore);
        expect(report.bytesReclaimed).toBe(report.bytesBefore - report.bytesAfter);
        expect(report.freeBytes).toBe(0);
      } finally {
        await history.close();
      }
    });
  });

  it('stops between chunks when its signal aborts, keeping what it deleted', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 's.db');
      seed(file);
      const history = History.open(file);
      try {
        const controller = new AbortController();
        const running = history.cleanup({ olderThan: '30d', now: NOW, chunkSize: 1, signal: controller.signal });
        controller.abort();
        const report = await running;
        expect(report.complete).toBe(false);
        expect(report.integrity).toBe('skipped');
        expect(report.agentRunsRemoved).toBeLessThan(120);
        expect(history.stats().total).toBe(150 - report.agentRunsRemoved);
      } finally {
        await history.close();
      }
    });
  });

  it('checks the file first and changes nothing when an index page is damaged (sqlite3 CLI agrees, counts unchanged)', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'damaged.db');
      // Enough rows that the index has pages of its own.
      const rows = Array.from({ length: 20 }, (_, i) => agentRow(`agent-${i}`, i, 5));
      writeEntries(
        file,
        Array.from({ length: 60 }, (_, i) => entry(NOW - 60 * DAY_MS + i, rows, i)),
      );
      expect(await sqlite3(file, 'PRAGMA integrity_check')).toBe('ok');
      await damageIndex(file, 'agent_runs_started_at');
      const before = sha256(file);
      // The real sqlite3 sees the damage, and still counts every row through the table itself.
      expect(await sqlite3(file, 'PRAGMA integrity_check')).not.toBe('ok');
      expect(await sqlite3(file, 'SELECT count(*) FROM agent_runs NOT INDEXED')).toBe('1200');

      const history = History.openForCleanup({ path: file, mustExist: true });
      let report: Awaited<ReturnType<typeof history.cleanup>>;
      try {
        report = await history.cleanup({ olderThan: '30d', now: NOW });
      } finally {
        await history.close();
      }
      expect(report).toMatchObject({ batchesRemoved: 0, agentRunsRemoved: 0, chunks: 0, complete: false, vacuumed: false });
      expect(Array.isArray(report.integrity) && report.integrity.length).toBeGreaterThan(0);
      // Not a byte changed: no delete, no migration, no checkpoint of anything.
      expect(sha256(file)).toBe(before);
      expect(await sqlite3(file, 'SELECT count(*) FROM agent_runs NOT INDEXED')).toBe('1200');
      expect(await sqlite3(file, 'SELECT count(*) FROM batches')).toBe('60');
    });
  });

  it('deletes whole batches per transaction: a batch never loses its runs without going itself', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'whole.db');
      // Batches of 5 agent runs; a chunk size of 7 fits one batch at a time.
      writeEntries(
        file,
        Array.from({ length: 9 }, (_, i) =>
          entry(
            NOW - 60 * DAY_MS + i,
            Array.from({ length: 5 }, (_, j) => agentRow(`a${j}`, j, 5)),
            i,
          ),
        ),
      );
      const history = History.open(file);
      const controller = new AbortController();
      try {
        const running = history.cleanup({ olderThan: '30d', now: NOW, chunkSize: 7, signal: controller.signal });
        controller.abort();
        const stopped = await running;
        expect(stopped.complete).toBe(false);
        expect(stopped.agentRunsRemoved).toBe(stopped.batchesRemoved * 5);
        const done = await history.cleanup({ olderThan: '30d', now: NOW, chunkSize: 7 });
        expect(done).toMatchObject({
          complete: true,
          batchesRemoved: 9 - stopped.batchesRemoved,
          agentRunsRemoved: (9 - stopped.batchesRemoved) * 5,
          chunks: 9 - stopped.batchesRemoved,
        });
      } finally {
        await history.close();
      }
      expect(await sqlite3(file, 'SELECT count(*) FROM batches b WHERE NOT EXISTS (SELECT 1 FROM agent_runs a WHERE a.batch_id = b.id)')).toBe('0');
      expect(await sqlite3(file, 'PRAGMA integrity_check')).toBe('ok');
    });
  });

  it('rejects a bad olderThan with the option named', async () => {
    await withTempDir(async (dir) => {
      const history = History.open(path.join(dir, 'x.db'));
      try {
        await expect(history.cleanup({ olderThan: 'a month' })).rejects.toMatchObject({ code: 'E_CONFIG', message: expect.stringContaining('`olderThan`') });
      } finally {
        await history.close();
      }
    });
  });
});
