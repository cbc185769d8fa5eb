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
import type { NamedRecord, PrometheusSource, SpawnerMetrics } from '../metrics/spawner-metrics.ts';
import { lastBatchValue, type BatchTally } from './batch-tally.ts';
import {
  AGENT_GAUGES,
  BATCHES,
  COUNTERS,
  ERRORS,
  HISTOGRAMS,
  LAST_BATCH,
  OUTCOMES,
  RING_DROPPED,
  RING_WRITTEN,
  SPAWNER_INFO,
  errorSeries,
  observationsOf,
  type CounterKey,
  type HistogramKey,
} from './instruments.ts';

type PromClient = typeof import('prom-client');
type Labels = Record<string, string>;
type Histograms = Record<HistogramKey, { def: (typeof HISTOGRAMS)[number]; metric: Histogram<string> }>;

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
  readonly #agentLabels: boolean;
  readonly #histograms: Histograms;
  readonly #counters: Record<CounterKey, Counter<string>>;
  readonly #errors: Counter<string>;
  readonly #batches: Counter<string>;
  // Agent names whose series exist (per-agent labels only).
  readonly #agents = new Set<string>();
  readonly #unsubscribe: (() => void)[];

  /** Throws ConfigError when `registry` already holds spawnpool metrics (another spawner's). */
  constructor(metrics: SpawnerMetrics, options: PrometheusExporterOptions) {
    const prom = loadPromClient();
    this.registry = options.registry ?? new prom.Registry();
    this.#agentLabels = options.agentLabels ?? false;
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
    const ring = metrics.ring;
    const tally = options.tally;

    // Registered first: a scrape of the registry calls collect() in registration order, so the ring is drained before anything is read.
    new prom.Counter({
      name: RING_WRITTEN.prometheus,
      help: RING_WRITTEN.help,
      registers,
      collect() {
        metrics.drain();
        this.reset();
        this.inc(ring.counters().written);
      },
    });
    new prom.Counter({
      name: RING_DROPPED.prometheus,
      help: RING_DROPPED.help,
      registers,
      collect() {
        this.reset();
        this.inc(ring.counters().dropped);
      },
    });
    const agent = this.#agentLabels ? ['agent'] : [];
    const histograms: Partial<Histograms> = {};
    for (const def of HISTOGRAMS) {
      const labelNames = [...(def.byOutcome ? ['outcome'] : []), ...agent];
      histograms[def.key] = { def, metric: new prom.Histogram({ name: def.prometheus, help: def.help, labelNames, buckets: [...def.buckets], registers }) };
    }
    this.#histograms = histograms as Histograms;
    const counters: Partial<Record<CounterKey, Counter<string>>> = {};
    for (const def of COUNTERS) counters[def.key] = new prom.Counter({ name: def.prometheus, help: def.help, labelNames: ['outcome', ...agent], registers });
    this.#counters = counters as Record<CounterKey, Counter<string>>;
    this.#errors = new prom.Counter({ name: ERRORS.prometheus, help: ERRORS.help, labelNames: ['stage', 'error_type'], registers });
    this.#batches = new prom.Counter({ name: BATCHES.prometheus, help: BATCHES.help, registers });
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

    // The fixed label sets at 0, before anything happens.
    for (const [stage, code] of errorSeries()) this.#errors.inc({ stage, error_type: code }, 0);
    if (!this.#agentLabels) this.#zero({});

    this.#unsubscribe = [
      metrics.onBatch(() => this.#queued()),
      metrics.onAgents((names) => this.#agentsDeclared(names)),
      metrics.subscribe((record) => this.#observe(record)),
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

  #queued(): void {
    this.#batches.inc();
  }

  /** Creates an agent's series at 0 the first time its name is seen. */
  #agentsDeclared(names: readonly string[]): void {
    if (!this.#agentLabels) return;
    for (const name of names) {
      if (this.#agents.has(name)) continue;
      this.#agents.add(name);
      this.#zero({ agent: name });
    }
  }

  #zero(extra: Labels): void {
    for (const outcome of OUTCOMES) {
      for (const counter of Object.values(this.#counters)) counter.inc({ outcome, ...extra }, 0);
    }
    for (const { def, metric } of Object.values(this.#histograms)) {
      if (def.byOutcome) for (const outcome of OUTCOMES) metric.zero({ outcome, ...extra });
      else metric.zero(extra);
    }
  }

  #observe(record: NamedRecord): void {
    const o = observationsOf(record);
    const agent: Labels = this.#agentLabels ? { agent: o.agent } : {};
    for (const [key, value] of Object.entries(o.seconds) as [HistogramKey, number][]) {
      const { def, metric } = this.#histograms[key];
      metric.observe(def.byOutcome ? { outcome: o.outcome, ...agent } : agent, value);
    }
    this.#counters[o.counter].inc({ outcome: o.outcome, ...agent });
    if (o.error !== undefined) this.#errors.inc({ stage: o.error.stage, error_type: o.error.type });
  }
}
