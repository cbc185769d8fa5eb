/**
 * Launch latency without a Spawner (no build worker, so the host can be as
 * small as a bare tsx process): 8 launches issued at once through a
 * Launcher, each timed from launch() to its spawn event; direct vs helper,
 * interleaved, warm-up discarded. Finds where the helper starts to win.
 */
import { DirectLauncher, HelperLauncher, type Launcher, type LaunchRequest } from '../../src/index.ts';
import { benchHelpers } from './stats.ts';
import { mb } from './latency.ts';

export interface CrossoverResult {
  hostRssMb: number;
  directMs: number[];
  helperMs: number[];
}

export async function measureCrossover(agents: number, runs: number): Promise<CrossoverResult> {
  const direct = new DirectLauncher();
  const helper = new HelperLauncher({ helpers: benchHelpers() });
  const result: CrossoverResult = { hostRssMb: 0, directMs: [], helperMs: [] };
  try {
    await helper.warmUp();
    for (let r = -1; r < runs; r++) {
      const d = await burst(direct, agents);
      const h = await burst(helper, agents);
      if (r < 0) continue;
      result.directMs.push(...d);
      result.helperMs.push(...h);
    }
  } finally {
    await Promise.all([direct.close(), helper.close()]);
  }
  result.hostRssMb = mb(process.memoryUsage.rss());
  return result;
}

async function burst(launcher: Launcher, agents: number): Promise<number[]> {
  const started = performance.now();
  return Promise.all(
    Array.from({ length: agents }, (_, i) => {
      const request: LaunchRequest = {
        agent: `t${i}`,
        command: '/bin/true',
        args: [],
        env: undefined,
        cwd: undefined,
        prompt: new Uint8Array(0),
        promptVia: 'stdin',
        ready: undefined,
        timeoutMs: undefined,
        killGraceMs: 1000,
        maxOutputBytes: 1024,
        stream: false,
        stdin: 'close',
        stdoutFile: undefined,
        stderrFile: undefined,
      };
      return new Promise<number>((resolve, reject) => {
        let spawnedMs = Number.NaN;
        launcher.launch(request, {
          spawned: () => (spawnedMs = performance.now() - started),
          ready: () => {},
          exited: (exit) => (exit.error ? reject(new Error(exit.error.message)) : resolve(spawnedMs)),
        });
      });
    }),
  );
}
