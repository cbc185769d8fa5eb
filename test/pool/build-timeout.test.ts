import { describe, expect, it } from 'vitest';
import { agentScript, FIXTURES, NODE, withSpawner } from '../support/fixtures.ts';

const agent = (name: string) => ({ name, command: NODE, args: [agentScript('echo-sha256.mjs')], prompt: { template: `for ${name}` } });

describe('build timeout', () => {
  it('stops a build stuck in a loop, fails only that agent, and the pool keeps working', async () => {
    // 10 s: the timeout counts the queue wait, and one of the next batch's builds waits for the replacement
    // worker to start (tokenizer, builder). Beside three busy loops that start took ~10 s while workers booted
    // niced (a clean-clone CI run timed a build out); they now boot at full priority and it takes ~2 s.
    await withSpawner({ workers: 2, builder: `${FIXTURES}builders/spin.mjs`, buildTimeoutMs: 10_000 }, async (spawner) => {
      const batch = spawner.spawnBatch([agent('spin'), agent('fine')]);
      const results = await batch.results;
      expect(results[0]).toMatchObject({ name: 'spin', ok: false, stage: 'build' });
      expect(results[0]!.error).toMatchObject({ code: 'E_BUILD_TIMEOUT', agent: 'spin' });
      expect(results[0]!.error!.message).toContain('buildTimeoutMs 10000');
      expect(results[1]).toMatchObject({ name: 'fine', ok: true });
      // The stuck worker was replaced: both workers build again.
      const again = await spawner.spawnBatch([agent('a'), agent('b'), agent('c')]).results;
      expect(again.map((r) => [r.name, r.ok, r.error?.message])).toEqual([
        ['a', true, undefined],
        ['b', true, undefined],
        ['c', true, undefined],
      ]);
    });
  });

  it('rejects a bad buildTimeoutMs', async () => {
    const { Spawner } = await import('../../src/index.ts');
    expect(() => new Spawner({ buildTimeoutMs: 0 })).toThrow(/buildTimeoutMs.*`0`/);
  });
});
