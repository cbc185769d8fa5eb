// The reading side of a spawner's metrics; src/export/exporters.ts builds its subscribers. Nothing here knows of an exporter.
import { randomInt, randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import { ConfigError, errorCodeFromNumber, type ErrorCode } from '../errors.ts';
import { NameTable } from './names.ts';
import { decodeRecord, wallClockMs, type DecodedRecord, type RecordStage } from './record.ts';
import { MetricsRing, type RingCounters } from './ring.ts';
import { RollingWindow, type WindowStats } from './window.ts';

export const DEFAULT_WINDOW_SIZE = 1000;
export const DEFAULT_RING_CAPACITY = 8192;

/**
 * A record as subscribers see it: decoded (`decodeRecord`: switch on `stage`
 * for its named fields), with the agent's name and the error code spelled out.
 */
export type NamedRecord = DecodedRecord & {
  agent: string;
  /** The error code; undefined when ok, or when the number is not one this version knows. */
  error: ErrorCode | undefined;
};

/** What `spawner.metrics.snapshot()` returns. */
export interface MetricsSnapshot extends WindowStats {
  /** Window size (the window keeps the last `windowSize` spawn outcomes). */
  windowSize: number;
  /** Records ever written to the ring. */
  written: number;
  /** Records lost: overwritten before being read, or failing their checks. */
  dropped: number;
  /** The part of `dropped` that was torn or failed its checksum. */
  invalid: number;
  /** Build time (worker) and run time (spawned to exit) over their own windows. */
  build: WindowStats;
  run: WindowStats;
  /** Exact per-stage totals since the spawner started (not limited to the window). */
  totals: RingCounters['totals'];
}

export type RecordListener = (record: NamedRecord) => void;

/** A batch as it is queued: before any of its agents has a record. */
export interface QueuedBatch {
  batchId: number;
  /** The spawner's run id (`metrics.runId`). */
  runId: string;
  /** Agent names, in input order. */
  agents: readonly string[];
  /** Wall-clock ms of the call. */
  queuedAt: number;
}

export type BatchListener = (batch: QueuedBatch) => void;
/** Agent names about to run: from a queued batch, or declared ahead (`declareAgents`). Names may repeat across calls. */
export type AgentsListener = (agents: readonly string[]) => void;

/** Agents of this spawner now, from the ring's exact totals (records not drained yet included). */
export interface AgentCounts {
  /** Queued: their batch started, their spawn is not known yet (queue, build, launch). */
  pending: number;
  /** Spawned and not exited. */
  running: number;
}

/** @internal What serves `metrics.prometheus()`: the prom-client exporter attaches itself. */
export interface PrometheusSource {
  readonly registry: Registry;
  metrics(): Promise<string>;
}

export interface SpawnerMetricsOptions {
  /**
   * Slots per lane of the ring: a power of two. Each writing thread can run this many records ahead of the drain before the oldest are lost.
   * @default 8192
   */
  ringCapacity?: number;
  /**
   * Outcomes each stage's rolling window keeps for `snapshot()`.
   * @default 1000
   */
  windowSize?: number;
  /** First ticket of every ring lane. Only tests set this, to start the cursors near 2^32. */
  startCursor?: number;
  /**
   * Identifies this spawner in every export (JSON lines, history, Prometheus).
   * @default a random UUID
   */
  runId?: string;
  /**
   * First batch id; later ones count up (wrapping from 2^32 - 1 to 1).
   * @default random in [1, 2^31), so ids do not repeat across runs
   */
  firstBatchId?: number;
}

const MAX_BATCH_ID = 0xffff_ffff;

// Set once by SpawnerMetrics' static block: the one way past `#ring`, for ringOf().
let ringOfMetrics: (metrics: SpawnerMetrics) => MetricsRing;

/**
 * A spawner's metrics (`spawner.metrics`): every thread that takes part in a
 * spawn (build workers, the launch thread, the main thread) writes records
 * into a SharedArrayBuffer ring; this object drains them on the main thread,
 * keeps rolling windows of the build, spawn and run times, and hands each
 * record, decoded and with its agent's name, to its subscribers (the
 * exporters, the history, your own). Draining happens on the spawn path and
 * before every snapshot and scrape, so neither is stale; the counters are
 * read from the ring's atomics, exact at any time. The ring itself is not
 * reachable: nothing but spawnpool's own threads writes to it.
 *
 * @example
 * const spawner = new Spawner();
 * const off = spawner.metrics.subscribe((r) => {
 *   if (r.stage === 'exit' && !r.ok) console.log(`${r.agent} failed after ${r.runMs} ms (${r.error})`);
 * });
 * await spawner.spawnBatch(agents).results;
 * const { p95Ms, successRate, totals } = spawner.metrics.snapshot();
 * off();
 */
export class SpawnerMetrics {
  readonly #ring: MetricsRing;
  /** @internal Agent names to the small ids records carry; the Spawner enters them. */
  readonly names = new NameTable();
  /**
   * Outcomes each stage's rolling window keeps (`snapshot()` describes the last `windowSize` of each).
   * @default 1000
   */
  readonly windowSize: number;
  /**
   * This spawner's run id: in every JSON line, history batch row and `spawnpool_spawner_info`.
   * @default a random UUID (the Spawner's `runId` option sets it)
   */
  readonly runId: string;
  readonly #windows: Record<RecordStage, RollingWindow>;
  // Listeners run synchronously inside drain(); they must not throw into it.
  readonly #listeners = new Set<RecordListener>();
  readonly #batchListeners = new Set<BatchListener>();
  readonly #agentsListeners = new Set<AgentsListener>();
  // Set by the prom-client exporter, if the spawner has one (prom-client is otherwise never loaded).
  #prometheus: PrometheusSource | undefined;
  #nextBatchId: number;
  // Agents of every batch queued so far.
  #queuedAgents = 0;

  constructor(options: SpawnerMetricsOptions = {}) {
    this.windowSize = options.windowSize ?? DEFAULT_WINDOW_SIZE;
    const capacity = options.ringCapacity ?? DEFAULT_RING_CAPACITY;
    this.runId = checkRunId(options.runId ?? randomUUID());
    this.#nextBatchId = options.firstBatchId ?? randomInt(1, 2 ** 31);
    if (!Number.isInteger(this.#nextBatchId) || this.#nextBatchId < 1 || this.#nextBatchId > MAX_BATCH_ID) {
      throw new ConfigError(`Expected the \`firstBatchId\` option to be an integer from 1 to ${MAX_BATCH_ID}, got \`${String(options.firstBatchId)}\``);
    }
    this.#ring = MetricsRing.create({ capacity, ...(options.startCursor === undefined ? {} : { startCursor: options.startCursor }) });
    this.#windows = {
      build: new RollingWindow(this.windowSize),
      spawn: new RollingWindow(this.windowSize),
      exit: new RollingWindow(this.windowSize),
    };
  }

  static {
    ringOfMetrics = (metrics) => metrics.#ring;
  }

  /**
   * @internal Queues a batch: gives it the next batch id, enters its agents
   * in the name table, and tells every batch listener (exporters create
   * per-agent series at 0 here, before the agents' first records). The
   * Spawner calls this once per `spawnBatch`.
   */
  beginBatch(agents: readonly string[]): number {
    const batchId = this.#nextBatchId;
    this.#nextBatchId = batchId >= MAX_BATCH_ID ? 1 : batchId + 1;
    this.#queuedAgents += agents.length;
    this.declareAgents(agents);
    const queued: QueuedBatch = { batchId, runId: this.runId, agents, queuedAt: wallClockMs() };
    for (const listener of this.#batchListeners) notify(listener, queued, 'batch');
    return batchId;
  }

  /**
   * Enters agent names in the name table and tells the exporters, before any
   * batch runs them: with per-agent labels, their series then exist at 0
   * from now on, so a scrape before their batch holds the 0 (the CLI declares
   * the agents file's names before its first scrape). Batches declare their
   * agents themselves when queued, so call this only to have series before then.
   *
   * @example
   * spawner.metrics.declareAgents(agents.map((a) => a.name));
   * await serveMetrics(spawner.metrics, 9464); // every agent's series is at 0 from the first scrape
   */
  declareAgents(agents: readonly string[]): void {
    for (const name of agents) this.names.idOf(name);
    for (const listener of this.#agentsListeners) notify(listener, agents, 'agents');
  }

  /**
   * Calls `listener` with the agent names of every queued batch and every
   * `declareAgents` call from now on (names may repeat). Returns the
   * unsubscribe function. A listener that throws is reported as a warning.
   */
  onAgents(listener: AgentsListener): () => void {
    this.#agentsListeners.add(listener);
    return () => this.#agentsListeners.delete(listener);
  }

  /**
   * Calls `listener` for every batch queued from now on, before any of its
   * records. Returns the unsubscribe function. A listener that throws is
   * reported as a warning.
   *
   * @example
   * spawner.metrics.onBatch((b) => console.log(`batch ${b.batchId}: ${b.agents.length} agents`));
   */
  onBatch(listener: BatchListener): () => void {
    this.#batchListeners.add(listener);
    return () => this.#batchListeners.delete(listener);
  }

  /**
   * Agents pending and running now, from the ring's atomics: exact even if
   * records wait to be drained, and cheap (no drain).
   */
  agentCounts(): AgentCounts {
    const { spawn, exit } = this.#ring.counters().totals;
    return { pending: Math.max(0, this.#queuedAgents - spawn.ok - spawn.failed), running: Math.max(0, spawn.ok - exit.ok - exit.failed) };
  }

  /**
   * This spawner's metrics in the Prometheus text exposition format (drains
   * the ring first). Rejects with a ConfigError when the spawner was created
   * with `prometheus: false`.
   *
   * @example
   * http.createServer(async (req, res) => res.end(await spawner.metrics.prometheus()));
   */
  async prometheus(): Promise<string> {
    if (this.#prometheus === undefined) throw new ConfigError('Prometheus export is off for this spawner: create it without `prometheus: false`');
    return this.#prometheus.metrics();
  }

  /**
   * The prom-client registry holding this spawner's metrics (the one passed
   * as `prometheusRegistry`, or the spawner's own); undefined when
   * Prometheus export is off. Reading it does not drain: `prometheus()` does.
   */
  get prometheusRegistry(): Registry | undefined {
    return this.#prometheus?.registry;
  }

  /** @internal The prom-client exporter makes itself the source of `prometheus()`. One per spawner. */
  attachPrometheus(source: PrometheusSource): void {
    if (this.#prometheus !== undefined && this.#prometheus !== source) throw new ConfigError('This spawner already has a Prometheus exporter');
    this.#prometheus = source;
  }

  /**
   * Calls `listener` with every record drained from now on, in ring order
   * (per writing thread, not across threads), synchronously inside the
   * drain, which runs on the spawn path: keep it short. The record is a new
   * object, yours to keep. A listener that throws is reported as a warning,
   * once per record. Returns the unsubscribe function.
   *
   * @example
   * const off = spawner.metrics.subscribe((r) => {
   *   if (r.stage === 'spawn') console.log(r.agent, r.ok ? `spawned in ${r.spawnMs} ms` : r.error);
   * });
   */
  subscribe(listener: RecordListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Reads every record committed to the ring into the windows and the
   * subscribers. Returns how many. Every read of the metrics drains first,
   * so call this only to have subscribers see records sooner.
   */
  drain(): number {
    return this.#ring.drain((record) => {
      // Every stage's durationMs is that stage's own time (record.ts), which is what its window holds.
      this.#windows[record.stage].push(record.durationMs, record.ok);
      if (this.#listeners.size === 0) return;
      const named: NamedRecord = Object.assign(decodeRecord(record), {
        agent: this.names.nameOf(record.agentId) ?? `#${record.agentId}`,
        error: errorCodeFromNumber(record.errorCode),
      });
      for (const listener of this.#listeners) {
        try {
          listener(named);
        } catch (error) {
          // A broken exporter must not break the spawner; report it once per record.
          process.emitWarning(`spawnpool: a metrics listener threw: ${(error as Error).message}`);
        }
      }
    });
  }

  /**
   * Spawn latency statistics over the last `windowSize` spawns, build and
   * run times over theirs, and the ring's exact totals, after draining what
   * is pending. A window with no sample yet has undefined percentiles.
   *
   * @example
   * const { p95Ms, successRate, run, totals } = spawner.metrics.snapshot();
   * console.log(`p95 spawn ${p95Ms} ms, ${totals.exit.failed} agents failed, median run ${run.p50Ms} ms`);
   */
  snapshot(): MetricsSnapshot {
    this.drain();
    const counters = this.#ring.counters();
    const spawn = this.#windows.spawn.stats();
    return {
      ...spawn,
      windowSize: this.windowSize,
      written: counters.written,
      dropped: counters.dropped,
      invalid: counters.invalid,
      build: this.#windows.build.stats(),
      run: this.#windows.exit.stats(),
      totals: counters.totals,
    };
  }

  /**
   * The ring's counters: records written, read, dropped (lapped or torn) and
   * pending, and exact totals per stage and outcome since the spawner
   * started. Read from the ring's atomics: no drain, and `read` counts only
   * what was drained so far.
   *
   * @example
   * const { written, read, dropped, pending } = spawner.metrics.counters();
   * // read + dropped === written once pending is 0
   */
  counters(): RingCounters {
    return this.#ring.counters();
  }
}

/**
 * @internal The ring behind `metrics`: for the Spawner, which hands its
 * buffer to the build workers and the launch thread, and for the tests and
 * the bench, which write records into it. Not exported from the package.
 */
export function ringOf(metrics: SpawnerMetrics): MetricsRing {
  return ringOfMetrics(metrics);
}

function notify<T>(listener: (value: T) => void, value: T, what: string): void {
  try {
    listener(value);
  } catch (error) {
    process.emitWarning(`spawnpool: a metrics ${what} listener threw: ${(error as Error).message}`);
  }
}

function checkRunId(runId: string): string {
  if (typeof runId === 'string' && /^[\x21-\x7e]{1,128}$/.test(runId)) return runId;
  throw new ConfigError(`Expected the \`runId\` option to be 1 to 128 printable ASCII characters without spaces, got \`${String(runId)}\``);
}
