/**
 * Spawn latency and main-thread event-loop delay of one small batch, direct
 * vs helper, at one host size: interleaved runs (A B A B), warm-up discarded.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DirectLauncher,
  HelperLauncher,
  type LaunchEvents,
  type LaunchHandle,
  type Launcher,
  type LaunchRequest,
  type ResolvedAgent,
  resolveAgents,
  Spawner,
} from '../../src/index.ts';
import { rssOf } from '../../test/support/procfs.ts';
import { benchHelpers } from './stats.ts';

export type Mode = 'direct' | 'helper';

export interface ModeSamples {
  /** Batch start to spawned, every agent of every measured run. */
  spawnMs: number[];
  /** Max event-loop delay of each measured run. */
  eldMaxMs: number[];
  /** Main-thread busy time (event-loop utilisation, active ms) of each measured run. */
  busyMs: number[];
}

export interface LevelResult {
  hostRssMb: number;
  helperRssMb: number;
  /** The helper's first batch: its start (a fork of the host as it is now) included. */
  helperColdMs: number;
  direct: ModeSamples;
  helper: ModeSamples;
  /** Max event-loop delay while idle for as long as a helper batch took: the machine's noise floor. */
  idleEldMaxMs: number[];
  /**
   * Max event-loop delay while another process (xargs, started before any
   * measurement) launches the same agents and this thread only waits on a
   * pipe: what starting that many processes costs this thread on a machine
   * this size, with no launcher work of its own.
   */
  externalEldMaxMs: number[];
}

/**
 * One spawner (one build worker: each spawner's worker adds ~90 MB from
 * source, which would hide the small-host case) whose launcher is switched
 * between direct and helper from run to run.
 */
class SwitchedLauncher implements Launcher {
  readonly direct = new DirectLauncher();
  readonly helper = new HelperLauncher({ helpers: benchHelpers() });
  use: Mode = 'direct';

  launch(request: LaunchRequest, events: LaunchEvents): LaunchHandle {
    return this[this.use].launch(request, events);
  }

  async close(): Promise<void> {
    await Promise.all([this.direct.close(), this.helper.close()]);
  }
}

export async function measureLevel(agentCount: number, runs: number): Promise<LevelResult> {
  const agents = resolveAgents(Array.from({ length: agentCount }, (_, i) => ({ name: `true-${i}`, command: '/bin/true' })));
  const launcher = new SwitchedLauncher();
  const spawner = new Spawner({ workers: 1, launcher });
  // Started (a fork of this host) before anything is measured.
  const external = new ExternalLauncher(agentCount);
  const batch = (mode: Mode) => {
    launcher.use = mode;
    return runBatch(spawner, agents);
  };
  try {
    await spawner.ready;
    const cold = await batch('helper');
    // Every helper up (the first batch started one; more start only under load).
    await launcher.helper.warmUp();
    await batch('direct');
    const samples: Record<Mode, ModeSamples> = { direct: { spawnMs: [], eldMaxMs: [], busyMs: [] }, helper: { spawnMs: [], eldMaxMs: [], busyMs: [] } };
    const idleEldMaxMs: number[] = [];
    const externalEldMaxMs: number[] = [];
    for (let r = 0; r < runs; r++) {
      for (const mode of ['direct', 'helper'] as const) {
        const run = await batch(mode);
        samples[mode].spawnMs.push(...run.spawnMs);
        samples[mode].eldMaxMs.push(run.eldMaxMs);
        samples[mode].busyMs.push(run.busyMs);
        if (mode === 'helper') {
          idleEldMaxMs.push(await idleDelay(run.wallMs));
          externalEldMaxMs.push(await external.measure());
        }
      }
    }
    return {
      hostRssMb: mb(process.memoryUsage.rss()),
      helperRssMb: mb(rssOf(launcher.helper.pids[0])),
      helperColdMs: Math.max(...cold.spawnMs),
      ...samples,
      idleEldMaxMs,
      externalEldMaxMs,
    };
  } finally {
    external.close();
    await spawner.close();
  }
}

async function runBatch(spawner: Spawner, agents: ResolvedAgent[]): Promise<{ spawnMs: number[]; eldMaxMs: number; busyMs: number; wallMs: number }> {
  const delay = await startMonitor();
  const started = performance.now();
  const utilisation = performance.eventLoopUtilization();
  const batch = spawner.spawnBatch(agents);
  const spawnMs: number[] = [];
  for await (const o of batch) {
    if (!o.ok) throw o.error;
    spawnMs.push(o.timings.spawnMs);
  }
  await batch.results;
  delay.disable();
  const busyMs = performance.eventLoopUtilization(utilisation).active;
  return { spawnMs, eldMaxMs: delay.max / 1e6, busyMs, wallMs: performance.now() - started };
}

/** A shell that runs `seq N | xargs -P N -n 1 /bin/true` for each line it reads and answers `done`. */
class ExternalLauncher {
  readonly #child: ChildProcess;
  readonly #lines: AsyncIterator<string>;

  constructor(agents: number) {
    this.#child = spawn('sh', ['-c', `while read x; do seq ${agents} | xargs -P ${agents} -n 1 /bin/true; echo done; done`], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    this.#lines = createInterface({ input: this.#child.stdout! })[Symbol.asyncIterator]();
  }

  async measure(): Promise<number> {
    const delay = await startMonitor();
    this.#child.stdin!.write('go\n');
    const line = await this.#lines.next();
    delay.disable();
    if (line.done) throw new Error('the external launcher (sh + xargs) ended early');
    return delay.max / 1e6;
  }

  close(): void {
    this.#child.stdin!.end();
  }
}

async function idleDelay(ms: number): Promise<number> {
  const delay = await startMonitor();
  await sleep(Math.max(1, ms));
  delay.disable();
  return delay.max / 1e6;
}

async function startMonitor(): Promise<IntervalHistogram> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  // The monitor's timer runs only once the loop turns: a block in this very tick would go unseen.
  while (delay.count === 0) await sleep(1);
  return delay;
}

export function mb(bytes: number): number {
  return bytes / 2 ** 20;
}
