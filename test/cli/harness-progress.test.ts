/** The harness's progress figures and summary line: rate over a window, ETA, the words of the one line. */
import { describe, expect, it } from 'vitest';
import { duration, progressFigures, RateWindow, summaryLine } from '../../src/cli/harness-progress.ts';
import type { HarnessProgress, HarnessSummary } from '../../src/harness/types.ts';

const progress = (p: Partial<HarnessProgress>): HarnessProgress => ({
  total: 100,
  skipped: 0,
  done: 0,
  succeeded: 0,
  failed: 0,
  running: 0,
  starting: 0,
  retrying: 0,
  attempts: 0,
  elapsedMs: 0,
  ...p,
});

describe('harness progress', () => {
  it('measures the rate over the last window only', () => {
    const w = new RateWindow(10_000);
    expect(w.mark(0, 0)).toBe(0);
    expect(w.mark(1000, 50)).toBe(50);
    // A stall: the rate falls as the window moves past the busy second.
    expect(w.mark(11_000, 50)).toBeCloseTo(0, 5);
    expect(w.mark(12_000, 60)).toBeCloseTo(10 / 11, 5);
  });

  it('gives the ETA from the runs left and the rate, none while there is no rate', () => {
    expect(progressFigures(progress({ done: 40, skipped: 10 }), 10)).toEqual({ rate: 10, left: 50, etaMs: 5000 });
    expect(progressFigures(progress({ done: 0 }), 0).etaMs).toBeUndefined();
    expect(progressFigures(progress({ done: 100 }), 0).etaMs).toBe(0);
  });

  it('says it all in one line', () => {
    const s = {
      runName: 'n',
      total: 10,
      succeeded: 5,
      failed: 1,
      interrupted: 2,
      notStarted: 1,
      skipped: 1,
      previouslySucceeded: 1,
      attempts: 9,
      retried: 1,
      wallMs: 61_500,
      runsPerSecond: 0.1,
      halted: { by: 'fail', when: 'soon', reason: 'soon,fail=1' },
    } as unknown as HarnessSummary;
    expect(summaryLine(s)).toBe(
      'run "n": 10 runs: 5 succeeded, 1 failed, 2 interrupted, 1 not started, 1 skipped (1 succeeded before); 9 attempts, 1 retried; wall 1 m 01 s, 0.1 runs/s; halted (soon): soon,fail=1',
    );
    expect([duration(850), duration(12_300), duration(3_725_000)]).toEqual(['850 ms', '12.3 s', '1 h 02 m']);
  });
});
