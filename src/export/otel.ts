/**
 * OpenTelemetry export: the instruments of instruments.ts, recorded on a
 * Meter the user passes in (their MeterProvider decides where they go). Only
 * types come from @opentelemetry/api: the user's copy of the API is the one
 * whose Meter we are handed.
 */
import type { Attributes, BatchObservableCallback, Counter, Histogram, Meter, ObservableCounter } from '@opentelemetry/api';
import type { SpawnerMetrics } from '../metrics/spawner-metrics.ts';
import { ERRORS, HISTOGRAMS, observationsOf, RING_DROPPED, RING_WRITTEN, SPAWNS, type HistogramKey } from './instruments.ts';

/** Records a spawner's records on an OpenTelemetry Meter until `close()`. */
export class OtelExporter {
  readonly #unsubscribe: () => void;
  readonly #meter: Meter;
  readonly #ringObservables: ObservableCounter[];
  readonly #ringCallback: BatchObservableCallback;

  constructor(metrics: SpawnerMetrics, meter: Meter) {
    this.#meter = meter;
    const histograms = {} as Record<HistogramKey, Histogram>;
    for (const def of HISTOGRAMS) {
      histograms[def.key] = meter.createHistogram(def.otel, { description: def.help, unit: 's', advice: { explicitBucketBoundaries: [...def.buckets] } });
    }
    const spawns: Counter = meter.createCounter(SPAWNS.otel, { description: SPAWNS.help, unit: '{outcome}' });
    const errors: Counter = meter.createCounter(ERRORS.otel, { description: ERRORS.help, unit: '{error}' });
    const written = meter.createObservableCounter(RING_WRITTEN.otel, { description: RING_WRITTEN.help, unit: '{record}' });
    const dropped = meter.createObservableCounter(RING_DROPPED.otel, { description: RING_DROPPED.help, unit: '{record}' });
    this.#ringObservables = [written, dropped];
    // Ring counters are atomics in shared memory: read at collection time, they are never stale.
    this.#ringCallback = (result) => {
      const counters = metrics.ring.counters();
      result.observe(written, counters.written);
      result.observe(dropped, counters.dropped);
    };
    meter.addBatchObservableCallback(this.#ringCallback, this.#ringObservables);

    this.#unsubscribe = metrics.subscribe((record) => {
      const o = observationsOf(record);
      const attributes: Attributes = { agent: o.agent, outcome: o.outcome };
      for (const [key, value] of Object.entries(o.seconds) as [HistogramKey, number][]) histograms[key].record(value, attributes);
      spawns.add(1, { agent: o.agent, stage: o.stage, outcome: o.outcome });
      if (o.code !== undefined) errors.add(1, { agent: o.agent, stage: o.stage, code: o.code });
    });
  }

  /** Stops recording; instruments already created stay with the Meter. Idempotent. */
  close(): void {
    this.#unsubscribe();
    this.#meter.removeBatchObservableCallback(this.#ringCallback, this.#ringObservables);
  }
}
