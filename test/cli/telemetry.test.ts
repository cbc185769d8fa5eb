import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, watch } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { withTempDir } from '../helpers.ts';
import { parsePrometheus, sample } from '../export/fixtures.ts';
import { CLI, ROOT } from './run-cli.ts';


function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Resolves when `file` exists (fs.watch on its folder: no polling in the test). */
async function fileAppears(file: string): Promise<void> {
  const watcher = watch(path.dirname(file));
  try {
    while (!existsSync(file)) await once(watcher, 'change');
  } finally {
    watcher.close();
  }
}

describe('spawnpool run: telemetry flags', () => {
  it('--serve-metrics serves /metrics on 127.0.0.1 while the batch runs; --metrics-out and --db record it', { timeout: 120_000 }, async () => {
    await withTempDir(async (dir) => {
      const started = path.join(dir, 'started');
      const release = path.join(dir, 'release');
      // The agent says it runs, then waits (polling on its side) until the test releases it.
      const agentsFile = path.join(dir, 'agents.json');
      await writeFile(agentsFile, JSON.stringify({
        agents: [
          { name: 'waiter', command: 'sh', args: ['-c', `touch '${started}'; while [ ! -e '${release}' ]; do sleep 0.02; done`] },
          { name: 'quick', command: 'true' },
        ],
      }));
      const jsonl = path.join(dir, 'records.jsonl');
      const db = path.join(dir, 'history.db');
      const child = spawn(process.execPath, [...CLI, 'run', agentsFile, '--json', '--serve-metrics', '0', '--metrics-out', jsonl, '--db', db], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      const exited = once(child, 'exit');
      let url: string | undefined;
      try {
        const stderr = createInterface({ input: child.stderr! });
        for await (const line of stderr) {
          const m = /serving metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)$/.exec(line);
          if (m) {
            url = m[1];
            break;
          }
        }
        expect(url).toBeDefined();
        await fileAppears(started);

        // The waiter is running until we release it. Its spawn may reach the CLI a moment after the file appears: scrape until it shows.
        let samples = parsePrometheus((await get(url!)).body).samples;
        for (let i = 0; i < 500 && sample(samples, 'spawnpool_spawns_total', { agent: 'waiter', stage: 'spawn', outcome: 'ok' }) === undefined; i++) {
          samples = parsePrometheus((await get(url!)).body).samples;
        }
        expect(existsSync(release)).toBe(false);
        expect(sample(samples, 'spawnpool_spawns_total', { agent: 'waiter', stage: 'spawn', outcome: 'ok' })).toBe(1);
        expect(sample(samples, 'spawnpool_run_duration_seconds_count', { agent: 'waiter', outcome: 'ok' })).toBeUndefined();

        await writeFile(release, '');
        const [code] = await exited;
        expect(code).toBe(0);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      // After the run the endpoint is gone.
      await expect(get(url!)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

      const report = JSON.parse(stdout) as { window: { written: number; dropped: number }; agents: { name: string; ok: boolean }[] };
      const lines = (await readFile(jsonl, 'utf8')).trimEnd().split('\n');
      expect(lines).toHaveLength(report.window.written - report.window.dropped);
      expect(lines.map((l) => (JSON.parse(l) as { agent: string; stage: string }).stage).sort()).toEqual(['exit', 'exit', 'spawn', 'spawn']);

      const stats = await new Promise<string>((resolve, reject) => {
        const c = spawn(process.execPath, [...CLI, 'stats', '--db', db, '--json'], { cwd: ROOT });
        let out = '';
        c.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
        c.on('error', reject);
        c.on('exit', (exitCode) => (exitCode === 0 ? resolve(out) : reject(new Error(`stats exited ${String(exitCode)}`))));
      });
      expect(JSON.parse(stats)).toMatchObject({ batches: 1, total: 2, spawned: 2, succeeded: 2 });
    });
  });
});
