/**
 * `spawner.close()` while a batch is in flight stops it like an abort, with
 * the code E_CLOSED, and leaves nothing running; `spawnBatch()` after
 * `close()` is a clear error.
 */
import { describe, expect, it } from 'vitest';
import { SpawnError } from '../../src/errors.ts';
import { Spawner } from '../../src/spawner.ts';
import { finish, newTag, nodeAgent, pidsOf, READY, settleLeftovers } from './helpers.ts';

describe('close', () => {
  it('close() during a batch stops every agent with E_CLOSED and leaves nothing running', async () => {
    const tag = newTag();
    const spawner = new Spawner({ workers: 1 });
    let closing: Promise<void> | undefined;
    try {
      const agents = Array.from({ length: 10 }, (_, i) => ({
        name: `agent-${i}`,
        ...(i % 2 === 0 ? nodeAgent('stay-alive.mjs', tag) : nodeAgent('fork-grandchild.mjs', 'quiet', tag)),
        prompt: { template: 'prompt {{agent}}' },
        ready: READY,
        killGraceMs: 300,
      }));
      const batch = spawner.spawnBatch(agents, { concurrency: 4 });
      const kindsUp = new Set<number>();
      const done = await finish(batch, (o) => {
        // Close once an agent of each kind is up (a grandchild started): the rest are building, spawning or waiting for a slot.
        if (o.ok) kindsUp.add(o.index % 2);
        if (kindsUp.size === 2) closing ??= spawner.close();
      });
      await closing;

      expect(done.outcomes).toHaveLength(10);
      let notStarted = 0;
      for (const o of done.outcomes) {
        const r = done.results[o.index]!;
        if (!o.ok) {
          notStarted++;
          expect(o.stage, o.name).toBe('aborted');
          expect(o.error?.code, o.name).toBe('E_CLOSED');
        }
        expect(r.stage, o.name).toBe('aborted');
        expect(r.error?.code, o.name).toBe('E_CLOSED');
        expect(r.error).toBeInstanceOf(SpawnError);
        expect((r.error as SpawnError).isAborted).toBe(true);
        expect(r.error?.message).toMatch(new RegExp(`^Agent "${o.name}" was stopped .*: the spawner was closed$`));
      }
      expect(notStarted).toBeGreaterThan(0);
      expect(await settleLeftovers({ tag, pgids: pidsOf(done) })).toEqual([]);
      const snap = spawner.metrics.snapshot();
      expect(snap.invalid).toBe(0);
      expect(snap.totals.spawn.ok + snap.totals.spawn.failed).toBe(10);
    } finally {
      await spawner.close();
    }
  });

  it('spawnBatch() after close() throws E_CLOSED; close() is idempotent', async () => {
    const spawner = new Spawner({ workers: 1 });
    await Promise.all([spawner.close(), spawner.close()]);
    await spawner.close();
    let thrown: unknown;
    try {
      spawner.spawnBatch([{ name: 'late', command: '/bin/true' }]);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SpawnError);
    expect((thrown as SpawnError).code).toBe('E_CLOSED');
    expect((thrown as SpawnError).message).toMatch(/after close\(\)/);
  });

  it('close() right after spawnBatch(), before any agent started, reports each one', async () => {
    const tag = newTag();
    const spawner = new Spawner({ workers: 1 });
    try {
      const batch = spawner.spawnBatch(
        Array.from({ length: 5 }, (_, i) => ({ name: `early-${i}`, ...nodeAgent('stay-alive.mjs', tag), prompt: { template: 'x' }, ready: READY })),
      );
      const closing = spawner.close();
      const done = await finish(batch);
      await closing;
      for (const r of done.results) {
        expect(r.stage, r.name).toBe('aborted');
        expect(r.error?.code).toBe('E_CLOSED');
      }
      expect(await settleLeftovers({ tag, pgids: pidsOf(done) })).toEqual([]);
    } finally {
      await spawner.close();
    }
  });
});
