/**
 * The reading side of a spawner's metrics: drains the ring on the main
 * thread, keeps rolling windows per stage, and hands each record (with its
 * agent's name) to subscribers: the exporters and the history, which
 * src/export/exporters.ts builds. Nothing here knows of an exporter.
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import { ConfigError, errorCodeFromNumber, type ErrorCode } from '../errors.ts';
import { NameTable } from './names.ts';
import { wallClockMs, type MetricRecord, type RecordStage } from './record.ts';
import { MetricsRing, type RingCounters } from './ring.ts';
import { RollingWindow, type WindowStats } from './window.ts';

export const DEFAULT_WINDOW_SIZE = 1000;
export const DEFAULT_RING_CAPACITY = 8192;

/** A record as subscribers see it: with the agent's name and the error code spelled out. */
export interface NamedRecord extends MetricRecord {
  agent: string;
  error: ErrorCode | undefined;
}

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
  ringCapacity?: number;
  windowSize?: number;
  startCursor?: number;
  /** Identifies this spawner in every export (JSON lines, history, Prometheus). Default: a random UUID. */
  runId?: string;
  /** First batch id; later ones count up. Default: random in [1, 2^31), so ids do not repeat across runs. */
  firstBatchId?: number;
}

const MAX_BATCH_ID = 0xffff_ffff;

export class SpawnerMetrics {
  readonly ring: MetricsRing;
  readonly names = new NameTable();
  readonly windowSize: number;
  /** This spawner's run id: in every JSON line, history batch row and `spawnpool_spawner_info`. */
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
    this.ring = MetricsRing.create({ capacity, ...(options.startCursor === undefined ? {} : { startCursor: options.startCursor }) });
    this.#windows = {
      build: new RollingWindow(this.windowSize),
      spawn: new RollingWindow(this.windowSize),
      exit: new RollingWindow(this.windowSize),
    };
  }

  /**
   * Queues a batch: gives it the next batch id, enters its agents in the
   * name table, and tells every batch listener (exporters create per-agent
   * series at 0 here, before the agents' first records). The Spawner calls
   * this once per `spawnBatch`.
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
   * agents themselves when queued.
   */
  declareAgents(agents: readonly string[]): void {
    for (const name of agents) this.names.idOf(name);
    for (const listener of this.#agentsListeners) notify(listener, agents, 'agents');
  }

  /** Calls `listener` with the agent names of every queued batch and every `declareAgents` call from now on. */
  onAgents(listener: AgentsListener): () => void {
    this.#agentsListeners.add(listener);
    return () => this.#agentsListeners.delete(listener);
  }

  /** Calls `listener` for every batch queued from now on. Returns the unsubscribe function. */
  onBatch(listener: BatchListener): () => void {
    this.#batchListeners.add(listener);
    return () => this.#batchListeners.delete(listener);
  }

  /** Agents pending and running now, from the ring's atomics: exact even if records wait to be drained. */
  agentCounts(): AgentCounts {
    const { spawn, exit } = this.ring.counters().totals;
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

  /** The prom-client registry holding this spawner's metrics; undefined when Prometheus export is off. */
  get prometheusRegistry(): Registry | undefined {
    return this.#prometheus?.registry;
  }

  /** @internal The prom-client exporter makes itself the source of `prometheus()`. One per spawner. */
  attachPrometheus(source: PrometheusSource): void {
    if (this.#prometheus !== undefined && this.#prometheus !== source) throw new ConfigError('This spawner already has a Prometheus exporter');
    this.#prometheus = source;
  }

  /** Subscribes to every record drained from now on. Returns the unsubscribe function. */
  subscribe(listener: RecordListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Reads every committed record from the ring into the windows and subscribers. Returns how many. */
  drain(): number {
    return this.ring.drain((record) => {
      this.#windows[record.stage].push(record.durationMs, record.ok);
      if (this.#listeners.size === 0) return;
      const named: NamedRecord = { ...record, agent: this.names.nameOf(record.agentId) ?? `#${record.agentId}`, error: errorCodeFromNumber(record.errorCode) };
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

  /** Window statistics and ring counters, after draining what is pending. */
  snapshot(): MetricsSnapshot {
    this.drain();
    const counters = this.ring.counters();
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
