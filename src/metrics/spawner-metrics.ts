/**
 * The reading side of a spawner's metrics: drains the ring on the main
 * thread, keeps rolling windows per stage, and hands each record (with its
 * agent's name) to subscribers such as exporters and the history store.
 */
import type { Registry } from 'prom-client';
import { ConfigError, errorCodeFromNumber, type ErrorCode } from '../errors.ts';
import { PrometheusExporter } from '../export/prometheus.ts';
import { NameTable } from './names.ts';
import type { MetricRecord, RecordStage } from './record.ts';
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

export class SpawnerMetrics {
  readonly ring: MetricsRing;
  readonly names = new NameTable();
  readonly windowSize: number;
  readonly #windows: Record<RecordStage, RollingWindow>;
  // Listeners run synchronously inside drain(); they must not throw into it.
  readonly #listeners = new Set<RecordListener>();
  // undefined when Prometheus export is off (prom-client is then never loaded).
  readonly #prometheus: PrometheusExporter | undefined;

  /** `prometheus`: true for a registry of its own, a Registry to use that one. Default off. */
  constructor(options: { ringCapacity?: number; windowSize?: number; startCursor?: number; prometheus?: boolean | Registry } = {}) {
    this.windowSize = options.windowSize ?? DEFAULT_WINDOW_SIZE;
    const capacity = options.ringCapacity ?? DEFAULT_RING_CAPACITY;
    this.ring = MetricsRing.create({ capacity, ...(options.startCursor === undefined ? {} : { startCursor: options.startCursor }) });
    this.#windows = {
      build: new RollingWindow(this.windowSize),
      spawn: new RollingWindow(this.windowSize),
      exit: new RollingWindow(this.windowSize),
    };
    const prometheus = options.prometheus ?? false;
    if (prometheus !== false) this.#prometheus = new PrometheusExporter(this, prometheus === true ? undefined : prometheus);
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
