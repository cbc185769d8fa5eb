/**
 * A batch aborted through its AbortSignal while agents are queued, building,
 * spawning and running: every child started is killed with its whole tree,
 * every outcome says `aborted`, the iterator ends, nothing is left running.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Spawner } from '../../src/spawner.ts';
import type { AgentSpec } from '../../src/spec/schema.ts';
import { agent, finish, newTag, nodeAgent, pidsOf, READY, settleLeftovers } from './helpers.ts';

/** Agents that never end on their own, of every stubbornness, each with a prompt built on a worker. */
function stubbornAgents(tag: string, n: number): AgentSpec[] {
  const kinds = [
    nodeAgent('stay-alive.mjs', tag),
    nodeAgent('ignore-sigterm.mjs', tag),
    nodeAgent('fork-grandchild.mjs', 'hold', tag),
    nodeAgent('fork-grandchild.mjs', 'quiet', tag),
  ];
  return Array.from({ length: n }, (_, i) => ({
    name: `stubborn-${i}`,
    ...kinds[i % kinds.length]!,
    prompt: { template: `agent {{agent}} of ${n}` },
    ready: READY,
    killGraceMs: 300,
  }));
}

describe.each(['direct', 'helper'] as const)('abort (launcher %s)', (launcher) => {
  // One spawner for the three tests: an aborted batch must leave it fit for the next.
  let spawner: Spawner;
  beforeAll(() => {
    spawner = new Spawner({ workers: 1, launcher });
  });
  afterAll(async () => {
    await spawner.close();
  });

  it('aborting mid-spawn kills every started tree, reports every agent aborted, and ends the iterator', async () => {
    const tag = newTag();
    const controller = new AbortController();
    // 'quick' is first in line, so it exits before the abort and stays a success.
    const batch = spawner.spawnBatch([{ name: 'quick', command: '/bin/true' }, ...stubbornAgents(tag, 15)], { signal: controller.signal, concurrency: 6 });
    // Abort once one agent of each kind is up (grandchildren started): the others are then queued, building or spawning.
    const kindsUp = new Set<number>();
    const done = await finish(batch, (o) => {
      if (!o.ok || !o.name.startsWith('stubborn')) return;
      kindsUp.add(Number(o.name.slice('stubborn-'.length)) % 4);
      if (kindsUp.size === 4) controller.abort();
    });

    expect(done.outcomes).toHaveLength(16);
    expect(agent(done, 'quick').result.ok).toBe(true);
    let spawnedThenAborted = 0;
    for (const { outcome, result } of done.byName.values()) {
      if (outcome.name === 'quick') continue;
      if (outcome.ok) {
        spawnedThenAborted++;
      } else {
        expect(outcome.stage, outcome.name).toBe('aborted');
        expect(outcome.error?.code).toBe('E_ABORTED');
        expect(outcome.error?.message).toContain(`"${outcome.name}"`);
      }
      expect(result.ok, outcome.name).toBe(false);
      expect(result.stage, outcome.name).toBe('aborted');
      expect(result.error?.code, outcome.name).toBe('E_ABORTED');
      expect(result.error?.agent).toBe(outcome.name);
      expect(result.error?.message).toMatch(new RegExp(`^Agent "${outcome.name}" was stopped .*: the batch was aborted$`));
    }
    // With a concurrency of 6 the abort found agents both up and not yet started: at most 6 can have been up.
    expect(spawnedThenAborted).toBeGreaterThanOrEqual(4);
    expect(spawnedThenAborted).toBeLessThanOrEqual(6);

    const summary = await batch.summary;
    expect(summary.total).toBe(16);
    expect(await settleLeftovers({ tag, pgids: pidsOf(done) })).toEqual([]);
  });

  it('a signal aborted before the batch starts spawns nothing', async () => {
    const tag = newTag();
    const before = spawner.metrics.snapshot().totals.spawn;
    const done = await finish(spawner.spawnBatch(stubbornAgents(tag, 4), { signal: AbortSignal.abort() }));
    expect(done.outcomes).toHaveLength(4);
    for (const o of done.outcomes) {
      expect(o.ok).toBe(false);
      expect(o.stage).toBe('aborted');
      expect(o.error?.code).toBe('E_ABORTED');
      expect(o.pid).toBeUndefined();
    }
    const after = spawner.metrics.snapshot().totals.spawn;
    expect({ ok: after.ok - before.ok, failed: after.failed - before.failed }).toEqual({ ok: 0, failed: 4 });
    expect(await settleLeftovers({ tag })).toEqual([]);
  });

  it("one agent's abort() stops only its tree", async () => {
    const tag = newTag();
    const batch = spawner.spawnBatch([
      // 'quiet': the grandchild holds no pipe of ours, so only the kill of the whole group can reach it.
      { name: 'victim', ...nodeAgent('fork-grandchild.mjs', 'quiet', tag), ready: READY, killGraceMs: 300 },
      { name: 'bystander', ...nodeAgent('echo-sha256.mjs'), prompt: { template: 'still here' } },
    ]);
    const done = await finish(batch, (o) => {
      if (o.name === 'victim') o.abort();
    });
    const victim = agent(done, 'victim').result;
    expect(victim.stage).toBe('aborted');
    expect(victim.error?.code).toBe('E_ABORTED');
    expect(agent(done, 'bystander').result.ok).toBe(true);
    expect(await settleLeftovers({ tag, pgids: pidsOf(done) })).toEqual([]);
  });
});
