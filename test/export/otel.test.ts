import { DataPointType, InMemoryMetricExporter, AggregationTemporality, MeterProvider, PeriodicExportingMetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { ERRORS, HISTOGRAMS, RING_WRITTEN, SPAWNS } from '../../src/export/instruments.ts';
import { withSpawner } from '../helpers.ts';
import { mixedAgents, parsePrometheus, runToEnd, sample } from './fixtures.ts';

/** A real SDK pipeline: MeterProvider → PeriodicExportingMetricReader → InMemoryMetricExporter. */
function otelPipeline() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exports only when flushed: the test decides when to collect.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  return { exporter, reader, provider, meter: provider.getMeter('spawnpool-test') };
}

function metricsByName(exporter: InMemoryMetricExporter): Map<string, MetricData> {
  const all = exporter.getMetrics().at(-1)?.scopeMetrics.flatMap((s) => s.metrics) ?? [];
  return new Map(all.map((m) => [m.descriptor.name, m]));
}

describe('OpenTelemetry export', () => {
  it('records the same numbers as Prometheus for the same batch', async () => {
    const otel = otelPipeline();
    try {
      await withSpawner({ meter: otel.meter }, async (spawner) => {
        // Two batches, so counts above one are compared too.
        await runToEnd(spawner.spawnBatch(mixedAgents()));
        await runToEnd(spawner.spawnBatch(mixedAgents()));
        const { samples } = parsePrometheus(await spawner.metrics.prometheus());
        await otel.reader.forceFlush();
        const metrics = metricsByName(otel.exporter);

        let compared = 0;
        for (const def of HISTOGRAMS) {
          const m = metrics.get(def.otel);
          expect(m, def.otel).toBeDefined();
          expect(m!.descriptor.unit).toBe('s');
          expect(m!.dataPointType).toBe(DataPointType.HISTOGRAM);
          const promSeries = samples.filter((s) => s.name === `${def.prometheus}_count`);
          expect(m!.dataPoints.length, def.otel).toBe(promSeries.length);
          for (const dp of m!.dataPoints) {
            const labels = { agent: String(dp.attributes.agent), outcome: String(dp.attributes.outcome) };
            const value = dp.value as { count: number; sum: number; buckets: { boundaries: number[]; counts: number[] } };
            expect(value.count, `${def.otel} ${JSON.stringify(labels)}`).toBe(sample(samples, `${def.prometheus}_count`, labels));
            expect(value.sum).toBeCloseTo(sample(samples, `${def.prometheus}_sum`, labels)!, 12);
            expect(value.buckets.boundaries).toEqual([...def.buckets]);
            // OTel counts per bucket; Prometheus buckets are cumulative.
            let cumulative = 0;
            value.buckets.boundaries.forEach((le, i) => {
              cumulative += value.buckets.counts[i]!;
              expect(cumulative).toBe(sample(samples, `${def.prometheus}_bucket`, { ...labels, le: String(le) }));
            });
            compared++;
          }
        }
        expect(compared).toBeGreaterThanOrEqual(8);

        for (const def of [SPAWNS, ERRORS]) {
          const m = metrics.get(def.otel)!;
          expect(m.dataPointType).toBe(DataPointType.SUM);
          const promSeries = samples.filter((s) => s.name === def.prometheus);
          expect(m.dataPoints.length).toBe(promSeries.length);
          for (const dp of m.dataPoints) {
            const labels = Object.fromEntries(Object.entries(dp.attributes).map(([k, v]) => [k, String(v)]));
            expect(dp.value, `${def.otel} ${JSON.stringify(labels)}`).toBe(sample(samples, def.prometheus, labels));
          }
        }
        // Two batches: every agent's spawn stage was counted twice.
        expect(sample(samples, 'spawnpool_spawns_total', { agent: 'missing', stage: 'spawn', outcome: 'failed' })).toBe(2);
        const written = metrics.get(RING_WRITTEN.otel)!.dataPoints[0]!.value;
        expect(written).toBe(sample(samples, 'spawnpool_ring_records_written_total', {}));
        expect(written).toBe(spawner.metrics.ring.counters().written);
      });
    } finally {
      await otel.provider.shutdown();
    }
  });

  it('stops recording when the spawner closes', async () => {
    const otel = otelPipeline();
    try {
      await withSpawner({ meter: otel.meter, workers: 1 }, async (spawner) => {
        await runToEnd(spawner.spawnBatch([{ name: 'once', command: 'true' }]));
      });
      await otel.reader.forceFlush();
      const metrics = metricsByName(otel.exporter);
      expect(metrics.get(SPAWNS.otel)!.dataPoints.map((d) => d.value)).toEqual([1, 1]);
      // The ring callback is gone with the spawner: no more observations of it.
      expect(metrics.get(RING_WRITTEN.otel)?.dataPoints ?? []).toEqual([]);
    } finally {
      await otel.provider.shutdown();
    }
  });
});
