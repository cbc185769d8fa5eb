/**
 * The launch side of one spawner: its build pool, its launcher, its view of
 * the metrics ring, and the batches running. It lives on the spawner's
 * launch thread (workers/launch-thread.ts) for the built-in launchers, or
 * on the main thread for a Launcher instance given by the user.
 */
import type { Launcher } from '../launch/types.ts';
import { MetricsRing } from '../metrics/ring.ts';
import { BuildPool, type BuildPoolOptions } from '../pool/build-pool.ts';
import { BatchRun } from './batch-run.ts';
import type { AgentEvent, BatchStart, StdinRequest, StopRequest } from './messages.ts';

export interface LaunchSideOptions {
  pool: BuildPoolOptions;
  launcher: Launcher;
  threadId: number;
  emit(event: AgentEvent): void;
}

export class LaunchSide {
  readonly #pool: BuildPool;
  readonly #launcher: Launcher;
  readonly #ring: MetricsRing;
  readonly #threadId: number;
  readonly #emit: (event: AgentEvent) => void;
  readonly #batches = new Map<number, BatchRun>();
  readonly #poolReady: Promise<void>;

  constructor(options: LaunchSideOptions) {
    this.#pool = new BuildPool(options.pool);
    this.#poolReady = this.#pool.warmUp(options.pool.workers);
    this.#launcher = options.launcher;
    this.#ring = MetricsRing.attach(options.pool.ring);
    this.#threadId = options.threadId;
    this.#emit = options.emit;
  }

  start(message: BatchStart): void {
    const run = new BatchRun(message, { pool: this.#pool, launcher: this.#launcher, ring: this.#ring, threadId: this.#threadId, emit: this.#emit });
    this.#batches.set(message.batchId, run);
    void run.done.then(() => this.#batches.delete(message.batchId));
  }

  stdin(request: StdinRequest): void {
    this.#batches.get(request.batchId)?.stdin(request.index, request.data, request.end);
  }

  stop(request: StopRequest): void {
    this.#batches.get(request.batchId)?.stop(request.reason, request.index);
  }

  /**
   * Every build worker up (tokenizer loaded), then the launcher's own start
   * (its helper, if it will use one): after the workers, which count in the
   * RSS that 'auto' decides on. Never rejects.
   */
  async warmUp(): Promise<void> {
    await this.#poolReady;
    await this.#launcher.warmUp?.().catch(() => {});
  }

  /** Stops every batch (its agents fail as closed), waits for their exits, then frees the launcher and the pool. */
  async close(): Promise<void> {
    const running = [...this.#batches.values()];
    for (const run of running) run.stop('closed');
    await Promise.all(running.map((run) => run.done));
    await this.#launcher.close();
    await this.#pool.close();
  }
}
