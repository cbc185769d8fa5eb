/**
 * The benchmark harness must not rot: every scenario runs end to end with
 * 2 runs at tiny sizes, and the report it writes has the right shape.
 * Nothing here looks at how fast anything was.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBench, SCENARIO_NAMES, type BenchRun } from '../../bench/lib/harness.ts';
import type { Report } from '../../bench/lib/types.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

describe('bench harness, every scenario at tiny sizes', () => {
  let dir: string;
  let run: BenchRun;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'spawnpool-bench-smoke-'));
    run = await runBench({ runs: 2, warmup: 0, tiny: true, quiet: true, outDir: dir, jsonFile: path.join(dir, 'copy', 'report.json') });
  }, 120_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs every scenario, in order, and records the machine', () => {
    const { report } = run;
    expect(report.scenarios.map((s) => s.name)).toEqual(SCENARIO_NAMES);
    for (const s of report.scenarios) expect(s.error, s.name).toBeUndefined();
    expect(report).toMatchObject({ tool: 'spawnpool-bench', schema: 1, mode: 'quick', tiny: true });
    expect(report.machine.node).toBe(process.version);
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.machine.cpuModel).not.toBe('');
    expect(report.machine.loadAvgEnd).toHaveLength(3);
  });

  it('gives every variant 2 measured runs, and a full summary of each metric', () => {
    for (const s of run.report.scenarios) {
      expect(s.variants.length, s.name).toBeGreaterThan(0);
      for (const v of s.variants) {
        const summaries = Object.values(v.summary);
        expect(summaries.length, `${s.name}/${v.name}`).toBeGreaterThan(0);
        // Per-run metrics have exactly 2 samples (warm-up 0, 2 runs); pooled ones (per agent) have more.
        expect(Math.min(...summaries.map((x) => x.n)), `${s.name}/${v.name}`).toBe(2);
        for (const summary of summaries) {
          expect(summary.min).toBeLessThanOrEqual(summary.median);
          expect(summary.median).toBeLessThanOrEqual(summary.max);
          // Fewer than 20 samples: no p95 is made up.
          if (summary.n < 20) expect(summary.p95).toBeNull();
        }
      }
    }
  });

  it('reports each comparison as a ratio with an ordered 95% interval and a p-value in [0, 1]', () => {
    const comparisons = run.report.scenarios.flatMap((s) => s.comparisons);
    expect(comparisons.length).toBeGreaterThanOrEqual(6);
    for (const c of comparisons) {
      expect(Number.isFinite(c.ratio)).toBe(true);
      expect(c.ci[0]).toBeLessThanOrEqual(c.ci[1]);
      expect(c.p).toBeGreaterThanOrEqual(0);
      expect(c.p).toBeLessThanOrEqual(1);
      expect(c.resamples).toBe(2000);
    }
  });

  it('meets every correctness target (ring and cycles counters), and explains every missed timing target', () => {
    const targets = run.report.scenarios.flatMap((s) => s.targets.map((t) => ({ ...t, scenario: s.name })));
    const correctness = targets.filter((t) => t.kind === 'correctness');
    expect(correctness.length).toBeGreaterThanOrEqual(5);
    for (const t of correctness) expect(t.met, `${t.scenario}: ${t.description}: ${t.measured}`).toBe(true);
    for (const t of targets.filter((x) => x.kind === 'timing' && !x.met))
      expect(t.bound, `${t.scenario}: ${t.description}`).toMatch(/\d[\d.,]* ?(ms|us|ns|s|x|%|agents\/s|MB|KB)\b/);
  });

  it('writes latest.json (and the --json copy), latest.md with the tables and chart, and the SVG', async () => {
    const json = JSON.parse(await readFile(run.files.json, 'utf8')) as Report;
    expect(json).toEqual(JSON.parse(JSON.stringify(run.report)));
    expect(await readFile(run.files.extraJson!, 'utf8')).toBe(await readFile(run.files.json, 'utf8'));

    const md = await readFile(run.files.markdown, 'utf8');
    expect(md).toContain('![Distributions per variant](latest.svg)');
    expect(md).toContain('## Targets');
    expect(md).toContain(run.report.machine.cpuModel);
    for (const s of run.report.scenarios) expect(md).toContain(`## ${s.title}`);
    expect(md).toMatch(/\| variant \| metric \| median \| p95 \| min \| max \| n \|/);
    expect(md).toMatch(/\| comparison \| metric \| ratio of medians \| 95% CI \| p \|/);

    const svg = await readFile(run.files.svg, 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    for (const chart of run.report.scenarios.flatMap((s) => s.charts)) expect(svg).toContain(chart.title);
  });
});

describe('bench harness options', () => {
  it('rejects an unknown scenario, naming the known ones', async () => {
    expect(SCENARIO_NAMES).toEqual(expect.arrayContaining(['ring', 'seed-3', 'busy-host', 'cpu-8', 'fanout-2000', 'cycles-100', 'stats']));
    await expect(runBench({ scenarios: ['seed-3', 'nope'], quiet: true })).rejects.toThrow(
      `Unknown scenario \`nope\`: expected one of ${SCENARIO_NAMES.join(', ')}`,
    );
  });

  it('rejects a runs value that is not a positive integer', async () => {
    await expect(runBench({ runs: 0, quiet: true })).rejects.toThrow(/`runs` option to be a positive integer, got `0`/);
  });

  it('runs from the command line: --scenario, --runs, --tiny, --json, --out, --quiet', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spawnpool-bench-cli-'));
    try {
      const json = path.join(dir, 'r.json');
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', 'bench/main.ts', '--scenario', 'stats', '--runs', '2', '--tiny', '--json', json, '--out', dir, '--quiet'],
        { cwd: REPO },
      );
      expect(stdout).toContain(path.join(dir, 'latest.md'));
      const report = JSON.parse(await readFile(json, 'utf8')) as Report;
      expect(report.scenarios.map((s) => s.name)).toEqual(['stats']);
      expect(report.scenarios[0]!.variants[0]!.summary.usPerCall!.n).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
