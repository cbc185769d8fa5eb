import { request } from 'node:http';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { serveMetrics } from '../../src/export/metrics-server.ts';
import { withSpawner } from '../support/fixtures.ts';
import { parsePrometheus, sample } from './fixtures.ts';

/** A real HTTP request; resolves with status, headers and body. */
function httpRequest(url: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    // agent: false: a fresh connection each time, so a closed server shows as refused, not as a dead kept-alive socket.
    const req = request(url, { method, agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** This host's non-loopback IPv4 addresses (none in some sandboxes: the check is then skipped). */
function externalAddresses(): string[] {
  return Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).filter((i) => i.family === 'IPv4' && !i.internal).map((i) => i.address));
}

describe('serveMetrics', () => {
  it('serves /metrics on 127.0.0.1 while a batch runs', async () => {
    await withSpawner({ workers: 1 }, async (spawner) => {
      const server = await serveMetrics(spawner.metrics, 0);
      try {
        expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
        expect(server.port).toBeGreaterThan(0);
        // Loopback only: the same port on this host's other addresses refuses the connection.
        for (const address of externalAddresses()) {
          await expect(httpRequest(`http://${address}:${server.port}/metrics`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
        }
        const batch = spawner.spawnBatch([{ name: 'long-runner', command: 'sleep', args: ['30'] }]);
        const iterator = batch[Symbol.asyncIterator]();
        const first = await iterator.next();
        expect(first.value?.ok).toBe(true);

        // Spawned, not exited: the scrape shows the spawn and no run yet.
        const res = await httpRequest(server.url);
        expect(res.status).toBe(200);
        expect(res.type).toMatch(/^text\/plain; version=0\.0\.4/);
        const { samples } = parsePrometheus(res.body);
        expect(sample(samples, 'spawnpool_spawns_total', { outcome: 'ok' })).toBe(1);
        expect(sample(samples, 'spawnpool_agents_running', {})).toBe(1);
        expect(sample(samples, 'spawnpool_run_duration_seconds_count', { outcome: 'ok' })).toBe(0);
        expect(sample(samples, 'spawnpool_run_duration_seconds_count', { outcome: 'failed' })).toBe(0);

        expect((await httpRequest(server.url.replace('/metrics', '/other'))).status).toBe(404);
        expect((await httpRequest(server.url, 'POST')).status).toBe(405);

        batch.abort();
        const [result] = await batch.results;
        expect(result!.stage).toBe('aborted');
        const after = parsePrometheus((await httpRequest(server.url)).body).samples;
        expect(sample(after, 'spawnpool_runs_total', { outcome: 'failed' })).toBe(1);
        expect(sample(after, 'spawnpool_errors_total', { stage: 'aborted', error_type: 'E_ABORTED' })).toBe(1);
      } finally {
        await server.close();
      }
      await expect(httpRequest(server.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    });
  });

  it('waitForScrape() resolves once a scrape that started after the given time was answered, and times out otherwise', async () => {
    await withSpawner({ workers: 1 }, async (spawner) => {
      const server = await serveMetrics(spawner.metrics, 0);
      try {
        expect(await server.waitForScrape({ timeoutMs: 50 })).toBe(false);
        await httpRequest(server.url, 'HEAD');
        await httpRequest(server.url.replace('/metrics', '/x'));
        // Neither a HEAD nor a 404 is a scrape.
        expect(server.scrapes).toBe(0);
        const before = Date.now();
        await httpRequest(server.url);
        expect(server.scrapes).toBe(1);
        expect(await server.waitForScrape({ after: before, timeoutMs: 50 })).toBe(true);
        // A scrape from before `after` does not count; the next one does.
        const waiting = server.waitForScrape({ after: Date.now() + 1, timeoutMs: 10_000 });
        await new Promise((resolve) => setTimeout(resolve, 5));
        await httpRequest(server.url);
        expect(await waiting).toBe(true);
        // A scrape answered after the timeout the scraper states was dropped by it: not a scrape. One answered
        // within it is (1 us cannot be met by a real response; an hour always is).
        const counted = server.scrapes;
        await httpRequest(server.url, 'GET', { 'X-Prometheus-Scrape-Timeout-Seconds': '0.000001' });
        expect(server.scrapes).toBe(counted);
        await httpRequest(server.url, 'GET', { 'X-Prometheus-Scrape-Timeout-Seconds': '3600' });
        expect(server.scrapes).toBe(counted + 1);
      } finally {
        await server.close();
      }
    });
  });

  it('says when the port is taken', async () => {
    await withSpawner({ workers: 1 }, async (spawner) => {
      const first = await serveMetrics(spawner.metrics, 0);
      try {
        await expect(serveMetrics(spawner.metrics, first.port)).rejects.toMatchObject({ code: 'E_CONFIG', message: expect.stringContaining('in use') });
      } finally {
        await first.close();
      }
    });
  });
});
