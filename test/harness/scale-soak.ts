/**
 * The harness at 10,000 runs: not part of `npm test` (minutes on 2 cores).
 *
 *   npx tsx test/harness/scale-soak.ts                 # 10,000 runs of /bin/true, 64 in flight
 *   npx tsx test/harness/scale-soak.ts --runs 1000
 *
 * Reports the host's RSS and heap after the spawner is up and at every
 * 1,000 runs ended, and checks that nothing was lost: one outcome per run,
 * one history row per attempt, the live progress equal to the summary.
 * Exits 1 on any mismatch.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { runHarness } from '../../src/harness/harness.ts';
import { harnessRuns } from '../../src/harness/runs.ts';
import { Spawner } from '../../src/spawner.ts';
import { parseTasks } from '../../src/tasks/load-tasks.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10000' }, concurrency: { type: 'string', default: '64' } } });
const n = Number(values.runs);
const concurrency = Number(values.concurrency);
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

const dir = await mkdtemp(path.join(os.tmpdir(), 'spawnpool-soak-'));
const db = path.join(dir, 'history.db');
const spawner = new Spawner({ workers: 1, history: { path: db } });
const problems: string[] = [];
try {
  await spawner.ready;
  const tasks = parseTasks(Array.from({ length: n }, (_, i) => `{"id":${i + 1}}`).join('\n'), { file: 'tasks.jsonl', format: 'jsonl' });
  const runs = harnessRuns({ agents: [{ name: 'true', command: '/bin/true' }] }, tasks);
  const samples: { done: number; rssMb: string; heapMb: string; elapsedS: string }[] = [];
  const sample = (done: number, t0: number) => {
    const m = process.memoryUsage();
    samples.push({ done, rssMb: mb(m.rss), heapMb: mb(m.heapUsed), elapsedS: ((performance.now() - t0) / 1000).toFixed(1) });
  };
  const t0 = performance.now();
  sample(0, t0);
  const harness = await runHarness(spawner, runs, { concurrency, runName: 'soak' });
  const seen = new Set<string>();
  for await (const a of harness) {
    seen.add(a.run);
    if (!a.ok) problems.push(`${a.run} failed: ${a.stage} ${a.error?.message ?? ''}`);
    if (seen.size % 1000 === 0) sample(seen.size, t0);
  }
  const summary = await harness.summary;
  const progress = harness.progress;
  const wallS = (performance.now() - t0) / 1000;
  await spawner.close();
  const conn = new Database(db, { readonly: true });
  const [agentRuns, attempts, ok] = [
    conn.prepare('SELECT count(*) FROM agent_runs').pluck().get() as number,
    conn.prepare("SELECT count(*) FROM harness_attempts WHERE run_name = 'soak'").pluck().get() as number,
    conn.prepare('SELECT count(*) FROM agent_runs WHERE ok = 1').pluck().get() as number,
  ];
  conn.close();
  if (seen.size !== n) problems.push(`outcomes for ${seen.size} runs, expected ${n}`);
  if (summary.succeeded !== n || summary.attempts !== n) problems.push(`summary: ${summary.succeeded} succeeded, ${summary.attempts} attempts, expected ${n}`);
  if (agentRuns !== n || attempts !== n || ok !== n)
    problems.push(`history: ${agentRuns} agent_runs rows (${ok} ok), ${attempts} harness_attempts rows, expected ${n}`);
  if (progress.done !== summary.succeeded + summary.failed || progress.running !== 0 || progress.attempts !== summary.attempts)
    problems.push(`progress ${JSON.stringify(progress)} differs from the summary`);

  console.log(
    `harness soak: ${n} runs of /bin/true, ${concurrency} in flight, node ${process.version}, ${os.availableParallelism()} cores, load average at the end ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(`wall ${wallS.toFixed(1)} s, ${(n / wallS).toFixed(0)} runs/s; history: ${agentRuns} agent runs, ${attempts} attempts recorded`);
  console.log('runs ended  host RSS MB  heap used MB  elapsed s');
  for (const s of samples) console.log(`${String(s.done).padStart(10)}  ${s.rssMb.padStart(11)}  ${s.heapMb.padStart(12)}  ${s.elapsedS.padStart(9)}`);
  console.log(problems.length === 0 ? 'nothing lost' : `PROBLEMS:\n${problems.slice(0, 20).join('\n')}`);
} finally {
  await spawner.close();
  await rm(dir, { recursive: true, force: true });
}
process.exitCode = problems.length === 0 ? 0 : 1;
