/**
 * The spawner's Piscina pool of prompt-building worker threads. Each worker
 * receives the metrics ring once, as `workerData`.
 */
import { Piscina } from 'piscina';
import type { ErrorCode } from '../errors.ts';
import { isTypeScript, ownEntry, tsxLoader } from '../ts-loader.ts';
import type { BuildReply, BuildTask, BuildWorkerData } from './build-task.ts';

const WORKER_URL = ownEntry('build-worker');

export interface BuildPoolOptions {
  workers: number;
  ring: SharedArrayBuffer;
  /** URL or path of a custom builder module. */
  builder: string | undefined;
  /** A build running longer is stopped (its worker is terminated and replaced). */
  buildTimeoutMs: number;
  /**
   * Added to each worker thread's nice value, Linux only (0: left alone), so
   * that builds filling every core still leave one to the main thread: with
   * `npx tsx bench/micro/worker-nice.ts` (the cpu-8 agents, nice 0 and 10
   * interleaved, 2 cores) nice 10 took the main thread's event-loop delay p99
   * from 5.6 and 6.5 ms to 4.8 ms (two runs). Each worker applies it itself
   * once it has loaded the tokenizer and builder (workers/build-worker.ts).
   */
  nice: number;
  /** V8 heap limits per worker (a runaway builder then kills only its worker). */
  resourceLimits?: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number } | undefined;
}

export class BuildPool {
  readonly #piscina: Piscina<BuildTask, BuildReply>;
  readonly #buildTimeoutMs: number;
  // Aborted once no worker is left and none will be started: Piscina 5 replaces no worker for good
  // once one has died before it was ready (its workerFailsDuringBootstrap), so without this every
  // build queued then would wait out buildTimeoutMs for a worker that never comes.
  readonly #lost = new AbortController();
  // What the last worker that failed died of, for the message of builds that then have no worker.
  #lastFailure = 'it exited';
  #closing = false;

  constructor(options: BuildPoolOptions) {
    this.#buildTimeoutMs = options.buildTimeoutMs;
    const needsTsLoader = isTypeScript(WORKER_URL) || (options.builder !== undefined && isTypeScript(options.builder));
    const data: BuildWorkerData = { ring: options.ring, builder: options.builder, nice: options.nice };
    this.#piscina = new Piscina<BuildTask, BuildReply>({
      filename: WORKER_URL.href,
      minThreads: options.workers,
      maxThreads: options.workers,
      // Workers stay warm between batches: starting one (and loading the tokenizer) costs more than a build.
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData: data,
      // The host's flags are not the workers' business; a .ts worker needs the tsx loader (vitest provides none).
      execArgv: needsTsLoader ? ['--import', tsxLoader()] : [],
      ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
    });
    // Piscina emits 'error' for a worker that fails with no task of its own: one that died at its
    // heap limit is reported a second time as it exits, after its build already failed with it.
    // Unheard, that event would throw on the launch thread and take every batch with it.
    // Piscina destroys a worker before it decides on a replacement: look once that is done.
    this.#piscina.on('workerDestroy', () => setImmediate(() => this.#checkLost()));
    this.#piscina.on('error', (error: Error) => {
      this.#lastFailure = error.message;
      if ((error as NodeJS.ErrnoException).code !== 'ERR_WORKER_OUT_OF_MEMORY')
        process.emitWarning(`spawnpool: a build worker failed between builds: ${error.message}`);
    });
  }

  /**
   * Builds one prompt. Never rejects: a worker that dies mid-build (process.exit,
   * heap limit) becomes a failure reply; Piscina replaces the worker.
   */
  async build(task: BuildTask, signal?: AbortSignal): Promise<BuildReply> {
    // A builder stuck in a loop (or a pathological input) must not hold its agent forever:
    // Piscina terminates the worker of an aborted running task and starts a fresh one.
    // A timer cleared when the build ends: AbortSignal.timeout() cannot be cleared, and would leave
    // one pending timer per build behind on the main thread for buildTimeoutMs.
    if (this.#lost.signal.aborted) return failure('E_BUILD_WORKER', this.#lostMessage(task.agent));
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.#buildTimeoutMs);
    const signals = [timeout.signal, this.#lost.signal, ...(signal ? [signal] : [])];
    try {
      return await this.#piscina.run(task, { signal: AbortSignal.any(signals) });
    } catch (error) {
      if (signal?.aborted) return failure('E_ABORTED', `Agent "${task.agent}" was aborted before its prompt was built`);
      if (this.#lost.signal.aborted) return failure('E_BUILD_WORKER', this.#lostMessage(task.agent));
      if (timeout.signal.aborted)
        return failure('E_BUILD_TIMEOUT', `Agent "${task.agent}": prompt build ran past buildTimeoutMs ${this.#buildTimeoutMs} and its worker was stopped`);
      this.#lastFailure = (error as Error).message;
      return failure('E_BUILD_WORKER', `Agent "${task.agent}": the build worker died: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  #checkLost(): void {
    if (this.#closing || this.#lost.signal.aborted || this.#piscina.threads.length > 0) return;
    this.#lost.abort();
  }

  #lostMessage(agent: string): string {
    return `Agent "${agent}": no build worker is left to build its prompt, and none will start: a worker died before it was ready (${this.#lastFailure}), after which Piscina replaces none; check workerResourceLimits (the tokenizer alone takes about 23 MB of heap) and the builder module`;
  }

  /**
   * Runs one warm-up task per worker (tokenizer loaded, builder imported). Never rejects, but says so
   * when a worker dies starting: Piscina then stops replacing workers, and once none is left every
   * build fails at once with E_BUILD_WORKER (agents without a prompt still run).
   */
  async warmUp(workers: number): Promise<void> {
    const tasks = Array.from({ length: workers }, () => this.#piscina.run(null as unknown as BuildTask, { name: 'warmUp' }));
    const failed = (await Promise.allSettled(tasks)).find((t) => t.status === 'rejected');
    if (failed !== undefined) {
      this.#lastFailure = (failed.reason as Error).message;
      process.emitWarning(
        `spawnpool: a build worker died while starting (${this.#lastFailure}); the tokenizer alone takes about 23 MB of heap: check workerResourceLimits`,
      );
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.#piscina.destroy();
  }
}

function failure(code: ErrorCode, message: string): BuildReply {
  return { ok: false, error: { code, message }, queueMs: 0, buildMs: 0, threadId: -1 };
}
