import {
  DataPointType,
  InMemoryMetricExporter,
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { BATCHES, COUNTERS, ERRORS, HISTOGRAMS, RING_WRITTEN, errorSeries } from '../../src/export/instruments.ts';
import { otelPrometheusViews } from '../../src/index.ts';
import { withSpawner } from '../support/fixtures.ts';
import { mixedAgents, parsePrometheus, runToEnd, sample } from './fixtures.ts';

/** A real SDK pipeline: MeterProvider → PeriodicExportingMetricReader → InMemoryMetricExporter. */
function otelPipeline(views: ReturnType<typeof otelPrometheusViews> = []) {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exports only when flushed: the test decides when to collect.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader], views });
  return { exporter, reader, provider, meter: provider.getMeter('spawnpool-test') };
}

function metricsByName(exporter: InMemoryMetricExporter): Map<string, MetricData> {
  const all =
    exporter
      .getMetrics()
      .at(-1)
      ?.scopeMetrics.flatMap((s) => s.metrics) ?? [];
  return new Map(all.map((m) => [m.descriptor.name, m]));
}

/** OTel attributes as Prometheus labels: `error.type` → `error_type`. */
function labelsOf(attributes: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k.replaceAll('.', '_'), String(v)]));
}

describe('OpenTelemetry export', () => {
  it('records the same numbers as Prometheus for the same batches, with semantic-convention names and attributes', async () => {
    const otel = otelPipeline();
    try {
      await withSpawner({ meter: otel.meter }, async (spawner) => {
        const agents = [...mixedAgents(), { name: 'bad-template', command: 'cat', prompt: { template: '{{#open}}' } }];
        // Two batches, so counts above one are compared too.
        await runToEnd(spawner.spawnBatch(agents));
        await runToEnd(spawner.spawnBatch(agents));
        const { samples } = parsePrometheus(await spawner.metrics.prometheus());
        await otel.reader.forceFlush();
        const metrics = metricsByName(otel.exporter);

        let compared = 0;
        for (const def of HISTOGRAMS) {
          const m = metrics.get(def.otel);
          expect(m, def.otel).toBeDefined();
          expect(m!.descriptor.unit).toBe('s');
          expect(m!.dataPointType).toBe(DataPointType.HISTOGRAM);
          for (const dp of m!.dataPoints) {
            const labels = labelsOf(dp.attributes);
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
        expect(compared).toBeGreaterThanOrEqual(6);

        for (const def of [...COUNTERS, ERRORS, BATCHES]) {
          const m = metrics.get(def.otel)!;
          expect(m.dataPointType, def.otel).toBe(DataPointType.SUM);
          expect(m.descriptor.unit).toBe(def.unit);
          // The same series, none missing, none extra (zeros included).
          expect(m.dataPoints.length, def.otel).toBe(samples.filter((s) => s.name === def.prometheus).length);
          for (const dp of m.dataPoints) {
            const labels = labelsOf(dp.attributes);
            expect(dp.value, `${def.otel} ${JSON.stringify(labels)}`).toBe(sample(samples, def.prometheus, labels));
          }
        }
        // A failure's code is `error.type`, never `code`; one error per failed agent.
        const errors = metrics.get(ERRORS.otel)!.dataPoints;
        expect(errors.every((dp) => 'error.type' in dp.attributes && !('code' in dp.attributes))).toBe(true);
        expect(errors.length).toBe(errorSeries().length);
        expect(errors.find((dp) => dp.attributes['error.type'] === 'E_TEMPLATE')!.value).toBe(2);
        // Bounded attributes: no agent name anywhere by default.
        for (const m of metrics.values()) for (const dp of m.dataPoints) expect(dp.attributes, m.descriptor.name).not.toHaveProperty('agent');
        const written = metrics.get(RING_WRITTEN.otel)!.dataPoints[0]!.value;
        expect(written).toBe(sample(samples, 'spawnpool_ring_records_written_total', {}));
        expect(written).toBe(spawner.metrics.counters().written);
        expect(metrics.get('spawnpool.agents.running')!.dataPoints[0]!.value).toBe(0);
        expect(metrics.get('spawnpool.last_batch.agents')!.dataPoints[0]!.value).toBe(agents.length);
        expect(metrics.get('spawnpool.spawner.info')!.dataPoints[0]!.attributes).toEqual({ run_id: spawner.metrics.runId });
      });
    } finally {
      await otel.provider.shutdown();
    }
  });

  it("starts every counter at 0, before anything ran (with agentLabels, an agent's when its batch is queued)", async () => {
    const otel = otelPipeline();
    try {
      await withSpawner({ meter: otel.meter, workers: 1, prometheus: false }, async () => {
        await otel.reader.forceFlush();
        const metrics = metricsByName(otel.exporter);
        for (const def of COUNTERS)
          expect(
            metrics
              .get(def.otel)!
              .dataPoints.map((d) => [d.attributes.outcome, d.value])
              .sort(),
            def.otel,
          ).toEqual([
            ['failed', 0],
            ['ok', 0],
          ]);
        expect(metrics.get(ERRORS.otel)!.dataPoints.every((d) => d.value === 0)).toBe(true);
      });
    } finally {
      await otel.provider.shutdown();
    }
    const labelled = otelPipeline();
    try {
      await withSpawner({ meter: labelled.meter, workers: 1, prometheus: false, agentLabels: true }, async (spawner) => {
        const batch = spawner.spawnBatch([{ name: 'queued', command: 'true' }]);
        await labelled.reader.forceFlush();
        const spawns = metricsByName(labelled.exporter).get('spawnpool.spawns')!.dataPoints;
        expect(
          spawns
            .filter((d) => d.attributes.agent === 'queued')
            .map((d) => d.attributes.outcome)
            .sort(),
        ).toEqual(['failed', 'ok']);
        await batch.results;
      });
    } finally {
      await labelled.provider.shutdown();
    }
  });

  it('otelPrometheusViews() renames exactly the instruments in seconds to the prom-client names', async () => {
    const views = otelPrometheusViews();
    expect(views.map((v) => v.name).sort()).toEqual(
      [...HISTOGRAMS.map((h) => h.prometheus), 'spawnpool_last_batch_duration_seconds', 'spawnpool_last_batch_end_timestamp_seconds'].sort(),
    );
    const otel = otelPipeline(views);
    try {
      await withSpawner({ meter: otel.meter, workers: 1, prometheus: false }, async (spawner) => {
        await runToEnd(spawner.spawnBatch([{ name: 'once', command: 'true' }]));
        await otel.reader.forceFlush();
        const names = [...metricsByName(otel.exporter).keys()];
        expect(names).toContain('spawnpool_spawn_duration_seconds');
        expect(names).not.toContain('spawnpool.spawn.duration');
        // Counters keep their semantic-convention names: the exporter adds _total itself.
        expect(names).toContain('spawnpool.spawns');
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
      expect(
        metrics
          .get('spawnpool.spawns')!
          .dataPoints.map((d) => [d.attributes.outcome, d.value])
          .sort(),
      ).toEqual([
        ['failed', 0],
        ['ok', 1],
      ]);
      // The ring callback is gone with the spawner: no more observations of it.
      expect(metrics.get(RING_WRITTEN.otel)?.dataPoints ?? []).toEqual([]);
    } finally {
      await otel.provider.shutdown();
    }
  });
});
