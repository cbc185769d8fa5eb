/**
 * A real Prometheus server scrapes two library hosts: one exporting through
 * prom-client (`serveMetrics`), one through OpenTelemetry's own Prometheus
 * exporter (@opentelemetry/exporter-prometheus, with otelPrometheusViews()).
 * Each runs a harness-like batch (a unique agent name per task) twice, and a
 * batch of agents that wait; then we ask Prometheus, through its HTTP API,
 * what a dashboard would: increase() of every counter must equal what
 * spawnpool counted, histogram_quantile(0.95) must be within 10% of
 * spawnpool's own p95 over the same spawns, and the README's and the Grafana
 * dashboard's queries must answer as written. Every exposition passes
 * `promtool check metrics`.
 *
 * Exact increase(): every series is at 0 in Prometheus before its first
 * increment (created when the exporter starts), and the queries are
 * evaluated at the time of the newest sample, so Prometheus extrapolates
 * neither end of the range.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PrometheusExporter as OtelPrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otelPrometheusViews, serveMetrics, Spawner, type MetricsServer } from '../../src/index.ts';
import { latencyStats } from '../../src/metrics/stats.ts';
import { promtoolCheck, startPrometheus, type PrometheusServer } from '../support/prometheus-server.ts';
import { p95Error } from '../support/p95.ts';
import { countedFrom, harnessAgents, runAll, type Counted } from './fixtures-harness.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const RANGE = '10m';

interface Host {
  job: 'lib' | 'otel';
  spawner: Spawner;
  url: string;
  counted: Counted;
  /** spawnpool's own p95 over every spawn of the host (latencyStats, as in batch summaries), seconds. */
  p95: number;
  spawnedSamples: number;
  /** Every successful spawn's latency, ms. */
  spawnMs: number[];
  runningSeen: number | undefined;
  /** Ms since the epoch when its batches had ended and every record of them was drained into its exporter. */
  doneAt: number;
  close(): Promise<void>;
}

/** A host before its batches: what exercise() adds is still to come. */
type StartedHost = Omit<Host, 'counted' | 'p95' | 'spawnedSamples' | 'spawnMs' | 'runningSeen' | 'doneAt'>;

let prometheus: PrometheusServer;
const hosts: Host[] = [];
const cleanups: (() => Promise<void>)[] = [];

async function libHost(): Promise<StartedHost> {
  const spawner = new Spawner({ workers: 2 });
  const server: MetricsServer = await serveMetrics(spawner.metrics, 0);
  return {
    job: 'lib',
    spawner,
    url: server.url,
    close: async () => {
      await spawner.close();
      await server.close();
    },
  };
}

async function otelHost(): Promise<StartedHost> {
  const exporter = new OtelPrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ views: otelPrometheusViews(), readers: [exporter] });
  const spawner = new Spawner({ workers: 2, prometheus: false, meter: provider.getMeter('spawnpool') });
  const server: Server = createServer((req, res) => exporter.getMetricsRequestHandler(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    job: 'otel',
    spawner,
    url: `http://127.0.0.1:${port}/metrics`,
    close: async () => {
      await spawner.close();
      await provider.shutdown();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Runs the host's batches while Prometheus scrapes it. */
async function exercise(h: StartedHost, dir: string): Promise<Host> {
  // 8 in flight, as a harness would: spawn latency then excludes the queue wait, which has its own histogram.
  const first = await runAll(h.spawner, harnessAgents(`${h.job}-b1`), { concurrency: 8 });
  // Three agents that run until released: Prometheus must see them running.
  const release = path.join(dir, `release-${h.job}`);
  const waiters = Array.from({ length: 3 }, (_, i) => ({
    name: `${h.job}-waiter-${i}`,
    command: 'sh',
    args: ['-c', `while [ ! -e '${release}' ]; do sleep 0.02; done`],
  }));
  const waiting = runAll(h.spawner, waiters);
  const runningSeen = await prometheus.waitFor(`sum(spawnpool_agents_running{job="${h.job}"})`, (v) => v === 3);
  await writeFile(release, '');
  const second = await waiting;
  const third = await runAll(h.spawner, harnessAgents(`${h.job}-b2`), { concurrency: 8 });
  const counted = countedFrom([first, second, third]);
  // snapshot() drains the ring: from here on, the exporter holds every record of the batches.
  expect(h.spawner.metrics.snapshot().dropped).toBe(0);
  const doneAt = Date.now();
  // spawnpool's own p95 over every spawn of the host, as its batch summaries compute it (the SPAWN records hold the same durations).
  const spawnMs = [first, second, third].flatMap((r) => r.outcomes.filter((o) => o.ok).map((o) => o.timings.spawnMs));
  const own = latencyStats(spawnMs);
  return { ...h, counted, p95: own.p95Ms! / 1000, spawnedSamples: own.samples, spawnMs, runningSeen, doneAt };
}

/** Evaluation time: the newest sample of the job, so no end of a range is extrapolated. */
async function lastScrape(job: string): Promise<number> {
  return prometheus.lastSampleTime(`spawnpool_ring_records_written_total{job="${job}"}[${RANGE}]`);
}

beforeAll(async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'spawnpool-scrape-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const lib = await libHost();
  cleanups.push(lib.close);
  const otel = await otelHost();
  cleanups.push(otel.close);
  // Both hosts' workers started (and tokenizers loaded) before any batch: no spawn waits on another host's start-up.
  await Promise.all([lib.spawner.ready, otel.spawner.ready]);
  prometheus = await startPrometheus(
    [
      { job: 'lib', target: new URL(lib.url).host },
      { job: 'otel', target: new URL(otel.url).host },
    ],
    { scrapeIntervalMs: 500 },
  );
  cleanups.push(() => prometheus.stop());
  // Prometheus holds every counter at 0 before the first spawn.
  for (const job of ['lib', 'otel']) {
    await prometheus.waitFor(`sum(spawnpool_spawns_total{job="${job}"})`, (v) => v === 0);
    await prometheus.waitFor(`count(spawnpool_errors_total{job="${job}"} == 0)`, (v) => v === 20);
  }
  hosts.push(await exercise(lib, dir), await exercise(otel, dir));
  // Wait until Prometheus holds a scrape of each host that began after its batches were drained: that scrape, and
  // every one after it, has the final figures. (runs_total at its count would not prove that: a failed build or spawn
  // has no run, so the last record of a batch can come after its last exit.)
  for (const h of hosts) await prometheus.scrapedAfter(h.job, h.doneAt, { up: 1 });
}, 240_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
}, 60_000);

describe.each(['lib', 'otel'] as const)('Prometheus scraping a library host (%s)', (job) => {
  const host = () => hosts.find((h) => h.job === job)!;

  it('increase() of every counter equals what spawnpool counted', async () => {
    const h = host();
    const t = await lastScrape(job);
    const inc = (selector: string) => prometheus.scalar(`sum(increase(${selector}[${RANGE}]))`, t);
    for (const [metric, counts] of [
      ['spawnpool_builds_total', h.counted.builds],
      ['spawnpool_spawns_total', h.counted.spawns],
      ['spawnpool_runs_total', h.counted.runs],
    ] as const) {
      expect(await inc(`${metric}{job="${job}", outcome="ok"}`), `${metric} ok`).toBe(counts.ok);
      expect(await inc(`${metric}{job="${job}", outcome="failed"}`), `${metric} failed`).toBe(counts.failed);
    }
    // The ring's own totals agree with the outcomes: one SPAWN record per agent, one EXIT per spawned agent.
    const totals = h.spawner.metrics.snapshot().totals;
    expect(totals.spawn).toEqual(h.counted.spawns);
    expect(totals.exit).toEqual(h.counted.runs);
    expect(totals.build).toEqual(h.counted.builds);
    // Errors: one per failed agent, at its stage; the failed builds counted once, not twice.
    const errors = await prometheus.query(`sum by (stage, error_type) (increase(spawnpool_errors_total{job="${job}"}[${RANGE}])) > 0`, t);
    expect(new Map(errors.map((e) => [`${e.metric.stage} ${e.metric.error_type}`, Number(e.value[1])]))).toEqual(h.counted.errors);
    expect(h.counted.errors.get('build E_BUILD')).toBe(4);
    expect(await inc(`spawnpool_batches_total{job="${job}"}`)).toBe(3);
    // Running agents: the three waiters, while they waited.
    expect(h.runningSeen).toBe(3);
    expect(await prometheus.scalar(`sum(spawnpool_agents_running{job="${job}"})`, t)).toBe(0);
    expect(await prometheus.scalar(`sum(spawnpool_agents_pending{job="${job}"})`, t)).toBe(0);
    // No series folded into an overflow series (the OpenTelemetry SDK's cardinality limit).
    expect(await prometheus.query(`{job="${job}", otel_metric_overflow="true"}`, t)).toEqual([]);
  });

  it("histogram_quantile(0.95) is within 10% of spawnpool's own p95 over the same spawns", async () => {
    const h = host();
    const t = await lastScrape(job);
    // prom-client's series exist from the start: increase() over the run. OpenTelemetry histograms appear at their first
    // measurement (the API cannot create one at 0), so there the cumulative buckets are the run.
    const buckets =
      job === 'lib'
        ? `increase(spawnpool_spawn_duration_seconds_bucket{job="${job}", outcome="ok"}[${RANGE}])`
        : `spawnpool_spawn_duration_seconds_bucket{job="${job}", outcome="ok"}`;
    const p95 = (await prometheus.scalar(`histogram_quantile(0.95, sum by (le) (${buckets}))`, t))!;
    expect(p95Error(p95, h.spawnMs, h.p95), `Prometheus ${p95} s, spawnpool ${h.p95} s`).toBeLessThanOrEqual(0.1);
    const count = await prometheus.scalar(`sum(spawnpool_spawn_duration_seconds_count{job="${job}", outcome="ok"})`, t);
    expect(count).toBe(h.spawnedSamples);
    const queued = await prometheus.scalar(`sum(spawnpool_queue_wait_seconds_count{job="${job}"})`, t);
    expect(queued).toBe(h.counted.spawns.ok + h.counted.spawns.failed);
  });

  it('every exposition passes promtool check metrics', async () => {
    const text = await (await fetch(host().url)).text();
    expect(text).toContain('spawnpool_spawns_total');
    expect(await promtoolCheck(text)).toBe('');
  });
});

describe('the same dashboards for both exporters', () => {
  it('OpenTelemetry (with otelPrometheusViews) yields the metric names and labels prom-client does', async () => {
    const shape = async (job: string) => {
      const series = await prometheus.query(`{job="${job}", __name__=~"spawnpool_.+"}`, await lastScrape(job));
      const ignored = new Set(['job', 'instance', 'otel_scope_name', 'otel_scope_version', 'otel_scope_schema_url', 'run_id']);
      return [
        ...new Set(
          series.map(
            (s) =>
              `${s.metric.__name__}{${Object.keys(s.metric)
                .filter((k) => k !== '__name__' && !ignored.has(k))
                .sort()
                .join(',')}}`,
          ),
        ),
      ].sort();
    };
    const lib = await shape('lib');
    expect(lib).toContain('spawnpool_spawn_duration_seconds_bucket{le,outcome}');
    expect(lib).toContain('spawnpool_errors_total{error_type,stage}');
    expect(await shape('otel')).toEqual(lib);
  });

  it("the README's queries work as written", async () => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    const block = /```promql\n([\s\S]*?)```/.exec(readme)![1]!;
    const queries = block
      .split('\n\n')
      .map((q) => q.trim().replace(/\s*\n\s*/g, ' '))
      .filter((q) => q !== '');
    expect(queries.length).toBeGreaterThanOrEqual(3);
    // As written, without a job: they cover both hosts, so spawnpool's figures are both hosts' together.
    const t = Math.max(await lastScrape('lib'), await lastScrape('otel'));
    const answers = await Promise.all(queries.map((q) => prometheus.scalar(q.replaceAll('[5m]', `[${RANGE}]`), t)));
    const both = (f: (h: Host) => number) => hosts.reduce((n, h) => n + f(h), 0);
    // In README order: spawn p95, spawn success rate, run success rate, queue wait p95, running agents.
    // Both hosts together; the OpenTelemetry host's first scrape of spawns is not in increase() (see the dashboard
    // test), so this is held to the range of the spawns, and the 10% check is the prom-client host's, above.
    const all = hosts.flatMap((h) => h.spawnMs).map((ms) => ms / 1000);
    expect(answers[0]!).toBeGreaterThanOrEqual(Math.min(...all) / 1.1);
    expect(answers[0]!).toBeLessThanOrEqual(Math.max(...all) * 1.1);
    expect(answers[1]).toBeCloseTo(both((h) => h.counted.spawns.ok) / both((h) => h.counted.spawns.ok + h.counted.spawns.failed), 12);
    expect(answers[2]).toBeCloseTo(both((h) => h.counted.runs.ok) / both((h) => h.counted.runs.ok + h.counted.runs.failed), 12);
    expect(answers[3]).toBeGreaterThan(0);
    expect(answers[4]).toBe(0);
    const h = hosts.find((x) => x.job === 'lib')!;
    await printComparison(h, await lastScrape('lib'));
  });

  it("the Grafana dashboard's queries answer for both exporters", async () => {
    const dashboard = JSON.parse(await readFile(path.join(ROOT, 'examples/grafana/spawnpool.json'), 'utf8')) as {
      panels: { title: string; targets: { expr: string; refId: string }[] }[];
    };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ title: p.title, ref: t.refId, expr: t.expr })));
    expect(exprs.length).toBeGreaterThanOrEqual(10);
    for (const h of hosts) {
      const t = await lastScrape(h.job);
      const answer = async (title: string, ref = 'A') => {
        const e = exprs.find((x) => x.title === title && x.ref === ref)!;
        return prometheus.query(e.expr.replaceAll('$__rate_interval', RANGE).replaceAll('$job', h.job), t);
      };
      for (const e of exprs) {
        const result = await answer(e.title, e.ref);
        expect(result.length, `${h.job}: ${e.title} (${e.ref}) returned nothing`).toBeGreaterThan(0);
      }
      const one = async (title: string, ref = 'A') => Number((await answer(title, ref))[0]!.value[1]);
      const p95 = await one('Spawn latency p95 / p50');
      // An OpenTelemetry histogram appears at its first measurement (the API cannot create it at 0), so increase()
      // over the run leaves that first scrape's spawns out: its p95 is of the later spawns only. prom-client's is whole.
      if (h.job === 'lib') expect(p95Error(p95, h.spawnMs, h.p95)).toBeLessThanOrEqual(0.1);
      else expect(p95).toBeGreaterThanOrEqual(Math.min(...h.spawnMs) / 1000 / 1.1);
      expect(await one('Spawn success rate')).toBeCloseTo(h.counted.spawns.ok / (h.counted.spawns.ok + h.counted.spawns.failed), 12);
      expect(await one('Run success rate (exit 0)')).toBeCloseTo(h.counted.runs.ok / (h.counted.runs.ok + h.counted.runs.failed), 12);
      expect(await one('Agents running / pending')).toBe(0);
      // The last batch that ended: the second harness batch, 30 of its 40 agents exited 0.
      expect(await one('Last batch (Pushgateway, textfile)')).toBeCloseTo(30 / 40, 12);
      expect(await one('Ring records dropped')).toBe(0);
    }
  });
});

/** Prometheus's answers beside spawnpool's own, printed for the record. */
async function printComparison(h: Host, t: number): Promise<void> {
  const inc = async (selector: string) => prometheus.scalar(`sum(increase(${selector}[${RANGE}]))`, t);
  const rate = async (metric: string) =>
    prometheus.scalar(`sum(rate(${metric}{job="lib", outcome="ok"}[${RANGE}])) / sum(rate(${metric}{job="lib"}[${RANGE}]))`, t);
  const rows: [string, unknown, unknown][] = [
    [
      'spawn p95 s',
      await prometheus.scalar(`histogram_quantile(0.95, sum by (le) (rate(spawnpool_spawn_duration_seconds_bucket{job="lib", outcome="ok"}[${RANGE}])))`, t),
      h.p95,
    ],
    [
      'spawn p50 s',
      await prometheus.scalar(`histogram_quantile(0.5, sum by (le) (rate(spawnpool_spawn_duration_seconds_bucket{job="lib", outcome="ok"}[${RANGE}])))`, t),
      latencyStats(h.spawnMs).p50Ms! / 1000,
    ],
    ['spawn success rate', await rate('spawnpool_spawns_total'), h.counted.spawns.ok / (h.counted.spawns.ok + h.counted.spawns.failed)],
    ['run success rate', await rate('spawnpool_runs_total'), h.counted.runs.ok / (h.counted.runs.ok + h.counted.runs.failed)],
  ];
  for (const metric of ['builds', 'spawns', 'runs'] as const) {
    for (const outcome of ['ok', 'failed'] as const)
      rows.push([`${metric} ${outcome}`, await inc(`spawnpool_${metric}_total{job="lib", outcome="${outcome}"}`), h.counted[metric][outcome]]);
  }
  rows.push(['errors (all)', await inc('spawnpool_errors_total{job="lib"}'), [...h.counted.errors.values()].reduce((a, b) => a + b, 0)]);
  process.stdout.write(
    `\nPrometheus 2.42 (at the newest sample) vs spawnpool, job lib:\n${'  figure'.padEnd(24)}${'Prometheus'.padEnd(24)}spawnpool\n${rows.map(([k, p, s]) => `  ${k.padEnd(22)}${String(p).padEnd(24)}${String(s)}`).join('\n')}\n`,
  );
}
