/**
 * Prometheus export with prom-client: every record drained from a spawner's
 * ring is observed into histograms and counters of one registry that belongs
 * to that spawner (or to the user, who passed it in). Never prom-client's
 * global registry: two spawners in one process must not mix their figures.
 */
import { createRequire } from 'node:module';
import type { Counter, Histogram, Registry } from 'prom-client';
import { ConfigError } from '../errors.ts';
import type { SpawnerMetrics } from '../metrics/spawner-metrics.ts';
import { ERRORS, HISTOGRAMS, observationsOf, RING_DROPPED, RING_WRITTEN, SPAWNS, type HistogramKey } from './instruments.ts';

type PromClient = typeof import('prom-client');

const require = createRequire(import.meta.url);
let promClient: PromClient | undefined;

// Loading prom-client costs 100-300 ms; a spawner with Prometheus export off never pays it.
function loadPromClient(): PromClient {
  promClient ??= require('prom-client') as PromClient;
  return promClient;
}

/** Observes a spawner's records into a prom-client registry. */
export class PrometheusExporter {
  /** Holds this spawner's metrics; the user's own metrics too, if they passed it in. */
  readonly registry: Registry;
  readonly #histograms: Record<HistogramKey, Histogram<'agent' | 'outcome'>>;
  readonly #spawns: Counter<'agent' | 'stage' | 'outcome'>;
  readonly #errors: Counter<'agent' | 'stage' | 'code'>;

  /** Throws ConfigError when `registry` already holds spawnpool metrics (another spawner's). */
  constructor(metrics: SpawnerMetrics, registry?: Registry) {
    const prom = loadPromClient();
    this.registry = registry ?? new prom.Registry();
    const taken = [RING_WRITTEN.prometheus, ...HISTOGRAMS.map((h) => h.prometheus), SPAWNS.prometheus].find((name) => this.registry.getSingleMetric(name) !== undefined);
    if (taken !== undefined) {
      throw new ConfigError(`Expected the \`prometheusRegistry\` option to be a registry without spawnpool metrics, but it already holds \`${taken}\` (from another Spawner?): give each Spawner its own Registry`);
    }
    const registers = [this.registry];
    const ring = metrics.ring;

    // Registered first so that a scrape of the registry drains the ring before the histograms are read.
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
    const histograms: Partial<Record<HistogramKey, Histogram<'agent' | 'outcome'>>> = {};
    for (const def of HISTOGRAMS) {
      histograms[def.key] = new prom.Histogram({ name: def.prometheus, help: def.help, labelNames: ['agent', 'outcome'], buckets: [...def.buckets], registers });
    }
    this.#histograms = histograms as Record<HistogramKey, Histogram<'agent' | 'outcome'>>;
    this.#spawns = new prom.Counter({ name: SPAWNS.prometheus, help: SPAWNS.help, labelNames: ['agent', 'stage', 'outcome'], registers });
    this.#errors = new prom.Counter({ name: ERRORS.prometheus, help: ERRORS.help, labelNames: ['agent', 'stage', 'code'], registers });
    metrics.subscribe((record) => {
      const o = observationsOf(record);
      for (const [key, value] of Object.entries(o.seconds) as [HistogramKey, number][]) {
        this.#histograms[key].observe({ agent: o.agent, outcome: o.outcome }, value);
      }
      this.#spawns.inc({ agent: o.agent, stage: o.stage, outcome: o.outcome });
      if (o.code !== undefined) this.#errors.inc({ agent: o.agent, stage: o.stage, code: o.code });
    });
  }

  /** The registry in the text exposition format; the ring-written counter's collect() drains the ring first. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
