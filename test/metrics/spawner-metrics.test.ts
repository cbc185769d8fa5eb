import { describe, expect, it } from 'vitest';
import { exitRecord, spawnRecord, type RecordHeader } from '../../src/metrics/record.ts';
import { SpawnerMetrics, ringOf, type NamedRecord } from '../../src/metrics/spawner-metrics.ts';

describe('SpawnerMetrics', () => {
  it('keeps its ring out of reach: no `ring` member, the counters through counters()', () => {
    const metrics = new SpawnerMetrics({ runId: 'test' });
    // @ts-expect-error the ring is private: a user must not be able to write records
    expect(metrics.ring).toBeUndefined();
    expect(Object.keys(metrics)).not.toContain('ring');
    ringOf(metrics).write(spawnRecord({ ...header(1), spawnMs: 12, queueMs: 3 }));
    expect(metrics.counters()).toMatchObject({ written: 1, read: 0, pending: 1, totals: { spawn: { ok: 1, failed: 0 } } });
    metrics.drain();
    expect(metrics.counters()).toMatchObject({ written: 1, read: 1, pending: 0 });
  });

  it('hands subscribers each record decoded, with its agent name and error code', () => {
    const metrics = new SpawnerMetrics({ runId: 'test' });
    const batchId = metrics.beginBatch(['alpha', 'beta']);
    const seen: NamedRecord[] = [];
    metrics.subscribe((r) => seen.push(r));
    const ring = ringOf(metrics);
    ring.write(spawnRecord({ ...header(metrics.names.idOf('alpha'), batchId), spawnMs: 12, queueMs: 3 }));
    ring.write(exitRecord({ ...header(metrics.names.idOf('beta'), batchId), ok: false, errorCode: 12, runMs: 40, exitCode: null }));
    expect(metrics.drain()).toBe(2);
    expect(seen).toEqual([
      { ...header(metrics.names.idOf('alpha'), batchId), stage: 'spawn', spawnMs: 12, queueMs: 3, agent: 'alpha', error: undefined },
      { ...header(metrics.names.idOf('beta'), batchId), ok: false, errorCode: 12, stage: 'exit', runMs: 40, exitCode: null, agent: 'beta', error: 'E_SIGNAL' },
    ]);
    // The window holds each stage's own time: the spawn latency, not the queue wait.
    expect(metrics.snapshot()).toMatchObject({ count: 1, maxMs: 12, run: { count: 1, samples: 0 } });
  });
});

function header(agentId: number, batchId = 1): RecordHeader {
  return { ok: true, errorCode: 0, agentId, batchId, writerThreadId: 0, pid: 4242, timestamp: 1.7e12 };
}
