import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openHistoryDatabase } from '../../src/history/database.ts';
import { HistoryWriter } from '../../src/history/store.ts';
import { withTempDir } from '../helpers.ts';
import { agentRow, entry } from './fixtures.ts';

describe('HistoryWriter', () => {
  it('keeps its rows when a flush fails (lock held past the busy timeout) and writes them on the next one', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'h.db');
      const db = openHistoryDatabase(file, { busyTimeoutMs: 20 });
      const other = new Database(file);
      try {
        const writer = new HistoryWriter(db, file, { flushIntervalMs: 3_600_000 });
        writer.add(entry(Date.now(), [agentRow('a', 0, 5), agentRow('b', 1, null)], 1));
        writer.add(entry(Date.now(), [agentRow('a', 0, 6)], 2));
        // Another connection holds the write lock.
        other.exec('BEGIN IMMEDIATE');
        expect(() => writer.flush()).toThrow(expect.objectContaining({ code: 'E_HISTORY_IO', sqliteCode: expect.stringMatching(/^SQLITE_BUSY/) }));
        expect(writer.pending).toBe(2);
        expect(writer.written).toEqual({ batches: 0, agents: 0 });
        expect(writer.lastError).toMatchObject({ code: 'E_HISTORY_IO' });
        other.exec('COMMIT');

        writer.flush();
        expect(writer.pending).toBe(0);
        expect(writer.written).toEqual({ batches: 2, agents: 3 });
        expect(writer.lastError).toBeUndefined();
        expect(other.prepare('SELECT count(*) FROM agent_runs').pluck().get()).toBe(3);
        // One transaction for the lot: a failed flush left nothing half-written.
        expect(other.prepare('SELECT count(*) FROM batches').pluck().get()).toBe(2);
      } finally {
        if (other.inTransaction) other.exec('ROLLBACK');
        other.close();
        db.close();
      }
    });
  });
});
