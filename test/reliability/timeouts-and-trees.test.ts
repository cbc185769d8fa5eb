/**
 * Agents that hang past `timeoutMs`: a plain one, one that ignores SIGTERM,
 * one that forked a grandchild (holding our pipe, or not), and one that
 * exits leaving its grandchild behind. Afterwards /proc must show nothing of
 * any of those trees, not only the agent's own pid. Run through both
 * launchers: the tree is killed by whichever process started it.
 */
import { describe, expect, it } from 'vitest';
import { agent, finish, newTag, nodeAgent, READY, readyPids, settleLeftovers, withSpawner } from './helpers.ts';

// Long enough that a slow, shared machine still starts node and the
// grandchild before it fires (the grandchild's pid must be printed first).
const TIMEOUT_MS = 4000;

describe.each(['direct', 'helper'] as const)('timeouts and process trees (launcher %s)', (launcher) => {
  it('kills every timed-out tree, grandchildren included, and the rest succeed', async () => {
    const tag = newTag();
    await withSpawner({ workers: 1, launcher }, async (spawner) => {
      const done = await finish(
        spawner.spawnBatch([
          { name: 'hangs', ...nodeAgent('stay-alive.mjs', tag), timeoutMs: TIMEOUT_MS, ready: READY },
          { name: 'ignores-sigterm', ...nodeAgent('ignore-sigterm.mjs', tag), timeoutMs: TIMEOUT_MS, killGraceMs: 200, ready: READY },
          { name: 'forks-holding', ...nodeAgent('fork-grandchild.mjs', 'hold', tag), timeoutMs: TIMEOUT_MS, killGraceMs: 200, ready: READY },
          { name: 'forks-quiet', ...nodeAgent('fork-grandchild.mjs', 'quiet', tag), timeoutMs: TIMEOUT_MS, killGraceMs: 200, ready: READY },
          { name: 'leaves-grandchild', ...nodeAgent('fork-grandchild.mjs', 'exit', tag) },
          { name: 'quick', command: '/bin/true', timeoutMs: 60_000 },
          { name: 'quick-node', ...nodeAgent('echo-sha256.mjs'), prompt: { template: 'hello' }, timeoutMs: 60_000 },
        ]),
      );

      const grandchildren: number[] = [];
      for (const name of ['hangs', 'ignores-sigterm', 'forks-holding', 'forks-quiet']) {
        const { outcome, result } = agent(done, name);
        expect(outcome.ok, name).toBe(true);
        expect(result.ok, name).toBe(false);
        expect(result.stage, name).toBe('timeout');
        expect(result.timedOut, name).toBe(true);
        expect(result.error?.code, name).toBe('E_TIMEOUT');
        expect(result.error?.agent, name).toBe(name);
        expect(result.error?.message, name).toBe(`Agent "${name}" ran past timeoutMs ${TIMEOUT_MS} and was killed`);
        if (name.startsWith('forks')) grandchildren.push(...readyPids(result.stdout));
      }
      // SIGTERM was ignored: only the SIGKILL after the grace stopped it.
      expect(agent(done, 'ignores-sigterm').result.signal).toBe('SIGKILL');
      expect(agent(done, 'hangs').result.signal).toBe('SIGTERM');

      // Exiting 0 while a grandchild lives on is a success; the grandchild is still cleaned up.
      const leaver = agent(done, 'leaves-grandchild').result;
      expect(leaver.ok).toBe(true);
      grandchildren.push(...readyPids(leaver.stdout));
      expect(grandchildren).toHaveLength(3);

      for (const name of ['quick', 'quick-node']) expect(agent(done, name).result.ok, name).toBe(true);

      const pgids = done.results.map((r) => r.pid).filter((p) => p !== undefined);
      expect(await settleLeftovers({ tag, pgids, pids: grandchildren })).toEqual([]);
    });
  });
});
