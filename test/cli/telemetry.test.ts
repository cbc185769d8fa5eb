/**
 * `spawnpool run`'s telemetry flags, with the real clients: a real
 * Prometheus scrapes a CLI run's endpoint, a real Pushgateway receives its
 * pushes, promtool checks its textfile, the sqlite3 CLI reads its history.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, watch } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonlLine } from '../../src/index.ts';
import { latencyStats } from '../../src/metrics/stats.ts';
import { withTempDir } from '../support/fixtures.ts';
import { parsePrometheus, sample } from '../export/fixtures.ts';
import { harnessAgents } from '../export/fixtures-harness.ts';
import { sqlite3 } from '../history/fixtures.ts';
import { freePort, promtoolCheck, startPrometheus, startPushgateway, type PrometheusServer, type Pushgateway } from '../support/prometheus-server.ts';
import { p95Error } from '../support/p95.ts';
import { CLI, ROOT, cli } from './run-cli.ts';

interface Report {
  runId: string;
  batch: { batchId: number };
  agents: { name: string; spawned: boolean; ok: boolean; timings: { spawnMs: number; queueMs: number } }[];
}

/** A CLI child whose stdout is collected and whose stderr lines can be awaited. */
function startCli(args: string[]): {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  line(pattern: RegExp): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  const lines = createInterface({ input: child.stderr! });
  const waiting: { pattern: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  lines.on('line', (l) => {
    stderr += `${l}\n`;
    for (const w of [...waiting]) {
      const m = w.pattern.exec(l);
      if (m) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    line: (pattern) => {
      const seen = stderr
        .split('\n')
        .map((l) => pattern.exec(l))
        .find((m) => m !== null);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiting.push({ pattern, resolve });
        void exited.then(() => reject(new Error(`the CLI exited before printing ${pattern}: ${stderr}`)));
      });
    },
    exited,
  };
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
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

const waiterAgent = (name: string, started: string, release: string) => ({
  name,
  command: 'sh',
  args: ['-c', `touch '${started}'; while [ ! -e '${release}' ]; do sleep 0.02; done`],
});

describe('spawnpool run: telemetry flags', () => {
  it('--serve-metrics: the first spawn waits for a first scrape, the endpoint stays up until scraped after the batch; --json, --metrics-out and --db share one run id', {
    timeout: 120_000,
  }, async () => {
    await withTempDir(async (dir) => {
      const started = path.join(dir, 'started');
      const release = path.join(dir, 'release');
      const agentsFile = path.join(dir, 'agents.json');
      await writeFile(agentsFile, JSON.stringify({ agents: [waiterAgent('waiter', started, release), { name: 'quick', command: 'true' }] }));
      const jsonl = path.join(dir, 'records.jsonl');
      const db = path.join(dir, 'history.db');
      const run = startCli(['run', agentsFile, '--json', '--serve-metrics', '0', '--metrics-linger', '60s', '--metrics-out', jsonl, '--db', db]);
      try {
        const url = (await run.line(/serving metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)$/))[1]!;
        await run.line(/waiting for a first scrape/);
        // Nothing spawned before the first scrape: that scrape holds every series at 0.
        expect(existsSync(started)).toBe(false);
        const first = parsePrometheus((await get(url)).body).samples;
        expect(sample(first, 'spawnpool_spawns_total', { outcome: 'ok' })).toBe(0);
        await fileAppears(started);
        // The waiter runs until released; its spawn may reach the CLI a moment after its file appears: scrape until it shows.
        let samples = first;
        for (let i = 0; i < 500 && sample(samples, 'spawnpool_agents_running', {}) !== 1; i++) samples = parsePrometheus((await get(url)).body).samples;
        expect(sample(samples, 'spawnpool_agents_running', {})).toBe(1);
        await writeFile(release, '');
        await run.line(/batch ended; serving metrics until/);
        // Still up after the batch: this scrape has the end, and lets the CLI exit.
        const last = parsePrometheus((await get(url)).body).samples;
        expect(sample(last, 'spawnpool_runs_total', { outcome: 'ok' })).toBe(2);
        expect(sample(last, 'spawnpool_agents_running', {})).toBe(0);
        expect(await run.exited).toBe(0);
        await expect(get(url)).rejects.toThrow();
      } finally {
        if (run.child.exitCode === null) run.child.kill('SIGKILL');
      }
      const report = JSON.parse(run.stdout()) as Report;
      expect(report.runId).toMatch(/^[0-9a-f-]{36}$/);
      const lines = (await readFile(jsonl, 'utf8'))
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as JsonlLine);
      expect(lines.map((l) => l.stage).sort()).toEqual(['exit', 'exit', 'spawn', 'spawn']);
      for (const l of lines) expect(l).toMatchObject({ runId: report.runId, batchId: report.batch.batchId, hostPid: run.child.pid });
      expect(await sqlite3(db, 'SELECT run_id, batch_seq, total FROM batches')).toBe(`${report.runId}|${report.batch.batchId}|2`);
    });
  });

  it('two runs appending to one --metrics-out file get different run ids and batch ids', { timeout: 120_000 }, async () => {
    await withTempDir(async (dir) => {
      const agentsFile = path.join(dir, 'agents.json');
      await writeFile(agentsFile, JSON.stringify({ agents: [{ name: 'same', command: 'true' }] }));
      const jsonl = path.join(dir, 'both.jsonl');
      const runs = [];
      for (let i = 0; i < 2; i++) {
        const res = await cli(['run', agentsFile, '--json', '--no-db', '--metrics-out', jsonl]);
        expect(res.code).toBe(0);
        runs.push(JSON.parse(res.stdout) as Report);
      }
      expect(runs[0]!.runId).not.toBe(runs[1]!.runId);
      expect(runs[0]!.batch.batchId).not.toBe(runs[1]!.batch.batchId);
      const lines = (await readFile(jsonl, 'utf8'))
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as JsonlLine);
      expect(lines.map((l) => `${l.runId} ${l.batchId}`)).toEqual(runs.flatMap((r) => [`${r.runId} ${r.batch.batchId}`, `${r.runId} ${r.batch.batchId}`]));
    });
  });

  it('Ctrl-C exits 130, a second Ctrl-C does not lose the batch: it is printed and recorded', { timeout: 120_000 }, async () => {
    await withTempDir(async (dir) => {
      const started = path.join(dir, 'started');
      const agentsFile = path.join(dir, 'agents.json');
      // The agent ignores SIGTERM: its tree is killed after killGraceMs, which leaves time for the second Ctrl-C.
      await writeFile(
        agentsFile,
        JSON.stringify({
          agents: [
            { name: 'stubborn', command: 'sh', args: ['-c', `trap '' TERM; touch '${started}'; while :; do sleep 0.05; done`], killGraceMs: 1500 },
            { name: 'quick', command: 'true' },
          ],
        }),
      );
      const db = path.join(dir, 'history.db');
      const run = startCli(['run', agentsFile, '--json', '--db', db]);
      try {
        await fileAppears(started);
        run.child.kill('SIGINT');
        await run.line(/SIGINT: stopping the batch/);
        run.child.kill('SIGINT');
        await run.line(/SIGINT again: still stopping/);
        expect(await run.exited).toBe(130);
      } finally {
        if (run.child.exitCode === null) run.child.kill('SIGKILL');
      }
      const report = JSON.parse(run.stdout()) as Report;
      expect(report.agents.find((a) => a.name === 'stubborn')).toMatchObject({ spawned: true, ok: false });
      const rows = (
        await sqlite3(db, 'SELECT b.run_id, a.agent, a.stage, a.error_code FROM agent_runs a JOIN batches b ON b.id = a.batch_id ORDER BY a.idx')
      ).split('\n');
      expect(rows).toHaveLength(2);
      expect(rows[0]).toBe(`${report.runId}|stubborn|aborted|E_ABORTED`);
      expect(rows[1]).toMatch(new RegExp(`^${report.runId}\\|quick\\|`));
    });
  });

  it('refuses bad telemetry flags with exit 2, naming the flag, before anything spawns', { timeout: 120_000 }, async () => {
    await withTempDir(async (dir) => {
      const ran = path.join(dir, 'ran');
      const agentsFile = path.join(dir, 'agents.json');
      await writeFile(agentsFile, JSON.stringify({ agents: [{ name: 'toucher', command: 'touch', args: [ran] }] }));
      const expectRefused = async (args: string[], message: RegExp) => {
        const res = await cli(['run', agentsFile, '--no-db', ...args]);
        expect({ code: res.code, stderr: res.stderr }).toMatchObject({ code: 2, stderr: expect.stringMatching(message) });
      };
      await expectRefused(['--metrics-linger', '30s'], /--metrics-linger applies to --serve-metrics/);
      await expectRefused(['--serve-metrics', '0', '--metrics-linger', 'a while'], /Expected --metrics-linger to be a duration/);
      await expectRefused(['--metrics-textfile', path.join(dir, 'metrics.txt')], /--metrics-textfile: .*end in \.prom/);
      await expectRefused(['--push-gateway', 'pushgateway:9091'], /Expected --push-gateway to be an http\(s\) URL/);
      // A Pushgateway that is not there: the first push (before the first spawn) fails, naming the group's URL.
      const port = await freePort();
      await expectRefused(
        ['--push-gateway', `http://127.0.0.1:${port}`],
        new RegExp(`Cannot push metrics to http://127\\.0\\.0\\.1:${port}/metrics/job/spawnpool/instance/`),
      );
      expect(existsSync(ran)).toBe(false);
    });
  });
});

describe('a CLI run seen by a real Prometheus (endpoint), a real Pushgateway and promtool (textfile)', () => {
  let prometheus: PrometheusServer;
  let pushgateway: Pushgateway;
  let port: number;

  beforeAll(async () => {
    pushgateway = await startPushgateway();
    port = await freePort();
    prometheus = await startPrometheus(
      [
        { job: 'cli', target: `127.0.0.1:${port}` },
        { job: 'pushgateway', target: pushgateway.target, honorLabels: true },
      ],
      { scrapeIntervalMs: 500 },
    );
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await pushgateway?.stop();
  });

  it('increase() of every counter is exact, histogram_quantile(0.95) within 10%, the textfile passes promtool, the Pushgateway has the last batch', {
    timeout: 180_000,
  }, async () => {
    await withTempDir(async (dir) => {
      const agentsFile = path.join(dir, 'agents.json');
      await writeFile(agentsFile, JSON.stringify({ agents: harnessAgents('cli') }));
      const textfile = path.join(dir, 'spawnpool.prom');
      const res = await cli([
        'run',
        agentsFile,
        '--json',
        '--no-db',
        '--concurrency',
        '8',
        '--min-success',
        '0',
        '--serve-metrics',
        String(port),
        '--metrics-linger',
        '60s',
        '--push-gateway',
        pushgateway.url,
        '--metrics-textfile',
        textfile,
        '--agent-labels',
      ]);
      const exitedAt = Date.now();
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).toContain(`pushed metrics to ${pushgateway.url}/metrics/job/spawnpool/instance/${encodeURIComponent(os.hostname())}`);
      const report = JSON.parse(res.stdout) as Report;
      const spawned = report.agents.filter((a) => a.spawned);
      const ok = report.agents.filter((a) => a.ok);

      // The endpoint: the CLI exited only after a scrape of its final figures, but Prometheus appends a scrape after
      // reading it, so that scrape may not be queryable yet. The first scrape after the exit (failed: the endpoint is
      // gone) is appended after it: once Prometheus holds that one, the newest sample is the final scrape.
      expect((await prometheus.scrapedAfter('cli', exitedAt)).up).toBe(0);
      const t = await prometheus.lastSampleTime(`spawnpool_ring_records_written_total{job="cli"}[10m]`);
      const inc = (selector: string) => prometheus.scalar(`sum(increase(${selector}[10m]))`, t);
      expect(await inc('spawnpool_spawns_total{job="cli", outcome="ok"}')).toBe(spawned.length);
      expect(await inc('spawnpool_spawns_total{job="cli", outcome="failed"}')).toBe(report.agents.length - spawned.length);
      expect(await inc('spawnpool_runs_total{job="cli", outcome="ok"}')).toBe(ok.length);
      expect(await inc('spawnpool_runs_total{job="cli", outcome="failed"}')).toBe(spawned.length - ok.length);
      expect(await inc('spawnpool_builds_total{job="cli", outcome="failed"}')).toBe(2);
      expect(await inc('spawnpool_errors_total{job="cli"}')).toBe(report.agents.length - ok.length);
      expect(await inc('spawnpool_batches_total{job="cli"}')).toBe(1);
      const spawnedMs = spawned.map((a) => a.timings.spawnMs);
      const own = latencyStats(spawnedMs).p95Ms! / 1000;
      const p95 = (await prometheus.scalar(
        `histogram_quantile(0.95, sum by (le) (increase(spawnpool_spawn_duration_seconds_bucket{job="cli", outcome="ok"}[10m])))`,
        t,
      ))!;
      expect(p95Error(p95, spawnedMs, own), `Prometheus ${p95} s, spawnpool ${own} s`).toBeLessThanOrEqual(0.1);
      // --agent-labels: one series per agent, each created before its first event (increase() sees its one spawn).
      expect(await inc(`spawnpool_spawns_total{job="cli", agent="cli-ok-0", outcome="ok"}`)).toBe(1);
      expect(await prometheus.scalar(`spawnpool_spawner_info{job="cli"}`, t)).toBe(1);
      expect((await prometheus.query(`spawnpool_spawner_info{job="cli"}`, t))[0]!.metric.run_id).toBe(report.runId);

      // The textfile: the final exposition, clean for promtool, with the run's figures.
      const text = await readFile(textfile, 'utf8');
      expect(await promtoolCheck(text)).toBe('');
      const samples = parsePrometheus(text).samples;
      expect(samples.filter((s) => s.name === 'spawnpool_spawns_total' && s.labels.outcome === 'ok').reduce((n, s) => n + s.value, 0)).toBe(spawned.length);
      expect(sample(samples, 'spawnpool_last_batch_succeeded', {})).toBe(ok.length);

      // The Pushgateway: Prometheus scrapes it (honor_labels), job "spawnpool", the last batch's gauges.
      const pushed = await prometheus.waitFor('spawnpool_last_batch_succeeded{job="spawnpool"}', (v) => v === ok.length);
      expect(pushed).toBe(ok.length);
      expect(await prometheus.scalar('spawnpool_last_batch_agents{job="spawnpool"}')).toBe(report.agents.length);
      expect(await prometheus.scalar('sum(spawnpool_spawns_total{job="spawnpool", outcome="ok"})')).toBe(spawned.length);
      const gatewayText = (await get(`${pushgateway.url}/metrics`)).body;
      expect(gatewayText).toContain(`spawnpool_spawner_info{instance="${os.hostname()}",job="spawnpool",run_id="${report.runId}"} 1`);
      // What spawnpool pushed, as the Pushgateway serves it (its own go_* and push_* families left out).
      expect(
        await promtoolCheck(
          `${gatewayText
            .split('\n')
            .filter((l) => /^(# (HELP|TYPE) )?spawnpool_/.test(l))
            .join('\n')}\n`,
        ),
      ).toBe('');
    });
  });
});
