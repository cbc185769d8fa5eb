/**
 * A real, private Prometheus server (and Pushgateway) for one test file: on
 * 127.0.0.1, on a free port, with a temp config and data folder removed at
 * `stop()`. Queried through its HTTP API, as Grafana would. Also runs
 * `promtool check metrics` on an exposition. Started and stopped by
 * server-process.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type ServerProcess, startServerProcess } from './server-process.ts';

export { freePort } from './server-process.ts';

/** The binaries: PROMETHEUS / PROMTOOL / PUSHGATEWAY if set, else the Debian packages' (.ci/run installs them when missing). */
const PROMETHEUS = process.env.PROMETHEUS ?? 'prometheus';
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
const PUSHGATEWAY = process.env.PUSHGATEWAY ?? 'prometheus-pushgateway';
const READY_WITHIN_MS = 30_000;

export interface ScrapeTarget {
  job: string;
  /** host:port */
  target: string;
  /** Default /metrics. */
  path?: string;
  /** Keep the scraped job/instance labels (a Pushgateway's). */
  honorLabels?: boolean;
}

export interface PromSample {
  metric: Record<string, string>;
  /** [unix seconds, value as text] */
  value: [number, string];
}

export interface PrometheusServer {
  readonly url: string;
  readonly port: number;
  /** Instant query; `time` in unix seconds (default: now). Throws on an API error. */
  query(expr: string, time?: number): Promise<PromSample[]>;
  /** The single value of an instant query, or undefined when it returns nothing. Throws if it returns several series. */
  scalar(expr: string, time?: number): Promise<number | undefined>;
  /** The raw samples of a range selector such as `foo{job="x"}[5m]`, per series: [unix seconds, value][]. */
  samples(selector: string, time?: number): Promise<{ metric: Record<string, string>; values: [number, string][] }[]>;
  /** Unix seconds of the newest sample of `selector` (a range selector) across its series. */
  lastSampleTime(selector: string): Promise<number>;
  /**
   * Waits, up to `timeoutMs` (default 30 s), until Prometheus holds a scrape of `job` that began after `afterMs`
   * (ms since the epoch; with `up`, the first such scrape whose `up` is that), and returns its time (unix seconds)
   * and `up`. Its samples carry the time the scrape began (Prometheus moves it only earlier, by at most 2 ms, to
   * align it), so it began after `afterMs`. Prometheus scrapes a target one scrape at a time and appends each
   * before it begins the next: every earlier scrape of the job is queryable too. (A target that finished sending
   * a response may still have it waiting to be appended; a return from here is the proof that it was.)
   */
  scrapedAfter(job: string, afterMs: number, options?: { up?: 0 | 1; timeoutMs?: number }): Promise<{ time: number; up: number }>;
  /** Polls `expr` until `accept(value)` holds, up to `timeoutMs` (default 30 s); returns the last value. */
  waitFor(expr: string, accept: (value: number | undefined) => boolean, timeoutMs?: number): Promise<number | undefined>;
  /** Stops Prometheus (SIGTERM, SIGKILL after 5 s) and removes its folder. Idempotent. */
  stop(): Promise<void>;
}

/** Starts Prometheus scraping `targets` every `scrapeIntervalMs` (default 1000) and resolves once its API answers. */
export async function startPrometheus(targets: ScrapeTarget[], { scrapeIntervalMs = 1000 } = {}): Promise<PrometheusServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'spawnpool-prometheus-'));
  const interval = `${scrapeIntervalMs}ms`;
  const config = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  scrape_timeout: ${interval}`,
    'scrape_configs:',
    ...targets.flatMap((t) => [
      `  - job_name: ${JSON.stringify(t.job)}`,
      `    metrics_path: ${JSON.stringify(t.path ?? '/metrics')}`,
      ...(t.honorLabels ? ['    honor_labels: true'] : []),
      '    static_configs:',
      `      - targets: [${JSON.stringify(t.target)}]`,
    ]),
  ].join('\n');
  await writeFile(path.join(dir, 'prometheus.yml'), `${config}\n`);
  const started = await startHttpServer(PROMETHEUS, 'install the prometheus package (.ci/run does when it is missing)', dir, (port) => [
    `--config.file=${path.join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ]);
  const api = async (expr: string, time?: number): Promise<PromSample[]> => {
    const params = new URLSearchParams({ query: expr, ...(time === undefined ? {} : { time: time.toFixed(3) }) });
    const res = await fetch(`${started.url}/api/v1/query?${params}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: PromSample[] | [number, string] } };
    if (body.status !== 'success') throw new Error(`Prometheus query failed: ${expr}: ${body.error ?? res.status}`);
    const data = body.data!;
    if (data.resultType === 'scalar') return [{ metric: {}, value: data.result as [number, string] }];
    return data.result as PromSample[];
  };
  const samples = async (selector: string, time?: number) =>
    (await api(selector, time)) as unknown as { metric: Record<string, string>; values: [number, string][] }[];
  const scalar = async (expr: string, time?: number) => {
    const result = await api(expr, time);
    if (result.length > 1) throw new Error(`${expr} returned ${result.length} series: ${JSON.stringify(result.map((r) => r.metric))}`);
    return result[0] === undefined ? undefined : Number(result[0].value[1]);
  };
  return {
    url: started.url,
    port: started.port,
    query: api,
    scalar,
    samples,
    async lastSampleTime(selector) {
      const series = await samples(selector);
      const times = series.flatMap((s) => s.values.map(([t]) => t));
      if (times.length === 0) throw new Error(`Prometheus has no samples of ${selector}`);
      return Math.max(...times);
    },
    async scrapedAfter(job, afterMs, { up, timeoutMs = 30_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        // Raw samples: each one's own time and value (an instant query would give the evaluation time).
        const scrapes = (await samples(`up{job=${JSON.stringify(job)}}[10m]`)).flatMap((s) => s.values);
        // Sample times are whole milliseconds, sent as seconds with three decimals.
        const found = scrapes.find(([time, value]) => Math.round(time * 1000) > afterMs && (up === undefined || Number(value) === up));
        if (found !== undefined) return { time: found[0], up: Number(found[1]) };
        if (Date.now() > deadline) {
          throw new Error(
            `Prometheus: no scrape of job ${job}${up === undefined ? '' : ` with up ${up}`} after ${new Date(afterMs).toISOString()} within ${timeoutMs} ms`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async waitFor(expr, accept, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let value = await scalar(expr);
      while (!accept(value)) {
        if (Date.now() > deadline) throw new Error(`Prometheus: ${expr} was still ${String(value)} after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
        value = await scalar(expr);
      }
      return value;
    },
    stop: started.stop,
  };
}

export interface Pushgateway {
  readonly url: string;
  readonly port: number;
  /** host:port, for a Prometheus scrape target. */
  readonly target: string;
  stop(): Promise<void>;
}

/** Starts a real Pushgateway (Debian package prometheus-pushgateway), no persistence. */
export async function startPushgateway(): Promise<Pushgateway> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'spawnpool-pushgateway-'));
  const started = await startHttpServer(PUSHGATEWAY, 'install the prometheus-pushgateway package (.ci/run does when it is missing)', dir, (port) => [
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ]);
  return { url: started.url, port: started.port, target: `127.0.0.1:${started.port}`, stop: started.stop };
}

/** `promtool check metrics` on an exposition: resolves with its complaints ('' when clean). */
export function promtoolCheck(exposition: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(PROMTOOL, ['check', 'metrics'], (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT')
        reject(new Error(`${PROMTOOL} not found on PATH: install the prometheus package (.ci/run does when it is missing)`));
      else resolve(`${stdout}${stderr}`.trim() + (error ? `\n(exit ${String(error.code)})` : ''));
    });
    child.stdin!.end(exposition);
  });
}

/** Prometheus and the Pushgateway both answer GET /-/ready once they serve. */
async function startHttpServer(binary: string, install: string, dir: string, args: (port: number) => string[]): Promise<ServerProcess & { url: string }> {
  const server = await startServerProcess({
    binary,
    install,
    dir,
    args,
    async ready(port) {
      try {
        return (await fetch(`http://127.0.0.1:${port}/-/ready`)).ok;
      } catch {
        // Not listening yet.
        return false;
      }
    },
    readyWithinMs: READY_WITHIN_MS,
  });
  return { ...server, url: `http://127.0.0.1:${server.port}` };
}
