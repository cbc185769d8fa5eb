/**
 * A host whose main thread is busy: once spawnBatch() has returned, the
 * agents must start, and be counted, without the main thread getting a
 * turn. The test blocks the main thread synchronously (Atomics.wait) right
 * after spawnBatch() and looks, before any await, at what happened meanwhile:
 * the agents' own start markers on disk, and the ring's header counters.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AgentSpec } from '../../src/index.ts';
import { withSpawner, withTempDir } from '../support/fixtures.ts';

const BLOCK_MS = 3000;

/** Blocks this thread for `ms`, as a CPU-bound host would: no event-loop turn, no message handled. */
function blockMainThread(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** An agent that writes its own start clock to `marker`, then reads its prompt to the end. */
function markerAgent(name: string, marker: string): AgentSpec {
  return {
    name,
    command: 'sh',
    args: ['-c', 'date +%s%3N > "$0"; cat > /dev/null', marker],
    // ~24 KB of prompt per agent, built on a worker from a template and vars.
    prompt: { template: '{{task}}\n{{body}}', vars: { task: `review part ${name}`, body: `${name} `.repeat(3000) } },
  };
}

describe.each(['direct', 'helper'] as const)('a busy main thread (launcher %s)', (launcher) => {
  it('does not hold back the agents: all 8 start, and are counted, while it is blocked', async () => {
    await withTempDir(async (dir) => {
      await withSpawner({ launcher, workers: 2 }, async (spawner) => {
        const markers = Array.from({ length: 8 }, (_, i) => path.join(dir, `agent-${i}`));
        const spawnedBefore = spawner.metrics.counters().totals.spawn.ok;
        const calledAt = Date.now();
        const batch = spawner.spawnBatch(markers.map((m, i) => markerAgent(`a${i}`, m)));
        blockMainThread(BLOCK_MS);
        // Before any await: what the launch side did while this thread was blocked.
        const wokeAt = Date.now();
        const started = markers.filter((m) => existsSync(m) && readFileSync(m, 'utf8').trim() !== '');
        const spawnedWhileBlocked = spawner.metrics.counters().totals.spawn.ok - spawnedBefore;

        expect(started).toHaveLength(8);
        expect(spawnedWhileBlocked).toBe(8);
        for (const m of markers) {
          const at = Number(readFileSync(m, 'utf8'));
          expect(at).toBeGreaterThanOrEqual(calledAt);
          expect(at).toBeLessThan(wokeAt);
        }
        const results = await batch.results;
        expect(results.map((r) => [r.name, r.ok])).toEqual(results.map((r) => [r.name, true]));
      });
    });
  });

  it('kills an agent past its timeout while the main thread is blocked', async () => {
    await withSpawner({ launcher, workers: 1 }, async (spawner) => {
      const before = spawner.metrics.counters().totals.exit.failed;
      const batch = spawner.spawnBatch([{ name: 'hangs', command: 'sleep', args: ['30'], timeoutMs: 500, killGraceMs: 100 }]);
      blockMainThread(BLOCK_MS);
      // The EXIT record was written by the launch side when the timeout killed it.
      expect(spawner.metrics.counters().totals.exit.failed - before).toBe(1);
      const [result] = await batch.results;
      expect([result!.stage, result!.error?.code]).toEqual(['timeout', 'E_TIMEOUT']);
      // Killed about 500 ms in, not when the main thread woke 3 s in.
      expect(result!.durationMs).toBeLessThan(BLOCK_MS - 1000);
    });
  });
});
