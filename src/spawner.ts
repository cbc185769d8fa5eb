// The entry point of the library: options checked once, the launch side started, batches handed to it.
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Batch } from './batch/batch.ts';
import { LocalLaunchClient, ThreadLaunchClient, type LaunchClient } from './batch/launch-client.ts';
import type { BatchOptions } from './batch/types.ts';
import type { Meter } from '@opentelemetry/api';
import type { Registry } from 'prom-client';
import { ConfigError, SpawnError } from './errors.ts';
import { createExporters, type Exporters } from './export/exporters.ts';
import type { JsonlOptions } from './export/jsonl.ts';
import type { History, HistoryOptions } from './history/history.ts';
import { resolveLauncherChoice, type LauncherChoice } from './launch/select-launcher.ts';
import { isPowerOfTwo } from './metrics/ring.ts';
import { DEFAULT_RING_CAPACITY, DEFAULT_WINDOW_SIZE, SpawnerMetrics, ringOf } from './metrics/spawner-metrics.ts';
import type { BuildPoolOptions } from './pool/build-pool.ts';
import type { AgentPlan } from './pipeline/messages.ts';
import { agentFolder } from './pipeline/results-dir.ts';
import { preflightAgents } from './spec/preflight.ts';
import { isResolvedAgent, resolveAgents, type ResolvedAgent } from './spec/resolve.ts';
import { wallClockMs } from './metrics/record.ts';
import { parseOptions } from './options/parse-options.ts';
import { BATCH_OPTION_WORDS, batchOptionsSchema, SPAWNER_OPTION_WORDS, spawnerOptionsSchema } from './options/schemas.ts';
import type { AgentSpec } from './spec/schema.ts';

/** Options of `new Spawner()`: each checked once, an unknown key an error with a "did you mean". */
export interface SpawnerOptions {
  /**
   * Prompt-building worker threads.
   * @default available cores, at most 4
   */
  workers?: number;
  /** A module whose default export builds prompts (see PromptBuilder); runs on the workers. URL or path. */
  builder?: string | URL;
  /**
   * Folder that prompt context and template files must stay under.
   * @default process.cwd()
   */
  root?: string;
  /**
   * Metric ring slots per writing thread (each build worker and the launch thread gets a lane of its own; 9 lanes of 64-byte slots, ~4.7 MB at the default): a power of two >= windowSize.
   * @default 8192
   */
  ringCapacity?: number;
  /**
   * Spawn outcomes kept for `metrics.snapshot()`.
   * @default 1000
   */
  windowSize?: number;
  /**
   * Default agents in flight per batch (a batch's own `concurrency` wins).
   * @default unbounded
   */
  concurrency?: number;
  /**
   * Time allowed from handing a build to the pool (queue wait included) to its reply; past it the agent
   * fails with E_BUILD_TIMEOUT and a stuck worker is terminated and replaced.
   * @default 60000
   */
  buildTimeoutMs?: number;
  /** V8 heap limits per build worker. */
  workerResourceLimits?: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number };
  /**
   * Added to each build worker thread's nice value (Linux; 0 to 19), so that
   * builds filling every core still leave one to the main thread whenever it
   * has work. 0 runs builds at the main thread's priority.
   * @default 10
   */
  workerNice?: number;
  /**
   * How agents are forked. 'direct': from this process (each fork copies this process's page tables,
   * so it slows as the host grows, and blocks its event loop); 'helper': from small helper processes;
   * 'auto': helper once this process's RSS is above AUTO_HELPER_RSS_BYTES, else direct; or your own Launcher.
   * @default the SPAWNPOOL_LAUNCHER environment variable if set, else 'auto'
   */
  launcher?: LauncherChoice;
  /**
   * Helper processes to spread launches over (launcher 'helper' or 'auto').
   * @default 1
   */
  helpers?: number;
  /**
   * Keep Prometheus metrics (`metrics.prometheus()`). false skips loading prom-client.
   * @default true
   */
  prometheus?: boolean;
  /**
   * A prom-client Registry for this spawner's metrics (one per spawner).
   * @default a new Registry
   */
  prometheusRegistry?: Registry;
  /** An OpenTelemetry Meter to record the same instruments on. */
  meter?: Meter;
  /** Record every batch and agent outcome in a SQLite file (`spawner.history`). */
  history?: HistoryOptions;
  /**
   * Add an `agent` label (Prometheus) / attribute (OpenTelemetry) to the
   * counters and histograms. Each distinct agent name then adds its own set
   * of series (422, about 32 KB per scrape), kept until the spawner
   * closes: leave it off when names are unique per task. Off, a fixed set
   * of series, whatever the number of agents.
   * @default false
   */
  agentLabels?: boolean;
  /** Append one JSON line per metric record to this file (or `{ path, flushIntervalMs, maxQueued }`). */
  jsonl?: string | ({ path: string } & JsonlOptions);
  /**
   * This spawner's run id, in every JSON line, history row and `spawnpool_spawner_info`.
   * @default a random UUID
   */
  runId?: string;
}

/**
 * Launches batches of agents. Each Spawner owns its build workers (a Piscina
 * pool), its launch thread and launcher, its metrics ring and windows, and its
 * exporters: nothing is shared between spawners, so several can run in one
 * process. Prompts are built on the workers and agents forked off the main
 * thread, so a busy main thread does not hold them back. Close it when done.
 *
 * @example
 * const spawner = new Spawner({ workers: 2, concurrency: 16 });
 * await spawner.ready; // optional: workers and launcher warm before the first batch
 * const batch = spawner.spawnBatch([{ name: 'reviewer', command: 'claude', args: ['-p'], prompt: { template: 'Review {{agent}}' } }]);
 * for await (const outcome of batch) console.log(outcome.name, outcome.pid, outcome.timings.spawnMs);
 * const done = await batch.done; // { succeeded, failed, successRate, ok, ... }
 * await spawner.close();
 */
export class Spawner {
  /** Window statistics and ring counters of this spawner. */
  readonly metrics: SpawnerMetrics;
  readonly root: string;
  /** The spawn history, when the `history` option was given; closed by `close()`. */
  readonly history: History | undefined;
  // The launch side: a launch thread owning the build pool and the launcher (or, for a Launcher instance, the main thread).
  readonly #client: LaunchClient;
  #ready: Promise<void> | undefined;
  readonly #concurrency: number;
  // A custom builder makes the prompts (pre-flight then assumes nothing about templates).
  readonly #customBuilder: boolean;
  // Prometheus, OpenTelemetry, JSON lines, history: every subscriber of this.metrics; closed by close().
  readonly #exporters: Exporters;
  // Batches not yet fully exited; close() stops them.
  readonly #live = new Set<Batch>();
  #closed: Promise<void> | undefined;

  constructor(options: SpawnerOptions = {}) {
    // Keys and types; what depends on other options is checked below, where they meet.
    parseOptions(spawnerOptionsSchema, SPAWNER_OPTION_WORDS, options, 'new Spawner()');
    const workers = options.workers ?? Math.min(4, os.availableParallelism());
    this.#concurrency = options.concurrency ?? Number.POSITIVE_INFINITY;
    const buildTimeoutMs = options.buildTimeoutMs ?? 60_000;
    const nice = options.workerNice ?? DEFAULT_WORKER_NICE;
    const windowSize = options.windowSize ?? DEFAULT_WINDOW_SIZE;
    const ringCapacity = options.ringCapacity ?? Math.max(DEFAULT_RING_CAPACITY, nextPowerOfTwo(windowSize));
    if (!isPowerOfTwo(ringCapacity)) {
      throw new ConfigError(`Expected the \`ringCapacity\` option to be a power of two, got \`${String(ringCapacity)}\``);
    }
    if (ringCapacity < windowSize) {
      throw new ConfigError(`Expected the \`ringCapacity\` option (${ringCapacity}) to be at least the window size (${windowSize})`);
    }
    try {
      this.metrics = new SpawnerMetrics({ ringCapacity, windowSize, ...(options.runId === undefined ? {} : { runId: options.runId }) });
    } catch (error) {
      throw new ConfigError((error as Error).message, { cause: error });
    }
    this.root = path.resolve(options.root ?? process.cwd());
    const builder = options.builder === undefined ? undefined : toUrl(options.builder);
    this.#customBuilder = builder !== undefined;
    const launcher = resolveLauncherChoice(options.launcher, options.helpers);
    // Opened after every option is checked and before any worker or helper process exists:
    // a bad option leaves no open database, and a bad history file leaks nothing.
    this.#exporters = createExporters(this.metrics, {
      prometheus: options.prometheus === false ? false : (options.prometheusRegistry ?? true),
      meter: options.meter,
      agentLabels: options.agentLabels,
      jsonl: options.jsonl,
      history: options.history,
    });
    this.history = this.#exporters.history;
    const pool: BuildPoolOptions = { workers, ring: ringOf(this.metrics).buffer, builder, buildTimeoutMs, nice, resourceLimits: options.workerResourceLimits };
    // Records the launch side wrote are drained as its events arrive, so windows and exporters see them first.
    const drain = () => this.metrics.drain();
    this.#client =
      'instance' in launcher
        ? new LocalLaunchClient(pool, launcher.instance, drain)
        : new ThreadLaunchClient({ pool, launcher: launcher.name, helpers: launcher.helpers }, drain);
  }

  /**
   * Settles once every build worker has started and loaded the tokenizer (and
   * the custom builder), and the launcher has started what it would start on
   * the first launch (the helper process, for 'helper', and for 'auto' on a
   * host over its threshold). Batches may start before; awaiting it keeps
   * those start-ups out of the first batch's figures. Never rejects: a helper
   * that cannot start fails the first launch, with its reason.
   */
  get ready(): Promise<void> {
    // Asked on first use: a spawner nobody asks to be ready starts no helper it may never use.
    this.#ready ??= this.#closed ? Promise.resolve() : this.#client.warmUp();
    return this.#ready;
  }

  /**
   * Starts every agent of the batch at once. Specs are validated first: a bad
   * one throws a ConfigError naming the agent and field, and nothing starts.
   *
   * @example
   * const batch = spawner.spawnBatch(agents, { signal });
   * for await (const o of batch) console.log(o.name, o.ok, o.timings.spawnMs);
   * const summary = await batch.summary;
   */
  spawnBatch(agents: readonly (AgentSpec | ResolvedAgent)[], options: BatchOptions = {}): Batch {
    if (this.#closed) throw new SpawnError('E_CLOSED', 'spawnBatch() called after close(): create a new Spawner');
    parseOptions(batchOptionsSchema, BATCH_OPTION_WORDS, options, 'spawnBatch()');
    const resolved = toResolved(agents);
    const concurrency = options.concurrency ?? this.#concurrency;
    const minSuccess = options.minSuccess ?? resolved.length;
    if (!Number.isInteger(minSuccess) || minSuccess < 0 || minSuccess > resolved.length) {
      throw new ConfigError(
        `Expected the \`minSuccess\` option to be an integer from 0 to ${resolved.length} (the number of agents), got \`${String(options.minSuccess)}\``,
      );
    }
    const batch = new Batch({
      start: {
        type: 'batch',
        batchId: this.metrics.beginBatch(resolved.map((agent) => agent.name)),
        startedAt: wallClockMs(),
        root: options.root === undefined ? this.root : path.resolve(options.root),
        mode: options.mode ?? 'concurrent',
        concurrency,
        stream: options.stream ?? false,
        agents: resolved.map((agent) => this.#plan(agent, options.resultsDir === undefined ? undefined : path.resolve(options.resultsDir))),
      },
      client: this.#client,
      minSuccess,
      signal: options.signal,
      streamBufferBytes: options.streamBufferBytes,
    });
    this.history?.track(batch);
    this.#live.add(batch);
    void batch.results.then(() => this.#live.delete(batch));
    return batch;
  }

  /**
   * Checks what the specs point at on disk before anything starts: template
   * and context files exist under the root (no symlink leading out),
   * templates parse, arguments fit the OS limits. `spawnBatch` cannot (it is
   * synchronous) and would fail such an agent alone, at build or spawn, with
   * the rest of the batch running: call this first when bad input must start
   * nothing. Returns the validated agents, ready for `spawnBatch`.
   *
   * @throws ConfigError naming the agent and the field (and `file`, if given).
   * @example
   * const agents = await spawner.preflight(specs);
   * const batch = spawner.spawnBatch(agents);
   */
  async preflight(agents: readonly (AgentSpec | ResolvedAgent)[], options: { root?: string; file?: string } = {}): Promise<ResolvedAgent[]> {
    const resolved = toResolved(agents);
    const root = options.root === undefined ? this.root : path.resolve(options.root);
    await preflightAgents(resolved, { root, file: options.file, customBuilder: this.#customBuilder });
    return resolved;
  }

  /** Stops every running batch (agents fail as `aborted`, code E_CLOSED), then frees the workers. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      for (const batch of this.#live) batch.close();
      await Promise.all([...this.#live].map((b) => b.results));
      await this.#client.close();
      this.metrics.drain();
      await this.#exporters.close();
    })();
    return this.#closed;
  }

  #plan(agent: ResolvedAgent, resultsDir: string | undefined): AgentPlan {
    const { name, command, args, env, cwd, timeoutMs, prompt, promptVia, ready, killGraceMs, stdin } = agent;
    const maxOutputBytes = agent.buffer ? agent.maxOutputBytes : 0;
    const saveTo = resultsDir === undefined ? undefined : agentFolder(resultsDir, name);
    const stdoutFile = agent.stdoutFile ?? (saveTo && path.join(saveTo, 'stdout'));
    const stderrFile = agent.stderrFile ?? (saveTo && path.join(saveTo, 'stderr'));
    return {
      name,
      agentId: this.metrics.names.idOf(name),
      command,
      args,
      env,
      cwd,
      timeoutMs,
      prompt,
      promptVia,
      ready: ready && { source: ready.source, flags: ready.flags },
      maxOutputBytes,
      killGraceMs,
      stdin,
      stdoutFile,
      stderrFile,
      saveTo,
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** See SpawnerOptions.workerNice; the measurement is at BuildPoolOptions.nice. */
const DEFAULT_WORKER_NICE = 10;

/** Specs validated, or agents already resolved used as they are. */
function toResolved(agents: readonly (AgentSpec | ResolvedAgent)[]): ResolvedAgent[] {
  // An empty list goes through resolveAgents too, which refuses it (`[].every()` is true).
  return agents.length > 0 && agents.every(isResolvedAgent) ? ([...agents] as ResolvedAgent[]) : resolveAgents(agents);
}

function nextPowerOfTwo(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(2, n)));
}

function toUrl(builder: string | URL): string {
  if (builder instanceof URL) return builder.href;
  return /^[a-z]+:/i.test(builder) ? builder : pathToFileURL(path.resolve(builder)).href;
}
