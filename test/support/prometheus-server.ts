/**
 * A real, private Prometheus server (and Pushgateway) for one test file: on
 * 127.0.0.1, on a free port, with a temp config and data folder removed at
 * `stop()`. Queried through its HTTP API, as Grafana would. Also runs
 * `promtool check metrics` on an exposition.
 *
 * Prometheus cannot report the port it picked for `:0`, so a free port is
 * found by binding a socket to port 0 and closing it; if another process
 * takes it before Prometheus binds it, a new one is tried.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The binaries: PROMETHEUS / PROMTOOL / PUSHGATEWAY if set, else the Debian packages' (.ci/run installs them when missing). */
const PROMETHEUS = process.env.PROMETHEUS ?? 'prometheus';
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
const PUSHGATEWAY = process.env.PUSHGATEWAY ?? 'prometheus-pushgateway';
const READY_WITHIN_MS = 30_000;
const PORT_ATTEMPTS = 5;

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
  const started = await startBinary(
    PROMETHEUS,
    dir,
    (port) => [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    '/-/ready',
  );
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
  const started = await startBinary(PUSHGATEWAY, dir, (port) => [`--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], '/-/ready');
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

interface Started {
  url: string;
  port: number;
  stop(): Promise<void>;
}

async function startBinary(binary: string, dir: string, args: (port: number) => string[], readyPath: string): Promise<Started> {
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    const child = spawn(binary, args(port), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (log = (log + s).slice(-4000)));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (log = (log + s).slice(-4000)));
    const spawned = await Promise.race([once(child, 'spawn').then(() => undefined), once(child, 'error').then(([e]) => e as NodeJS.ErrnoException)]);
    if (spawned !== undefined) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(
        spawned.code === 'ENOENT' ? `${binary} not found on PATH (.ci/run installs it when missing)` : `cannot start ${binary}: ${spawned.message}`,
      );
    }
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    const url = `http://127.0.0.1:${port}`;
    const up = await waitForReady(`${url}${readyPath}`, child);
    if (up === true) {
      let stopped: Promise<void> | undefined;
      return {
        url,
        port,
        stop() {
          stopped ??= (async () => {
            await stopChild(child);
            process.off('exit', killOnExit);
            await rm(dir, { recursive: true, force: true });
          })();
          return stopped;
        },
      };
    }
    await stopChild(child);
    process.off('exit', killOnExit);
    lastError = new Error(`${binary} on port ${port} did not become ready: ${up}\n${log}`);
    if (!/address already in use/i.test(log)) break;
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError ?? new Error(`${binary} did not start`);
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitForReady(url: string, child: ChildProcess): Promise<true | string> {
  const deadline = Date.now() + READY_WITHIN_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return `it exited (${child.exitCode ?? child.signalCode})`;
    try {
      if ((await fetch(url)).ok) return true;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return `no answer within ${READY_WITHIN_MS} ms`;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
