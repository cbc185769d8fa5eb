import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { History } from '../../src/history/history.ts';
import { CleanupSchedule } from '../../src/history/schedule.ts';
import type { CleanupReport } from '../../src/history/types.ts';
import { withTempDir } from '../support/fixtures.ts';
import { agentRow, DAY_MS, entry, writeEntries } from './fixtures.ts';

function fakeReport(): CleanupReport {
  return {
    cutoff: '',
    batchesRemoved: 0,
    agentRunsRemoved: 0,
    chunks: 0,
    complete: true,
    bytesBefore: 0,
    bytesAfter: 0,
    bytesReclaimed: 0,
    freeBytes: 0,
    integrity: 'ok',
    vacuumed: false,
  };
}

describe('scheduleCleanup', () => {
  it('never overlaps itself, even when a run outlasts the period', async () => {
    let active = 0;
    let maxActive = 0;
    let onFifth!: () => void;
    const fifth = new Promise<void>((resolve) => (onFifth = resolve));
    // Each run spans several timer turns of its own: a period of 1 ms elapses many times during one run.
    const slowRun = async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      for (let i = 0; i < 5; i++) await delay(2);
      active--;
      return fakeReport();
    };
    let results = 0;
    const schedule = new CleanupSchedule(slowRun, { olderThan: '1d', every: 1, runNow: true, onResult: () => ++results === 5 && onFifth() });
    try {
      await fifth;
      expect(maxActive).toBe(1);
      expect(schedule.runs).toBeGreaterThanOrEqual(4);
    } finally {
      await schedule.stop();
    }
    expect(schedule.running).toBe(false);
    expect(schedule.stopped).toBe(true);
    expect(active).toBe(0);
  });

  it('goes on after a failed run and reports the error', async () => {
    const errors: Error[] = [];
    let calls = 0;
    let onDone!: () => void;
    const done = new Promise<void>((resolve) => (onDone = resolve));
    const schedule = new CleanupSchedule(
      async () => {
        calls++;
        if (calls === 1) throw new Error('disk on fire');
        onDone();
        return fakeReport();
      },
      // No onResult on purpose: runs must happen whether or not anyone listens to them.
      { olderThan: '1d', every: 1, runNow: true, onError: (e) => errors.push(e) },
    );
    try {
      await done;
      expect(errors.map((e) => e.message)).toEqual(['disk on fire']);
    } finally {
      await schedule.stop();
    }
  });

  it('runs real cleanups on a history, and close() stops it', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'h.db');
      writeEntries(
        file,
        Array.from({ length: 30 }, (_, i) => entry(Date.now() - 40 * DAY_MS, [agentRow('a', 0, 5), agentRow('b', 1, 5)], i)),
      );
      const history = History.open(file);
      const reports: CleanupReport[] = [];
      let onFirst!: () => void;
      const first = new Promise<void>((resolve) => (onFirst = resolve));
      const schedule = history.scheduleCleanup({ olderThan: '30d', every: '1d', runNow: true, chunkSize: 5, onResult: (r) => reports.push(r) && onFirst() });
      expect(schedule.everyMs).toBe(DAY_MS);
      try {
        await first;
        expect(reports[0]).toMatchObject({ batchesRemoved: 30, agentRunsRemoved: 60, integrity: 'ok' });
      } finally {
        await history.close();
      }
      expect(schedule.stopped).toBe(true);
      expect(schedule.running).toBe(false);
    });
  });

  it('rejects a period it cannot read', async () => {
    expect(() => new CleanupSchedule(async () => fakeReport(), { olderThan: '1d', every: 'daily' })).toThrow(/`every` option/);
  });
});
