/**
 * waitForRun's second path to the run's end: reading the parent job's state
 * from Redis, for when its completion event never reaches QueueEvents. A
 * queue stand-in plays the job's states; the event path is BullMQ's.
 */
import { describe, expect, it } from 'vitest';
import { polledEnd } from '../../src/fleet/enqueue.ts';

function queueIn(states: string[], job: { returnvalue?: unknown; failedReason?: string } = {}) {
  let reads = 0;
  return {
    get reads() {
      return reads;
    },
    getJob: async (id: string) => {
      expect(id).toBe('r1');
      const state = states[Math.min(reads++, states.length - 1)]!;
      return { getState: async () => state, returnvalue: job.returnvalue, failedReason: job.failedReason ?? '' };
    },
  };
}

describe('polledEnd (waitForRun without the completion event)', () => {
  it('resolves with the run summary once the parent job reads completed', async () => {
    const q = queueIn(['waiting-children', 'active', 'completed'], { returnvalue: { succeeded: 2 } });
    await expect(polledEnd(q, 'r1', new AbortController().signal)).resolves.toEqual({ succeeded: 2 });
    expect(q.reads).toBe(3);
  });

  it('rejects with the failed reason once it reads failed', async () => {
    await expect(polledEnd(queueIn(['failed'], { failedReason: 'child failed' }), 'r1', new AbortController().signal)).rejects.toThrow('child failed');
  });

  it('reads nothing more once aborted (the event came first)', async () => {
    const q = queueIn(['active']);
    const stop = new AbortController();
    let settled = false;
    void polledEnd(q, 'r1', stop.signal).finally(() => (settled = true));
    stop.abort();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect([q.reads, settled]).toEqual([0, false]);
  });
});
