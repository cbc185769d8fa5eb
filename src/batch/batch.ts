/**
 * One `spawnBatch` call: starts its agents (all at once, up to `concurrency`,
 * or one after another in sequential mode), yields spawn outcomes in
 * completion order, and settles `summary` (all spawn outcomes known) and
 * `results` (every agent exited).
 */
import { setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import { wallClockMs } from '../metrics/record.ts';
import { latencyStats } from '../metrics/stats.ts';
import type { ResolvedAgent } from '../spec/resolve.ts';
import { runAgent, type BatchContext } from './agent-run.ts';
import { CompletionQueue } from './completion-queue.ts';
import type { AgentResult, BatchSummary, SpawnOutcome } from './types.ts';

export type BatchSetup = Omit<BatchContext, 'signal' | 'stopCode' | 'startedAt'> & {
  agents: ResolvedAgent[];
  mode: 'concurrent' | 'sequential';
  concurrency: number;
  minSuccess: number;
  signal: AbortSignal | undefined;
};

export class Batch implements AsyncIterable<SpawnOutcome> {
  readonly batchId: number;
  /** Settles when every agent's spawn outcome is known. Never rejects. */
  readonly summary: Promise<BatchSummary>;
  /** Settles when every agent has exited, in input order. Never rejects. */
  readonly results: Promise<AgentResult[]>;
  readonly #queue: CompletionQueue<SpawnOutcome>;
  readonly #controller = new AbortController();
  // Why the batch was stopped: by its signal / abort(), or by the spawner closing.
  #stopCode: 'E_ABORTED' | 'E_CLOSED' = 'E_ABORTED';

  /** @internal Use `spawner.spawnBatch()`. */
  constructor(setup: BatchSetup) {
    const { agents } = setup;
    this.batchId = setup.batchId;
    this.#queue = new CompletionQueue(agents.length);
    // Every agent listens on this signal; the default limit of 10 would warn at 11 agents.
    setMaxListeners(0, this.#controller.signal);
    const external = setup.signal;
    if (external) {
      if (external.aborted) this.#controller.abort();
      else external.addEventListener('abort', () => this.abort(), { once: true });
    }
    const ctx: BatchContext = {
      ...setup,
      startedAt: wallClockMs(),
      signal: this.#controller.signal,
      stopCode: () => this.#stopCode,
    };

    const outcomes = Promise.all(setup.mode === 'sequential' ? this.#sequential(ctx, agents) : this.#concurrent(ctx, agents, setup.concurrency));
    this.summary = outcomes.then((all) => summarise(setup.batchId, all, setup.minSuccess));
    this.results = outcomes.then((all) => Promise.all(all.map((o) => o.result)));
  }

  /** Stops every agent of the batch: the unstarted never start, the running have their process trees killed. */
  abort(): void {
    this.#controller.abort();
  }

  /** @internal The spawner is closing. */
  close(): void {
    if (!this.#controller.signal.aborted) this.#stopCode = 'E_CLOSED';
    this.abort();
  }

  [Symbol.asyncIterator](): AsyncIterator<SpawnOutcome> {
    return this.#queue[Symbol.asyncIterator]();
  }

  /** Each agent's spawn outcome, in input order; all start at once, up to `concurrency` in flight. */
  #concurrent(ctx: BatchContext, agents: ResolvedAgent[], concurrency: number): Promise<SpawnOutcome>[] {
    // A slot is held from the start of the build until the agent exits.
    const limit = pLimit(concurrency);
    return agents.map(
      (agent, index) =>
        new Promise<SpawnOutcome>((resolve) => {
          void limit(async () => {
            const outcome = await runAgent(ctx, agent, index);
            this.#queue.push(outcome);
            resolve(outcome);
            await outcome.result;
          });
        }),
    );
  }

  /** The old loop: build, spawn, wait until spawned, then the next agent. Exits are not waited for. */
  #sequential(ctx: BatchContext, agents: ResolvedAgent[]): Promise<SpawnOutcome>[] {
    let previous: Promise<unknown> = Promise.resolve();
    return agents.map((agent, index) => {
      const outcome = previous.then(async () => {
        const o = await runAgent(ctx, agent, index);
        this.#queue.push(o);
        return o;
      });
      previous = outcome;
      return outcome;
    });
  }
}

function summarise(batchId: number, outcomes: SpawnOutcome[], minSuccess: number): BatchSummary {
  const spawned = outcomes.filter((o) => o.ok).map((o) => o.timings.spawnMs);
  const stats = latencyStats(spawned);
  const last = Math.max(0, ...outcomes.map((o) => o.timings.spawnMs));
  return {
    batchId,
    total: outcomes.length,
    succeeded: spawned.length,
    failed: outcomes.length - spawned.length,
    successRate: outcomes.length === 0 ? 0 : spawned.length / outcomes.length,
    wallMs: last,
    avgMs: stats.avgMs,
    minMs: stats.minMs,
    maxMs: stats.maxMs,
    p50Ms: stats.p50Ms,
    p95Ms: stats.p95Ms,
    minSuccess,
    ok: spawned.length >= minSuccess,
  };
}
