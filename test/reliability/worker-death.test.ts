/**
 * A build worker that dies mid-build, by `process.exit` or by running over
 * its heap limit: the agent fails at `build` with E_BUILD_WORKER, the other
 * agents run, Piscina replaces the worker and the next batch works. Workers
 * that cannot even start (a heap limit below what loading takes) leave no
 * worker at all: builds then fail at once, naming the limit.
 */
import { describe, expect, it } from 'vitest';
import type { Spawner } from '../../src/spawner.ts';
import type { AgentSpec } from '../../src/spec/schema.ts';
import { agent, builderUrl, finish, nodeAgent, withSpawner } from './helpers.ts';

function good(prefix: string, n: number): AgentSpec[] {
  return Array.from({ length: n }, (_, i) => ({ name: `${prefix}-${i}`, ...nodeAgent('echo-sha256.mjs'), prompt: { template: `prompt ${prefix} ${i}` } }));
}

async function expectDeathContained(spawner: Spawner, killer: string): Promise<void> {
  const done = await finish(spawner.spawnBatch([...good('before', 3), { name: killer, command: '/bin/true', prompt: { template: 'x' } }]));
  const { outcome, result } = agent(done, killer);
  expect(outcome.ok).toBe(false);
  expect(outcome.stage).toBe('build');
  expect(outcome.error?.code).toBe('E_BUILD_WORKER');
  expect(outcome.error?.agent).toBe(killer);
  expect(outcome.error?.message).toContain(`"${killer}": the build worker died`);
  expect(result.stage).toBe('build');
  for (let i = 0; i < 3; i++) {
    const good = agent(done, `before-${i}`);
    expect(good.result.ok, `before-${i}`).toBe(true);
    expect(good.result.stdout.split(' ')[0]).toBe(good.outcome.prompt?.sha256);
  }

  // The pool replaced the worker: a whole new batch builds on it.
  const next = await finish(spawner.spawnBatch(good('after', 4)));
  for (const { outcome: o, result: r } of next.byName.values()) {
    expect(o.ok, o.name).toBe(true);
    expect(r.ok, o.name).toBe(true);
    expect(o.prompt?.builtOnThread).toBeGreaterThan(0);
  }
  const snap = spawner.metrics.snapshot();
  expect(snap.invalid).toBe(0);
  // The dead worker never wrote its BUILD record; every other one is there.
  expect(snap.totals.build).toEqual({ ok: 7, failed: 0 });
  expect(snap.totals.spawn).toEqual({ ok: 7, failed: 1 });
}

describe('worker death', () => {
  it('process.exit in the builder fails that agent at build; the next batch works', async () => {
    await withSpawner({ workers: 1, builder: builderUrl('exit-worker.mjs') }, (spawner) => expectDeathContained(spawner, 'crash'));
  });

  // 64 MB: the tokenizer alone takes about 23 MB of a worker's heap, and at 32 the worker could die
  // starting rather than in the bomb's build.
  it('a builder over the worker heap limit fails that agent at build; the next batch works', async () => {
    await withSpawner({ workers: 1, builder: builderUrl('heap-bomb.mjs'), workerResourceLimits: { maxOldGenerationSizeMb: 64 } }, (spawner) =>
      expectDeathContained(spawner, 'bomb'),
    );
  });

  // 4 MB: below what a worker needs to load, so every worker dies starting, and Piscina replaces none after
  // the first that dies before it is ready. buildTimeoutMs far past the test's own timeout: builds that
  // waited for a worker instead of failing would fail the test.
  it('workers that die starting fail every build at once, naming the limit; agents without a prompt still run', async () => {
    await withSpawner({ workers: 2, workerResourceLimits: { maxOldGenerationSizeMb: 4 }, buildTimeoutMs: 600_000 }, async (spawner) => {
      const batch = (tag: string) => [
        { name: `${tag}-1`, command: '/bin/true', prompt: { template: 'one' } },
        { name: `${tag}-2`, command: '/bin/true', prompt: { template: 'two' } },
        { name: `${tag}-plain`, command: '/bin/true' },
      ];
      for (const tag of ['first', 'second']) {
        const done = await finish(spawner.spawnBatch(batch(tag)));
        for (const name of [`${tag}-1`, `${tag}-2`]) {
          const { outcome, result } = agent(done, name);
          expect({ ok: outcome.ok, stage: outcome.stage, code: outcome.error?.code }, name).toEqual({ ok: false, stage: 'build', code: 'E_BUILD_WORKER' });
          expect(outcome.error?.message).toContain(`Agent "${name}": no build worker is left`);
          expect(outcome.error?.message).toContain('workerResourceLimits');
          expect(result.ok).toBe(false);
        }
        expect(agent(done, `${tag}-plain`).result.ok).toBe(true);
      }
    });
  });
});
