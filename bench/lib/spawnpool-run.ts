/** One measured spawnpool batch, timed from outside the library like the baselines. */
import type { BatchOptions, ResolvedAgent, Spawner } from '../../src/index.ts';

export interface BatchRun {
  /** performance.now() before spawnBatch() to every spawn outcome known, ms. */
  wallMs: number;
  /** Each agent's spawn latency as the library measures it (batch start to spawned/ready). */
  spawnMs: number[];
  /** Each agent's prompt build time on its worker. */
  buildMs: number[];
  /** Settles when every agent has exited; rejects if any agent failed. */
  exited: Promise<void>;
}

/** Runs one batch; throws if any agent failed to spawn (a benchmark of failures would measure nothing). */
export async function runSpawnpoolBatch(spawner: Spawner, agents: ResolvedAgent[], options: BatchOptions = {}): Promise<BatchRun> {
  const t0 = performance.now();
  const batch = spawner.spawnBatch(agents, options);
  const summary = await batch.summary;
  const wallMs = performance.now() - t0;
  const outcomes = [];
  for await (const o of batch) outcomes.push(o);
  const failed = outcomes.find((o) => !o.ok);
  if (failed) {
    await batch.results;
    throw new Error(`spawnpool agent "${failed.name}" failed at ${failed.stage}: ${failed.error?.message ?? ''}`);
  }
  if (summary.spawnFailed > 0) throw new Error(`spawnpool batch: ${summary.spawnFailed} agents failed to spawn`);
  const exited = batch.results.then((results) => {
    const bad = results.find((r) => !r.ok);
    if (bad) throw new Error(`spawnpool agent "${bad.name}" failed at ${bad.stage}: ${bad.error?.message ?? ''}`);
  });
  return { wallMs, spawnMs: outcomes.map((o) => o.timings.spawnMs), buildMs: outcomes.map((o) => o.timings.buildMs), exited };
}
