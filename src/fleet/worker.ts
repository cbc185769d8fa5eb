/**
 * The queue worker of one host: one Spawner consuming agent-run jobs from a
 * BullMQ queue. What is distributed is BullMQ's: retries (attempts and
 * backoff, set at enqueue), the queue's global rate limit, stalled-job
 * recovery when a host dies (lock duration, stalled interval, max stalled
 * count), job ids. This file only turns jobs into spawns and back.
 */
import os from 'node:os';
import path from 'node:path';
import type { Job, Worker } from 'bullmq';
import { z } from 'zod';
import { ConfigError, Spawner, type SpawnerOptions } from '../index.ts';
import { loadBullmq } from './bullmq.ts';
import { AGENT_RUN_JOB, type AgentRunResult, type RunData, type RunSummary, runsQueueName } from './job.ts';
import { parseOptions } from '../options/parse-options.ts';
import { positiveInt, prefixSchema, queueNameSchema, redisUrlSchema } from './options.ts';
import { probeRedis, redactUrl } from './redis.ts';
import { loadSharedAgents, runAgentJob, type RunContext } from './run-agent.ts';

/** Options of {@link FleetWorker.start}. */
export interface FleetWorkerOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  redis: string;
  /** The queue's name (agent runs); each run's parent job lives in `<queue>-runs`. */
  queue: string;
  /**
   * This host's name in results, logs and `status` (BullMQ's worker name).
   * @default `os.hostname()`
   */
  host?: string;
  /**
   * Agent runs in flight on this host.
   * @default 4
   */
  concurrency?: number;
  /** An agents file, for jobs that name their agent instead of carrying its spec. */
  agentsFile?: string;
  /**
   * Prompt root, and the folder relative paths of jobs' specs resolve against.
   * @default the agents file's folder, else `process.cwd()`
   */
  root?: string;
  /** Save each run's stdout and stderr under this folder (`<run>/<agent>/<task>.stdout`); results then carry the paths. */
  outputDir?: string;
  /**
   * `close()`: how long running agents may go on before they are stopped and their jobs put back in the queue.
   * @default 30000
   */
  shutdownTimeoutMs?: number;
  /**
   * BullMQ: how often this worker looks for stalled jobs (jobs whose worker died).
   * @default 30000
   */
  stalledIntervalMs?: number;
  /**
   * BullMQ: a job's lock, renewed every half of it while its agent runs; a dead host's jobs come back after about this plus the stalled interval.
   * @default 30000
   */
  lockDurationMs?: number;
  /**
   * BullMQ: how many times a job may come back from a dead host before it fails.
   * @default 1
   */
  maxStalledCount?: number;
  /**
   * BullMQ key prefix.
   * @default `bull`
   */
  prefix?: string;
  /**
   * Run agents on this Spawner (not closed by the worker).
   * @default a new one, with `spawnerOptions`, closed by `close()`
   */
  spawner?: Spawner;
  /** Options of the worker's own Spawner (its `root` is the worker's). */
  spawnerOptions?: SpawnerOptions;
  /** Told of every job finished on this host, and of BullMQ's errors. */
  onEvent?: (event: FleetWorkerEvent) => void;
}

/** What a worker reports as it goes. */
export type FleetWorkerEvent =
  | { kind: 'completed'; jobId: string; result: AgentRunResult }
  | { kind: 'failed'; jobId: string; reason: string; willRetry: boolean }
  | { kind: 'returned'; jobId: string; reason: string }
  | { kind: 'error'; message: string };

const optionsSchema = z.strictObject({
  redis: redisUrlSchema,
  queue: queueNameSchema,
  host: z.string().min(1).max(200).optional(),
  concurrency: positiveInt.optional(),
  agentsFile: z.string().min(1).optional(),
  root: z.string().min(1).optional(),
  outputDir: z.string().min(1).optional(),
  shutdownTimeoutMs: z.number().int().nonnegative().optional(),
  stalledIntervalMs: positiveInt.optional(),
  lockDurationMs: positiveInt.optional(),
  maxStalledCount: z.number().int().nonnegative().optional(),
  prefix: prefixSchema.optional(),
  spawner: z.instanceof(Spawner).optional(),
  spawnerOptions: z.record(z.string(), z.unknown()).optional(),
  onEvent: z.custom<(event: FleetWorkerEvent) => void>((v) => typeof v === 'function', 'to be a function').optional(),
});

/** The abort reasons the worker gives its jobs' agents. */
const SHUTDOWN = 'spawnpool worker: shutdown deadline reached';
const LOCK_LOST = 'spawnpool worker: the job lock was lost (another worker may run it now)';

/**
 * One host's consumer of a spawnpool queue.
 *
 * A job's agent run ends in one of three ways: it succeeded (the job
 * completes with an {@link AgentRunResult}); it failed (the job fails with
 * the error's code and message, and BullMQ retries it if attempts remain;
 * the result is in the job's log); or its payload or spec is invalid (the
 * job fails at once, without retries, with the ConfigError's message; the
 * worker goes on).
 *
 * @example
 * const worker = await FleetWorker.start({ redis: 'redis://127.0.0.1:6379', queue: 'evals', concurrency: 8 });
 * process.once('SIGTERM', () => void worker.close());
 */
export class FleetWorker {
  /** This host's name (the `host` option), as in results and `fleetStatus`. */
  readonly host: string;
  /** The queue this worker consumes. */
  readonly queue: string;
  /** The Spawner that runs this host's agents (its metrics and history are this host's). */
  readonly spawner: Spawner;
  readonly #worker: Worker;
  readonly #runsWorker: Worker;
  readonly #ownSpawner: boolean;
  readonly #shutdownTimeoutMs: number;
  readonly #inFlight: { readonly count: number };
  #closing: Promise<{ stopped: number }> | undefined;

  private constructor(init: {
    host: string;
    queue: string;
    spawner: Spawner;
    ownSpawner: boolean;
    worker: Worker;
    runsWorker: Worker;
    inFlight: { readonly count: number };
    shutdownTimeoutMs: number;
  }) {
    this.host = init.host;
    this.queue = init.queue;
    this.spawner = init.spawner;
    this.#ownSpawner = init.ownSpawner;
    this.#worker = init.worker;
    this.#runsWorker = init.runsWorker;
    this.#shutdownTimeoutMs = init.shutdownTimeoutMs;
    this.#inFlight = init.inFlight;
  }

  /**
   * Checks the options, reaches Redis (once, without retrying), starts the
   * Spawner and starts taking jobs.
   *
   * @throws ConfigError for a bad option, an unreachable Redis (naming the URL) or a bad agents file; nothing is left running.
   */
  static async start(options: FleetWorkerOptions): Promise<FleetWorker> {
    const o = parseOptions(optionsSchema, {}, options, 'FleetWorker.start()');
    const bullmq = await loadBullmq();
    await probeRedis(bullmq, o.redis, o.prefix);
    const agents = o.agentsFile === undefined ? undefined : await loadSharedAgents(o.agentsFile);
    const root = path.resolve(o.root ?? agents?.baseDir ?? process.cwd());
    const host = o.host ?? os.hostname();
    const onEvent = o.onEvent ?? (() => {});
    const ownSpawner = o.spawner === undefined;
    const spawner = o.spawner ?? new Spawner({ ...(o.spawnerOptions as SpawnerOptions | undefined), root });
    if (ownSpawner) await spawner.ready;

    const ctx: RunContext = { spawner, host, root, agents, outputDir: o.outputDir };
    const inFlight = { count: 0 };
    const common = {
      connection: { url: o.redis },
      ...(o.prefix === undefined ? {} : { prefix: o.prefix }),
      name: host,
      ...(o.stalledIntervalMs === undefined ? {} : { stalledInterval: o.stalledIntervalMs }),
      ...(o.lockDurationMs === undefined ? {} : { lockDuration: o.lockDurationMs }),
      ...(o.maxStalledCount === undefined ? {} : { maxStalledCount: o.maxStalledCount }),
    };
    const { UnrecoverableError, DelayedError } = bullmq;

    // Three parameters: BullMQ then hands the processor an AbortSignal (cancelJob, cancelAllJobs).
    const processor = async (job: Job, token: string | undefined, signal: AbortSignal | undefined): Promise<AgentRunResult> => {
      if (job.name !== AGENT_RUN_JOB)
        throw new UnrecoverableError(`job ${job.id}: not a spawnpool agent run (job name "${job.name}", expected "${AGENT_RUN_JOB}")`);
      let result: AgentRunResult;
      inFlight.count++;
      try {
        result = await runAgentJob(job, signal ?? new AbortController().signal, ctx);
      } catch (error) {
        // Bad payload or spec: this job fails, without retries; the worker goes on.
        if (error instanceof ConfigError) throw new UnrecoverableError(error.message);
        throw error;
      } finally {
        inFlight.count--;
      }
      if (result.ok) return result;
      if (signal?.aborted && signal.reason === SHUTDOWN) {
        // This host is going away: the run goes back to the queue for another host, no attempt spent.
        await job.moveToDelayed(Date.now(), token);
        onEvent({ kind: 'returned', jobId: String(job.id), reason: SHUTDOWN });
        throw new DelayedError();
      }
      await job.log(JSON.stringify(result));
      throw new Error(`[${result.error?.code ?? 'E_EXIT'}] ${result.error?.message ?? `exit code ${result.exitCode}`}`);
    };

    const worker = new bullmq.Worker(o.queue, processor, { ...common, concurrency: o.concurrency ?? 4, autorun: false });
    const runsWorker = new bullmq.Worker(runsQueueName(o.queue), summariseRun(o.queue, o.prefix ?? 'bull'), { ...common, concurrency: 1, autorun: false });
    const reportError = (error: Error) => onEvent({ kind: 'error', message: error.message });
    worker.on('error', reportError);
    runsWorker.on('error', reportError);
    worker.on('completed', (job: Job) => onEvent({ kind: 'completed', jobId: String(job.id), result: job.returnvalue as AgentRunResult }));
    worker.on('failed', (job: Job | undefined, error: Error) => {
      if (job === undefined) return;
      const willRetry = !(error instanceof UnrecoverableError) && job.attemptsMade < (job.opts.attempts ?? 1);
      onEvent({ kind: 'failed', jobId: String(job.id), reason: error.message, willRetry });
    });
    // A lock this worker could not renew may already be another worker's: stop the agent rather than run it twice.
    worker.on('lockRenewalFailed', (jobIds: string[]) => {
      for (const id of jobIds) worker.cancelJob(id, LOCK_LOST);
    });
    try {
      void worker.run().catch(reportError);
      void runsWorker.run().catch(reportError);
      await Promise.all([worker.waitUntilReady(), runsWorker.waitUntilReady()]);
    } catch (error) {
      await Promise.allSettled([worker.close(true), runsWorker.close(true)]);
      if (ownSpawner) await spawner.close();
      throw new ConfigError(`cannot reach Redis at ${redactUrl(o.redis)}: ${(error as Error).message}`, { cause: error });
    }
    return new FleetWorker({ host, queue: o.queue, spawner, ownSpawner, worker, runsWorker, inFlight, shutdownTimeoutMs: o.shutdownTimeoutMs ?? 30_000 });
  }

  /** Agent runs in flight on this host. */
  get running(): number {
    return this.#inFlight.count;
  }

  /**
   * Stops taking jobs, lets running agents finish for up to `timeoutMs`
   * (default: the `shutdownTimeoutMs` option), then stops the rest (their
   * process trees killed) and puts their jobs back in the queue for another
   * host, then closes the Spawner if it is the worker's own. Resolves with
   * how many agents had to be stopped. Idempotent.
   */
  close(options: { timeoutMs?: number } = {}): Promise<{ stopped: number }> {
    this.#closing ??= (async () => {
      const timeoutMs = options.timeoutMs ?? this.#shutdownTimeoutMs;
      let stopped = 0;
      const timer = setTimeout(() => {
        stopped = this.#inFlight.count;
        this.#worker.cancelAllJobs(SHUTDOWN);
      }, timeoutMs);
      try {
        await Promise.all([this.#worker.close(), this.#runsWorker.close()]);
      } finally {
        clearTimeout(timer);
        if (this.#ownSpawner) await this.spawner.close();
      }
      return { stopped };
    })();
    return this.#closing;
  }
}

/** The processor of a run's parent job: runs once every agent run of the run has completed or failed for good. */
function summariseRun(queue: string, prefix: string) {
  const keyPrefix = `${prefix}:${queue}:`;
  return async (job: Job): Promise<RunSummary> => {
    const data = job.data as RunData;
    const counts = await job.getDependenciesCount();
    const ignored = await job.getIgnoredChildrenFailures();
    const failures = Object.entries(ignored)
      .slice(0, 100)
      .map(([key, reason]) => ({ jobId: key.startsWith(keyPrefix) ? key.slice(keyPrefix.length) : key, reason }));
    return { run: data.run, total: data.total, succeeded: counts.processed ?? 0, failed: (counts.ignored ?? 0) + (counts.failed ?? 0), failures };
  };
}
