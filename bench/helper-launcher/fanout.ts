/**
 * The fan-out: N `/bin/true` with C in flight, launched by `xargs -P` and by
 * spawnpool (direct, and helper with 1, 2, 4 helpers); the raw Node baseline
 * is raw-fanout.mjs (plain node). Rates in agents per second.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { HelperLauncher, resolveAgents, Spawner, type ResolvedAgent } from '../../src/index.ts';
import { cpuMsOf } from './cpu.ts';

export interface FanoutVariant {
  name: string;
  /** Runs once, untimed, before the measured runs. */
  warmUp(): Promise<void>;
  /** Launches every agent and waits for every exit; returns wall ms. */
  run(): Promise<number>;
  /** CPU ms so far of the launching processes other than this one (the helpers). */
  otherCpuMs(): number;
  close(): Promise<void>;
}

export function xargs(n: number, concurrency: number): FanoutVariant {
  const run = async () => {
    const started = performance.now();
    const child = spawn('sh', ['-c', `seq ${n} | xargs -P ${concurrency} -n 1 /bin/true`], { stdio: 'ignore' });
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`xargs exited with ${code}`);
    return performance.now() - started;
  };
  return { name: `xargs -P ${concurrency}`, warmUp: async () => void (await run()), run, otherCpuMs: () => Number.NaN, close: async () => {} };
}

export function spawnpool(n: number, concurrency: number, launcher: 'direct' | 'helper', helpers?: number): FanoutVariant {
  const helperLauncher = launcher === 'helper' ? new HelperLauncher({ helpers }) : undefined;
  const spawner = new Spawner({ workers: 1, launcher: helperLauncher ?? 'direct' });
  const agents: ResolvedAgent[] = resolveAgents(Array.from({ length: n }, (_, i) => ({ name: `t${i}`, command: '/bin/true' })));
  const run = async (list: ResolvedAgent[]) => {
    const started = performance.now();
    const results = await spawner.spawnBatch(list, { concurrency }).results;
    const failed = results.find((r) => !r.ok);
    if (failed) throw failed.error;
    return performance.now() - started;
  };
  return {
    name: launcher === 'direct' ? 'spawnpool direct' : `spawnpool helper, helpers ${helpers ?? 1}`,
    warmUp: async () => {
      await spawner.ready;
      await run(agents.slice(0, Math.min(n, concurrency * 2)));
      await helperLauncher?.warmUp();
    },
    // The specs are validated once, outside the timing, as a caller reusing them would.
    run: () => run(agents),
    otherCpuMs: () => (helperLauncher?.pids ?? []).reduce((sum, pid) => sum + cpuMsOf(pid), 0),
    close: () => spawner.close(),
  };
}
