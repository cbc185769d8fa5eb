/**
 * A loopback-only HTTP endpoint serving a spawner's Prometheus metrics:
 * `GET /metrics`. Bound to 127.0.0.1 on purpose: exposing it further is the
 * job of whatever already fronts the host (a reverse proxy, an agent).
 */
import { EventEmitter, once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../errors.ts';
import type { SpawnerMetrics } from '../metrics/spawner-metrics.ts';

export interface MetricsServer {
  /** e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
  readonly port: number;
  /**
   * GET /metrics responses sent in full so far, within the scraper's own
   * timeout when it states one (Prometheus's X-Prometheus-Scrape-Timeout-Seconds):
   * a response finished after it was dropped by the scraper, and is not counted.
   */
  readonly scrapes: number;
  /**
   * Resolves true once a scrape that started at or after `after` (ms since
   * the epoch, default now) has been answered in full: its figures are from
   * then on. Resolves false after `timeoutMs` without one.
   */
  waitForScrape(options: { after?: number; timeoutMs: number }): Promise<boolean>;
  /** Stops listening and closes open connections. Idempotent. */
  close(): Promise<void>;
}

/**
 * Serves `metrics.prometheus()` on `http://127.0.0.1:<port>/metrics`.
 * Port 0 picks a free port (read it from `url` / `port`).
 *
 * @example
 * const server = await serveMetrics(spawner.metrics, 9464);
 * console.error(`metrics on ${server.url}`);
 * // ... batches run, Prometheus scrapes ...
 * await server.close();
 */
export async function serveMetrics(metrics: SpawnerMetrics, port: number): Promise<MetricsServer> {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`Expected the metrics port to be an integer from 0 to 65535, got \`${String(port)}\``);
  }
  const contentType = metrics.prometheusRegistry?.contentType ?? 'text/plain; version=0.0.4; charset=utf-8';
  // Emits 'scrape' with the time each full GET /metrics response was started.
  const scrapes = new EventEmitter();
  let served = 0;
  let lastStartedAt = Number.NEGATIVE_INFINITY;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: try /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('Method not allowed\n');
      return;
    }
    const startedAt = Date.now();
    const t0 = performance.now();
    const timeoutS = Number(req.headers['x-prometheus-scrape-timeout-seconds']);
    if (req.method === 'GET') {
      res.once('finish', () => {
        if (res.statusCode !== 200) return;
        // Prometheus has dropped a scrape that took longer than its timeout: "scraped" must mean "stored".
        if (timeoutS > 0 && performance.now() - t0 > timeoutS * 1000) return;
        served++;
        lastStartedAt = Math.max(lastStartedAt, startedAt);
        scrapes.emit('scrape', startedAt);
      });
    }
    metrics.prometheus().then(
      (text) => res.writeHead(200, { 'content-type': contentType }).end(req.method === 'HEAD' ? undefined : text),
      (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(error as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new ConfigError(`Cannot serve metrics on 127.0.0.1:${port}: ${error.code === 'EADDRINUSE' ? 'the port is in use' : error.message}`, { cause: error }),
      );
    });
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${bound}/metrics`,
    port: bound,
    get scrapes() {
      return served;
    },
    async waitForScrape({ after = Date.now(), timeoutMs }) {
      if (lastStartedAt >= after) return true;
      const timeout = AbortSignal.timeout(Math.max(0, timeoutMs));
      try {
        for (;;) {
          const [startedAt] = (await once(scrapes, 'scrape', { signal: timeout })) as [number];
          if (startedAt >= after) return true;
        }
      } catch {
        return false;
      }
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scraper's keep-alive connection would otherwise hold close() open.
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
