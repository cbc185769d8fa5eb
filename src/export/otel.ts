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
import type { BatchObservableCallback, Counter, Histogram, Meter, Observable } from '@opentelemetry/api';
import type { SpawnerMetrics } from '../metrics/spawner-metrics.ts';
import { lastBatchValue, type BatchTally } from './batch-tally.ts';
import {
  AGENT_GAUGES,
  BATCHES,
  HISTOGRAMS,
  LAST_BATCH,
  RING_DROPPED,
  RING_WRITTEN,
  SPAWNER_INFO,
  RecordInstruments,
  type InstrumentLibrary,
} from './instruments.ts';

export interface OtelExporterOptions {
  /** Add an `agent` attribute to the counters and histograms. Default false. */
  agentLabels?: boolean | undefined;
  tally: BatchTally;
}

/** Records a spawner's records on an OpenTelemetry Meter until `close()`. */
export class OtelExporter {
  readonly #meter: Meter;
  readonly #observables: Observable[];
  readonly #callback: BatchObservableCallback;
  readonly #unsubscribe: (() => void)[];

  constructor(metrics: SpawnerMetrics, meter: Meter, options: OtelExporterOptions) {
    this.#meter = meter;
    // Attributes need no declaring in OpenTelemetry: the label names are prom-client's concern.
    const library: InstrumentLibrary<Histogram, Counter> = {
      errorTypeLabel: 'error.type',
      histogram: (def) => meter.createHistogram(def.otel, { description: def.help, unit: def.unit, advice: { explicitBucketBoundaries: [...def.buckets] } }),
      counter: (def) => meter.createCounter(def.otel, { description: def.help, unit: def.unit }),
      observe: (histogram, seconds, attributes) => histogram.record(seconds, attributes),
      add: (counter, by, attributes) => counter.add(by, attributes),
    };
    const instruments = new RecordInstruments(library, options.agentLabels ?? false);
    const batches = meter.createCounter(BATCHES.otel, { description: BATCHES.help, unit: BATCHES.unit });

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
      const counters = metrics.counters();
      result.observe(written, counters.written);
      result.observe(dropped, counters.dropped);
      const now = metrics.agentCounts();
      for (const a of agents) result.observe(a.instrument, now[a.def.key]);
      // No last-batch point before a batch has ended: an OpenTelemetry gauge can be absent, unlike a prom-client one.
      if (tally.last !== undefined) for (const l of last) result.observe(l.instrument, lastBatchValue(tally, l.def.key));
      result.observe(info, 1, { run_id: metrics.runId });
    };
    meter.addBatchObservableCallback(this.#callback, this.#observables);

    batches.add(0);
    this.#unsubscribe = [
      metrics.onBatch(() => batches.add(1)),
      metrics.onAgents((names) => instruments.declareAgents(names)),
      metrics.subscribe((record) => instruments.observe(record)),
    ];
  }

  /** Stops recording; instruments already created stay with the Meter. Idempotent. */
  close(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#meter.removeBatchObservableCallback(this.#callback, this.#observables);
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
