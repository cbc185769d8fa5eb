/**
 * One batch on the launch side: starts its agents all at once (up to
 * `concurrency` in flight, a slot held from build start to exit) or one
 * after another in sequential mode, and stops them on request. Runs
 * without the main thread: builds are handed to the pool from here, and
 * the next agent takes a freed slot here.
 */
import { setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import { runAgent, type AgentControl, type RunContext } from './agent-run.ts';
import type { BatchStart, StopReason } from './messages.ts';

export type BatchDeps = Omit<RunContext, 'batchId' | 'startedAt' | 'root' | 'stream' | 'signal' | 'stopReason'>;

export class BatchRun {
  /** Settles when every agent has exited (or never ran). Never rejects. */
  readonly done: Promise<void>;
  readonly #controller = new AbortController();
  #reason: StopReason = 'aborted';
  // Per agent, its stop switch while it runs.
  readonly #controls: { current?: AgentControl }[];

  constructor(start: BatchStart, deps: BatchDeps) {
    // Every agent listens on this signal; the default limit of 10 would warn at 11 agents.
    setMaxListeners(0, this.#controller.signal);
    this.#controls = start.agents.map(() => ({}));
    if (start.stopped !== undefined) this.stop(start.stopped);
    const ctx: RunContext = {
      ...deps,
      batchId: start.batchId,
      startedAt: start.startedAt,
      root: start.root,
      stream: start.stream,
      signal: this.#controller.signal,
      stopReason: () => this.#reason,
    };
    const run = (index: number) => runAgent(ctx, start.agents[index]!, index, this.#controls[index]!);
    this.done = start.mode === 'sequential' ? sequential(start.agents.length, run) : concurrent(start.agents.length, start.concurrency, run);
  }

  /** Writes to (or ends) one running agent's open stdin; nothing once it has exited. */
  stdin(index: number, data: Uint8Array | undefined, end: boolean): void {
    const handle = this.#controls[index]?.current?.handle;
    if (data !== undefined) handle?.write?.(data);
    if (end) handle?.end?.();
  }

  /** Stops the whole batch, or one agent (reason 'alone'). */
  stop(reason: StopReason, index?: number): void {
    if (index !== undefined) {
      this.#controls[index]?.current?.stopAlone();
      return;
    }
    if (this.#controller.signal.aborted) return;
    this.#reason = reason;
    this.#controller.abort();
  }
}

type Run = (index: number) => Promise<{ exited: Promise<void> }>;

async function concurrent(n: number, concurrency: number, run: Run): Promise<void> {
  const limit = pLimit(concurrency);
  await Promise.all(Array.from({ length: n }, (_, i) => limit(async () => (await run(i)).exited)));
}

/** Build, spawn, wait until spawned, then the next agent. Exits are not waited for. */
async function sequential(n: number, run: Run): Promise<void> {
  const exits: Promise<void>[] = [];
  for (let i = 0; i < n; i++) exits.push((await run(i)).exited);
  await Promise.all(exits);
}
