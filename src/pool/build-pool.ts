/**
 * The spawner's Piscina pool of prompt-building worker threads. Each worker
 * receives the metrics ring once, as `workerData`.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import type { ErrorCode } from '../errors.ts';
import type { BuildReply, BuildTask, BuildWorkerData } from './build-task.ts';

// From source (tsx, vitest) this file is .ts and so is the worker; from dist/ both are .js.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(`../../workers/build-worker.${FROM_SOURCE ? 'ts' : 'js'}`, import.meta.url);

export interface BuildPoolOptions {
  workers: number;
  ring: SharedArrayBuffer;
  /** URL or path of a custom builder module. */
  builder: string | undefined;
  /** A build running longer is stopped (its worker is terminated and replaced). */
  buildTimeoutMs: number;
  /** Added to each worker thread's nice value, Linux only (0: left alone). */
  nice: number;
  /** V8 heap limits per worker (a runaway builder then kills only its worker). */
  resourceLimits?: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number } | undefined;
}

export class BuildPool {
  readonly #piscina: Piscina<BuildTask, BuildReply>;
  readonly #buildTimeoutMs: number;

  constructor(options: BuildPoolOptions) {
    this.#buildTimeoutMs = options.buildTimeoutMs;
    const needsTsLoader = FROM_SOURCE || (options.builder?.endsWith('.ts') ?? false);
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
  }

  /**
   * Builds one prompt. Never rejects: a worker that dies mid-build (process.exit,
   * heap limit) becomes a failure reply; Piscina replaces the worker.
   */
  async build(task: BuildTask, signal?: AbortSignal): Promise<BuildReply> {
    // A builder stuck in a loop (or a pathological input) must not hold its agent forever:
    // Piscina terminates the worker of an aborted running task and starts a fresh one.
    const timeout = AbortSignal.timeout(this.#buildTimeoutMs);
    try {
      return await this.#piscina.run(task, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    } catch (error) {
      const failure = (code: ErrorCode, message: string): BuildReply => ({ ok: false, error: { code, message }, queueMs: 0, buildMs: 0, threadId: -1 });
      if (signal?.aborted) return failure('E_ABORTED', `Agent "${task.agent}" was aborted before its prompt was built`);
      if (timeout.aborted) return failure('E_BUILD_TIMEOUT', `Agent "${task.agent}": prompt build ran past buildTimeoutMs ${this.#buildTimeoutMs} and its worker was stopped`);
      return failure('E_BUILD_WORKER', `Agent "${task.agent}": the build worker died: ${(error as Error).message}`);
    }
  }

  /** Runs one warm-up task per worker (tokenizer loaded, builder imported). Never rejects. */
  async warmUp(workers: number): Promise<void> {
    const tasks = Array.from({ length: workers }, () => this.#piscina.run(null as unknown as BuildTask, { name: 'warmUp' }));
    await Promise.allSettled(tasks);
  }

  get threads(): number {
    return this.#piscina.threads.length;
  }

  async close(): Promise<void> {
    await this.#piscina.destroy();
  }
}

/** tsx's ESM loader as a file URL, so it resolves whatever the host's cwd. */
function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}
