/**
 * What only the helper launcher has: a second process that can die, a host
 * that can die under it, several helpers to spread launches over, and an
 * environment that must follow the host's.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import type { AgentResult, AgentSpec, SpawnOutcome } from '../../src/index.ts';
import { AutoLauncher } from '../../src/launch/auto-launcher.ts';
import { HelperLauncher } from '../../src/launch/helper/helper-launcher.ts';
import { agentScript, withSpawner } from '../support/fixtures.ts';
import { eventually, parentOf, running, runningInGroup } from '../support/procfs.ts';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const sleeper = (name: string): AgentSpec => ({ name, command: 'sleep', args: ['300'] });

async function spawned(batch: AsyncIterable<SpawnOutcome>): Promise<SpawnOutcome[]> {
  const outcomes: SpawnOutcome[] = [];
  for await (const o of batch) outcomes.push(o);
  return outcomes;
}

function failure(r: { ok: boolean; stage: unknown; error?: { code: string } | undefined }) {
  return { ok: r.ok, stage: r.stage, code: r.error?.code };
}

describe('helper launcher', () => {
  it('starts the helper when the spawner is awaited ready, so the first batch does not pay for it', async () => {
    const launcher = new HelperLauncher({ helpers: 1 });
    await withSpawner({ launcher, workers: 1 }, async (spawner) => {
      expect(launcher.pids).toHaveLength(1);
      const [helper] = launcher.pids;
      const [outcome] = await spawned(spawner.spawnBatch([sleeper('s')]));
      expect(parentOf(outcome!.pid!)).toBe(helper);
    });
  });

  it("'auto' takes the helper at and over its threshold, direct below it", () => {
    const mib = 2 ** 20;
    expect(AutoLauncher.pathFor(128 * mib - 1)).toBe('direct');
    expect(AutoLauncher.pathFor(128 * mib)).toBe('helper');
    expect(AutoLauncher.pathFor(600 * mib, 512 * mib)).toBe('helper');
    expect(AutoLauncher.pathFor(500 * mib, 512 * mib)).toBe('direct');
  });

  it("'auto' starts a helper at ready only for a host over its threshold", async () => {
    const small = new AutoLauncher({ thresholdBytes: Number.MAX_SAFE_INTEGER });
    await withSpawner({ launcher: small, workers: 1 }, async () => {
      expect(small.helperPids).toEqual([]);
    });
    const big = new AutoLauncher({ thresholdBytes: 1 });
    await withSpawner({ launcher: big, workers: 1 }, async (spawner) => {
      expect(big.helperPids).toHaveLength(1);
      const [outcome] = await spawned(spawner.spawnBatch([sleeper('s')]));
      expect(parentOf(outcome!.pid!)).toBe(big.helperPids[0]);
    });
    expect(big.helperPids).toEqual([]);
  });

  it('forks agents from the helper, not from the host', async () => {
    const launcher = new HelperLauncher({ helpers: 1 });
    await withSpawner({ launcher, workers: 1 }, async (spawner) => {
      const [outcome] = await spawned(spawner.spawnBatch([sleeper('s')]));
      expect(launcher.pids).toHaveLength(1);
      expect(parentOf(outcome!.pid!)).toBe(launcher.pids[0]);
      expect(launcher.pids[0]).not.toBe(process.pid);
    });
  });

  it('leaves no agent and no helper behind when the host is killed with SIGKILL', async () => {
    const host = spawn(process.execPath, [fixture('host.mjs').pathname, 'sleep', agentScript('fork-grandchild.mjs')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const [line] = (await once(createInterface({ input: host.stdout! }), 'line')) as [string];
      const pids = JSON.parse(line) as { host: number; helpers: number[]; agents: number[] };
      const [helper] = pids.helpers;
      expect(pids.agents).toHaveLength(2);
      for (const agent of pids.agents) expect(parentOf(agent)).toBe(helper);
      // The tree agent and its grandchild.
      expect(pids.agents.map((a) => runningInGroup(a).length).sort()).toEqual([1, 2]);

      host.kill('SIGKILL');
      await once(host, 'exit');
      await eventually(`helper ${helper} has exited`, () => !running(helper!));
      for (const agent of pids.agents) await eventually(`agent group ${agent} is gone`, () => runningInGroup(agent).length === 0);
    } finally {
      host.kill('SIGKILL');
    }
  });

  it('fails in-flight agents with E_LAUNCHER when the helper dies, kills their trees, and starts a new helper', async () => {
    const launcher = new HelperLauncher({ helpers: 1 });
    await withSpawner({ launcher, workers: 1 }, async (spawner) => {
      const batch = spawner.spawnBatch([
        sleeper('a'),
        { name: 'tree', command: process.execPath, args: [agentScript('fork-grandchild.mjs'), 'quiet'], ready: { stdout: '^ready' } },
      ]);
      const outcomes = await spawned(batch);
      const [helper] = launcher.pids;
      process.kill(helper!, 'SIGKILL');
      const results = await batch.results;
      for (const r of results) {
        expect(failure(r)).toEqual({ ok: false, stage: 'run', code: 'E_LAUNCHER' });
        expect(r.error!.message).toContain(`launch helper (pid ${helper}) was killed by SIGKILL while the agent was running`);
        expect(r.error!.agent).toBe(r.name);
      }
      for (const o of outcomes) await eventually(`agent group ${o.pid} is gone`, () => runningInGroup(o.pid!).length === 0);

      const [next] = await spawner.spawnBatch([{ name: 'after', command: 'sh', args: ['-c', 'echo fine'] }]).results;
      expect(next).toMatchObject({ ok: true, stdout: 'fine\n' });
      expect(launcher.pids).toHaveLength(1);
      expect(launcher.pids[0]).not.toBe(helper);
    });
  });

  it('fails an agent at the spawn stage when its helper dies before starting it', async () => {
    const launcher = new HelperLauncher({ helpers: 1, entry: fixture('silent-helper.mjs') });
    await withSpawner(
      { launcher, workers: 1 },
      async (spawner) => {
        const batch = spawner.spawnBatch([sleeper('waiting')]);
        // The stand-in never answers: kill it once it is up.
        await eventually('the helper has started', () => launcher.pids.length === 1);
        const [helper] = launcher.pids;
        process.kill(helper!, 'SIGTERM');
        const [outcome] = await spawned(batch);
        expect(failure(outcome!)).toEqual({ ok: false, stage: 'spawn', code: 'E_LAUNCHER' });
        expect(outcome!.error!.message).toBe(`Agent "waiting": the launch helper (pid ${helper}) was killed by SIGTERM before the agent started`);
      },
      { ready: false },
    );
  });

  it('kills a helper that does not start in time, so neither ready nor the launches queued on it wait for ever', async () => {
    const launcher = new HelperLauncher({ helpers: 1, entry: fixture('silent-helper.mjs'), startTimeoutMs: 300 });
    await withSpawner({ launcher, workers: 1 }, async (spawner) => {
      // ready settled (withSpawner awaited it) although the helper never said hello.
      const [result] = await spawner.spawnBatch([sleeper('stuck')]).results;
      expect(failure(result!)).toEqual({ ok: false, stage: 'spawn', code: 'E_LAUNCHER' });
      expect(result!.error!.message).toMatch(
        /^Agent "stuck": the launch helper \(pid \d+\) was killed \(SIGKILL\) because it did not start within 300 ms, before the agent started$/,
      );
    });
  });

  it.each([
    ['exit-at-once.mjs', /the launch helper \(pid \d+\) exited with code 3 before the agent started/],
    ['garbage-helper.mjs', /the launch helper \(pid \d+\) was killed \(SIGKILL\) because it sent bad data \(.+\), before the agent started/],
  ])('fails launches with E_LAUNCHER when the helper is broken (%s)', async (entry, message) => {
    const launcher = new HelperLauncher({ helpers: 1, entry: fixture(entry) });
    await withSpawner(
      { launcher, workers: 1 },
      async (spawner) => {
        const results: AgentResult[] = await spawner.spawnBatch([sleeper('x')]).results;
        expect(failure(results[0]!)).toEqual({ ok: false, stage: 'spawn', code: 'E_LAUNCHER' });
        expect(results[0]!.error!.message).toMatch(message);
      },
      { ready: false },
    );
  });

  it('sends launches to a started helper rather than wait for a new one, and spreads them once several are up', async () => {
    const launcher = new HelperLauncher({ helpers: 2 });
    await withSpawner(
      { launcher, workers: 1 },
      async (spawner) => {
        // Cold: the first helper is still starting, so both launches queue on it and no second start is begun.
        const first = await spawned(spawner.spawnBatch([sleeper('a'), sleeper('b')]));
        expect(launcher.pids).toHaveLength(1);
        expect(first.map((o) => parentOf(o.pid!))).toEqual([launcher.pids[0], launcher.pids[0]]);

        await launcher.warmUp();
        expect(launcher.pids).toHaveLength(2);
        const next = await spawned(spawner.spawnBatch([sleeper('c'), sleeper('d'), sleeper('e'), sleeper('f')]));
        expect(new Set(next.map((o) => parentOf(o.pid!)))).toEqual(new Set(launcher.pids));
      },
      { ready: false },
    );
  });

  it('gives agents the host environment as it is at launch time', async () => {
    const key = `SPAWNPOOL_TEST_${process.pid}`;
    const agent: AgentSpec = { name: 'env', command: 'sh', args: ['-c', `printf %s "\${${key}-unset}"`] };
    await withSpawner({ launcher: 'helper', workers: 1 }, async (spawner) => {
      const stdout = async () => (await spawner.spawnBatch([agent]).results)[0]!.stdout;
      try {
        expect(await stdout()).toBe('unset');
        process.env[key] = 'set later';
        expect(await stdout()).toBe('set later');
      } finally {
        delete process.env[key];
      }
      expect(await stdout()).toBe('unset');
    });
  });

  it('stops its helpers on close', async () => {
    const launcher = new HelperLauncher({ helpers: 2 });
    let helpers: number[] = [];
    let outcomes: SpawnOutcome[] = [];
    await withSpawner({ launcher, workers: 1 }, async (spawner) => {
      await launcher.warmUp();
      outcomes = await spawned(spawner.spawnBatch([sleeper('a'), sleeper('b')]));
      helpers = launcher.pids;
    });
    expect(helpers).toHaveLength(2);
    expect(outcomes).toHaveLength(2);
    for (const pid of helpers) expect(running(pid)).toBe(false);
    for (const o of outcomes) {
      expect(failure(await o.result)).toEqual({ ok: false, stage: 'aborted', code: 'E_CLOSED' });
      await eventually(`agent group ${o.pid} is gone`, () => runningInGroup(o.pid!).length === 0);
    }
  });
});
