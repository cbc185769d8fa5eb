import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openHistoryDatabase } from '../../src/history/database.ts';
import { HistoryWriter } from '../../src/history/store.ts';
import { withTempDir } from '../support/fixtures.ts';
import { agentRow, entry } from './fixtures.ts';

describe('HistoryWriter', () => {
  it('stores every field of a batch and its agents in its own column', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'h.db');
      const db = openHistoryDatabase(file);
      try {
        const writer = new HistoryWriter(db, file, { flushIntervalMs: 3_600_000 });
        // Every value distinct, so a column written from the wrong field shows.
        const agent = {
          agent: 'a1',
          index: 7,
          ok: false,
          spawned: true,
          stage: 'run',
          errorCode: 'E_EXIT',
          pid: 4321,
          exitCode: 3,
          signal: 'SIGTERM',
          timedOut: true,
          queueMs: 1.5,
          buildMs: 2.5,
          launchMs: 3.5,
          spawnMs: 4.5,
          runMs: 5.5,
          spawnedAt: 1_700_000_000_006,
          exitedAt: 1_700_000_000_007,
        };
        const batch = {
          runId: 'run-x',
          batchSeq: 9,
          host: 'h',
          pid: 55,
          startedAt: 1_700_000_000_000,
          endedAt: 1_700_000_000_100,
          total: 1,
          spawned: 1,
          succeeded: 0,
          failed: 1,
          wallMs: 77.5,
        };
        writer.add({ batch, agents: [agent] });
        writer.flush();
        const b = db.prepare('SELECT * FROM batches').get() as Record<string, unknown>;
        expect(b).toEqual({
          id: b.id,
          run_id: 'run-x',
          batch_seq: 9,
          host: 'h',
          pid: 55,
          started_at: 1_700_000_000_000,
          ended_at: 1_700_000_000_100,
          total: 1,
          spawned: 1,
          succeeded: 0,
          failed: 1,
          wall_ms: 77.5,
        });
        expect(db.prepare('SELECT * FROM agent_runs').get()).toEqual({
          id: expect.any(Number),
          batch_id: b.id,
          agent: 'a1',
          idx: 7,
          started_at: 1_700_000_000_000,
          ok: 0,
          spawned: 1,
          stage: 'run',
          error_code: 'E_EXIT',
          pid: 4321,
          exit_code: 3,
          signal: 'SIGTERM',
          timed_out: 1,
          queue_ms: 1.5,
          build_ms: 2.5,
          launch_ms: 3.5,
          spawn_ms: 4.5,
          run_ms: 5.5,
          spawned_at: 1_700_000_000_006,
          exited_at: 1_700_000_000_007,
          spawn_ms_from: 'build_start',
        });
      } finally {
        db.close();
      }
    });
  });

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
