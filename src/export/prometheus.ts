/**
 * Prometheus export with prom-client: every record drained from a spawner's
 * ring is observed into histograms and counters of one registry that belongs
 * to that spawner (or to the user, who passed it in). Never prom-client's
 * global registry: two spawners in one process must not mix their figures.
 *
 * Every series exists from the start: the fixed label sets are created at 0
 * when the exporter is, and (with per-agent labels) an agent's series when
 * its batch is queued, so Prometheus holds a 0 before the first increment
 * and `rate()` / `increase()` count every one.
 */
import { createRequire } from 'node:module';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ConfigError } from '../errors.ts';
import type { PrometheusSource, SpawnerMetrics } from '../metrics/spawner-metrics.ts';
import { lastBatchValue, type BatchTally } from './batch-tally.ts';
import {
  AGENT_GAUGES,
  BATCHES,
  COUNTERS,
  ERRORS,
  HISTOGRAMS,
  LAST_BATCH,
  RING_DROPPED,
  RING_WRITTEN,
  SPAWNER_INFO,
  RecordInstruments,
  type InstrumentLibrary,
} from './instruments.ts';

type PromClient = typeof import('prom-client');

const require = createRequire(import.meta.url);
let promClient: PromClient | undefined;

/** prom-client, loaded on first use: it costs 100-300 ms, which a spawner with Prometheus export off never pays. */
export function loadPromClient(): PromClient {
  promClient ??= require('prom-client') as PromClient;
  return promClient;
}

export interface PrometheusExporterOptions {
  /** Where the metrics live. Default: a new Registry. */
  registry?: Registry | undefined;
  /** Add an `agent` label to the counters and histograms (one set of series per agent name, never released). Default false. */
  agentLabels?: boolean | undefined;
  /** Per-batch figures (the last batch that ended). */
  tally: BatchTally;
}

/** Observes a spawner's records into a prom-client registry; the source of `metrics.prometheus()`. */
export class PrometheusExporter implements PrometheusSource {
  /** Holds this spawner's metrics; the user's own metrics too, if they passed it in. */
  readonly registry: Registry;
  readonly #unsubscribe: (() => void)[];

  /** Throws ConfigError when `registry` already holds spawnpool metrics (another spawner's). */
  constructor(metrics: SpawnerMetrics, options: PrometheusExporterOptions) {
    const prom = loadPromClient();
    this.registry = options.registry ?? new prom.Registry();
    const ours = [RING_WRITTEN, RING_DROPPED, ...HISTOGRAMS, ...COUNTERS, ERRORS, BATCHES, ...AGENT_GAUGES, ...LAST_BATCH, SPAWNER_INFO].map(
      (d) => d.prometheus,
    );
    const taken = ours.find((name) => this.registry.getSingleMetric(name) !== undefined);
    if (taken !== undefined) {
      throw new ConfigError(
        `Expected the \`prometheusRegistry\` option to be a registry without spawnpool metrics, but it already holds \`${taken}\` (from another Spawner?): give each Spawner its own Registry`,
      );
    }
    const registers = [this.registry];
    const tally = options.tally;

    // Registered first: a scrape of the registry calls collect() in registration order, so the ring is drained before anything is read.
    new prom.Counter({
      name: RING_WRITTEN.prometheus,
      help: RING_WRITTEN.help,
      registers,
      collect() {
        metrics.drain();
        this.reset();
        this.inc(metrics.counters().written);
      },
    });
    new prom.Counter({
      name: RING_DROPPED.prometheus,
      help: RING_DROPPED.help,
      registers,
      collect() {
        this.reset();
        this.inc(metrics.counters().dropped);
      },
    });
    const library: InstrumentLibrary<Histogram<string>, Counter<string>> = {
      errorTypeLabel: 'error_type',
      histogram: (def, labelNames) => new prom.Histogram({ name: def.prometheus, help: def.help, labelNames, buckets: [...def.buckets], registers }),
      counter: (def, labelNames) => new prom.Counter({ name: def.prometheus, help: def.help, labelNames, registers }),
      observe: (histogram, seconds, labels) => histogram.observe(labels, seconds),
      add: (counter, by, labels) => counter.inc(labels, by),
      zero: (histogram, labels) => histogram.zero(labels),
    };
    const instruments = new RecordInstruments(library, options.agentLabels ?? false);
    const batches = new prom.Counter({ name: BATCHES.prometheus, help: BATCHES.help, registers });
    for (const def of AGENT_GAUGES) {
      new prom.Gauge({
        name: def.prometheus,
        help: def.help,
        registers,
        collect() {
          this.set(metrics.agentCounts()[def.key]);
        },
      });
    }
    for (const def of LAST_BATCH) {
      new prom.Gauge({
        name: def.prometheus,
        help: def.help,
        registers,
        collect() {
          this.set(lastBatchValue(tally, def.key));
        },
      });
    }
    const info: Gauge<string> = new prom.Gauge({ name: SPAWNER_INFO.prometheus, help: SPAWNER_INFO.help, labelNames: ['run_id'], registers });
    info.set({ run_id: metrics.runId }, 1);

    this.#unsubscribe = [
      metrics.onBatch(() => batches.inc()),
      metrics.onAgents((names) => instruments.declareAgents(names)),
      metrics.subscribe((record) => instruments.observe(record)),
    ];
    metrics.attachPrometheus(this);
  }

  /** The registry in the text exposition format; the ring-written counter's collect() drains the ring first. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** Stops observing records. The registry keeps every value, so a scrape after close() still sees the final figures. */
  close(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
  }
}
