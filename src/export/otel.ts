/**
 * OpenTelemetry export: the instruments of instruments.ts, recorded on a
 * Meter the user passes in (their MeterProvider decides where they go). Only
 * types come from @opentelemetry/api: the user's copy of the API is the one
 * whose Meter we are handed.
 *
 * Names and attributes follow the semantic conventions: dotted names, the
 * unit in `unit` (`s`), a failure's code in `error.type`. Attributes are
 * bounded as in Prometheus (`outcome`, `stage`, `error.type`; `agent` only
 * with per-agent labels), so the SDK's cardinality limit is never reached.
 * Counters start at 0 (fixed attribute sets when the exporter is created,
 * an agent's when its batch is queued); the OpenTelemetry API has no way to
 * create a histogram point before its first measurement.
 */
import type { Attributes, BatchObservableCallback, Counter, Histogram, Meter, Observable } from '@opentelemetry/api';
import type { NamedRecord, SpawnerMetrics } from '../metrics/spawner-metrics.ts';
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

export interface OtelExporterOptions {
  /** Add an `agent` attribute to the counters and histograms. Default false. */
  agentLabels?: boolean | undefined;
  tally: BatchTally;
}

type Histograms = Record<HistogramKey, { byOutcome: boolean; instrument: Histogram }>;

/** Records a spawner's records on an OpenTelemetry Meter until `close()`. */
export class OtelExporter {
  readonly #meter: Meter;
  readonly #agentLabels: boolean;
  readonly #histograms: Histograms;
  readonly #counters: Record<CounterKey, Counter>;
  readonly #errors: Counter;
  readonly #batches: Counter;
  readonly #observables: Observable[];
  readonly #callback: BatchObservableCallback;
  readonly #agents = new Set<string>();
  readonly #unsubscribe: (() => void)[];

  constructor(metrics: SpawnerMetrics, meter: Meter, options: OtelExporterOptions) {
    this.#meter = meter;
    this.#agentLabels = options.agentLabels ?? false;
    const histograms: Partial<Histograms> = {};
    for (const def of HISTOGRAMS) {
      histograms[def.key] = {
        byOutcome: def.byOutcome,
        instrument: meter.createHistogram(def.otel, { description: def.help, unit: def.unit, advice: { explicitBucketBoundaries: [...def.buckets] } }),
      };
    }
    this.#histograms = histograms as Histograms;
    const counters: Partial<Record<CounterKey, Counter>> = {};
    for (const def of COUNTERS) counters[def.key] = meter.createCounter(def.otel, { description: def.help, unit: def.unit });
    this.#counters = counters as Record<CounterKey, Counter>;
    this.#errors = meter.createCounter(ERRORS.otel, { description: ERRORS.help, unit: ERRORS.unit });
    this.#batches = meter.createCounter(BATCHES.otel, { description: BATCHES.help, unit: BATCHES.unit });

    const written = meter.createObservableCounter(RING_WRITTEN.otel, { description: RING_WRITTEN.help, unit: RING_WRITTEN.unit });
    const dropped = meter.createObservableCounter(RING_DROPPED.otel, { description: RING_DROPPED.help, unit: RING_DROPPED.unit });
    const agents = AGENT_GAUGES.map((def) => ({ def, instrument: meter.createObservableUpDownCounter(def.otel, { description: def.help, unit: def.unit }) }));
    const last = LAST_BATCH.map((def) => ({ def, instrument: meter.createObservableGauge(def.otel, { description: def.help, unit: def.unit }) }));
    const info = meter.createObservableGauge(SPAWNER_INFO.otel, { description: SPAWNER_INFO.help, unit: SPAWNER_INFO.unit });
    this.#observables = [written, dropped, ...agents.map((a) => a.instrument), ...last.map((l) => l.instrument), info];
    const tally = options.tally;
    // Read at collection time: the ring counters are atomics in shared memory, never stale.
    this.#callback = (result) => {
      metrics.drain();
      const counters = metrics.ring.counters();
      result.observe(written, counters.written);
      result.observe(dropped, counters.dropped);
      const now = metrics.agentCounts();
      for (const a of agents) result.observe(a.instrument, now[a.def.key]);
      // No last-batch point before a batch has ended: an OpenTelemetry gauge can be absent, unlike a prom-client one.
      if (tally.last !== undefined) for (const l of last) result.observe(l.instrument, lastBatchValue(tally, l.def.key));
      result.observe(info, 1, { run_id: metrics.runId });
    };
    meter.addBatchObservableCallback(this.#callback, this.#observables);

    for (const [stage, code] of errorSeries()) this.#errors.add(0, { stage, 'error.type': code });
    this.#batches.add(0);
    if (!this.#agentLabels) this.#zero({});
    this.#unsubscribe = [
      metrics.onBatch(() => this.#queued()),
      metrics.onAgents((names) => this.#agentsDeclared(names)),
      metrics.subscribe((record) => this.#observe(record)),
    ];
  }

  /** Stops recording; instruments already created stay with the Meter. Idempotent. */
  close(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#meter.removeBatchObservableCallback(this.#callback, this.#observables);
  }

  #queued(): void {
    this.#batches.add(1);
  }

  #agentsDeclared(names: readonly string[]): void {
    if (!this.#agentLabels) return;
    for (const name of names) {
      if (this.#agents.has(name)) continue;
      this.#agents.add(name);
      this.#zero({ agent: name });
    }
  }

  #zero(extra: Attributes): void {
    for (const outcome of OUTCOMES) for (const counter of Object.values(this.#counters)) counter.add(0, { outcome, ...extra });
  }

  #observe(record: NamedRecord): void {
    const o = observationsOf(record);
    const agent: Attributes = this.#agentLabels ? { agent: o.agent } : {};
    for (const [key, value] of Object.entries(o.seconds) as [HistogramKey, number][]) {
      const h = this.#histograms[key];
      h.instrument.record(value, h.byOutcome ? { outcome: o.outcome, ...agent } : agent);
    }
    this.#counters[o.counter].add(1, { outcome: o.outcome, ...agent });
    if (o.error !== undefined) this.#errors.add(1, { stage: o.error.stage, 'error.type': o.error.type });
  }
}

/** A view that renames one instrument (a structural subset of the SDK's `ViewOptions`). */
export interface RenameView {
  instrumentName: string;
  name: string;
}

/**
 * Views for a MeterProvider whose Prometheus exporter does not add unit
 * suffixes to names (as the OpenTelemetry compatibility spec says it should;
 * `@opentelemetry/exporter-prometheus` does not): every instrument in seconds
 * gets the prom-client name, so dashboards work on either exporter.
 *
 * @example
 * const provider = new MeterProvider({ views: otelPrometheusViews(), readers: [new PrometheusExporter()] });
 */
export function otelPrometheusViews(): RenameView[] {
  return [...HISTOGRAMS, ...LAST_BATCH].filter((d) => d.unit === 's').map((d) => ({ instrumentName: d.otel, name: d.prometheus }));
}
