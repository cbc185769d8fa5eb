/**
 * Soak: repeated batches on one spawner for a few minutes, checking after
 * every batch that the metrics ring lost nothing it should not have and
 * corrupted nothing. Not part of `npm test`.
 *
 *   npm run soak                      # ~3 minutes
 *   npm run soak -- --seconds 60      # shorter
 *
 * Each batch mixes agents that succeed, fail to start, exit non-zero and fail
 * their build, so every stage writes both ok and failed records. Reports
 * records/s, dropped, invalid and the host's RSS at start and end. Exits 1
 * on any invalid record or counter mismatch, 2 on bad arguments.
 */
import { parseArgs } from 'node:util';
import type { AgentResult, SpawnOutcome } from '../../src/batch/types.ts';
import type { LauncherChoice } from '../../src/launch/select-launcher.ts';
import type { RecordStage } from '../../src/metrics/record.ts';
import { Spawner } from '../../src/spawner.ts';
import type { AgentSpec } from '../../src/spec/schema.ts';

type Tally = Record<RecordStage, { ok: number; failed: number }>;

interface SoakOptions {
  seconds: number;
  agents: number;
  concurrency: number;
  workers: number;
  ringCapacity: number;
  launcher: LauncherChoice | undefined;
}

function options(): SoakOptions {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '180' },
      agents: { type: 'string', default: '32' },
      concurrency: { type: 'string', default: '16' },
      workers: { type: 'string', default: '2' },
      'ring-capacity': { type: 'string', default: '1024' },
      launcher: { type: 'string' },
    },
  });
  const int = (name: string, text: string, min: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) {
      process.stderr.write(`soak: expected --${name} to be an integer >= ${min}, got "${text}"\n`);
      process.exit(2);
    }
    return n;
  };
  const launcher = values.launcher;
  if (launcher !== undefined && launcher !== 'direct' && launcher !== 'helper' && launcher !== 'auto') {
    process.stderr.write(`soak: expected --launcher to be direct, helper or auto, got "${launcher}"\n`);
    process.exit(2);
  }
  return {
    seconds: int('seconds', values.seconds, 1),
    agents: int('agents', values.agents, 4),
    concurrency: int('concurrency', values.concurrency, 1),
    workers: int('workers', values.workers, 1),
    ringCapacity: int('ring-capacity', values['ring-capacity'], 2),
    launcher,
  };
}

/** One batch's agents: mostly successes, and one of each failure kind. */
function batchAgents(n: number): AgentSpec[] {
  return Array.from({ length: n }, (_, i): AgentSpec => {
    const name = `soak-${i}`;
    switch (i % 16) {
      case 1:
        return { name, command: '/nonexistent/spawnpool-soak-agent' }; // spawn fails
      case 2:
        return { name, command: '/bin/false', prompt: { template: 'exit non-zero {{agent}}' } }; // run fails
      case 3:
        return { name, command: '/bin/true', prompt: { template: '{{#unclosed}}' } }; // build fails
      default:
        return { name, command: '/bin/true', prompt: { template: 'soak prompt for {{agent}} #{{n}}', vars: { n: i } } };
    }
  });
}

/** The records a batch must have produced, from what its agents did. */
function expectedRecords(specs: AgentSpec[], outcomes: SpawnOutcome[], results: AgentResult[], into: Tally): void {
  for (const o of outcomes) {
    if (specs[o.index]!.prompt !== undefined) into.build[o.stage === 'build' ? 'failed' : 'ok']++;
    into.spawn[o.ok ? 'ok' : 'failed']++;
    if (o.ok) into.exit[results[o.index]!.ok ? 'ok' : 'failed']++;
  }
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

async function main(): Promise<number> {
  const opts = options();
  const spawner = new Spawner({
    workers: opts.workers,
    ringCapacity: opts.ringCapacity,
    windowSize: Math.min(1000, opts.ringCapacity),
    ...(opts.launcher ? { launcher: opts.launcher } : {}),
  });
  const problems: string[] = [];
  try {
    await spawner.ready;
    const seen: Tally = { build: { ok: 0, failed: 0 }, spawn: { ok: 0, failed: 0 }, exit: { ok: 0, failed: 0 } };
    spawner.metrics.subscribe((r) => seen[r.stage][r.ok ? 'ok' : 'failed']++);
    const expected: Tally = { build: { ok: 0, failed: 0 }, spawn: { ok: 0, failed: 0 }, exit: { ok: 0, failed: 0 } };
    const specs = batchAgents(opts.agents);
    const rssStart = process.memoryUsage.rss();
    const started = performance.now();
    const deadline = started + opts.seconds * 1000;
    let nextReport = started + 10_000;
    let batches = 0;
    let maxWindow = 0;
    process.stdout.write(
      `soak: ${opts.seconds} s, ${opts.agents} agents per batch, concurrency ${opts.concurrency}, ${opts.workers} workers, ring ${opts.ringCapacity} slots, RSS at start ${mib(rssStart)}\n`,
    );

    while (performance.now() < deadline && problems.length === 0) {
      const batch = spawner.spawnBatch(specs, { concurrency: opts.concurrency });
      const outcomes: SpawnOutcome[] = [];
      for await (const o of batch) outcomes.push(o);
      const results = await batch.results;
      batches++;
      expectedRecords(specs, outcomes, results, expected);

      const snap = spawner.metrics.snapshot();
      const c = spawner.metrics.counters();
      maxWindow = Math.max(maxWindow, snap.count, snap.build.count, snap.run.count);
      if (outcomes.length !== specs.length) problems.push(`batch ${batch.batchId}: ${outcomes.length} outcomes for ${specs.length} agents`);
      if (c.invalid !== 0) problems.push(`batch ${batch.batchId}: ${c.invalid} invalid records`);
      if (c.pending !== 0 || c.written !== c.read + c.dropped)
        problems.push(`batch ${batch.batchId}: written ${c.written} != read ${c.read} + dropped ${c.dropped} (pending ${c.pending})`);
      if (JSON.stringify(c.totals) !== JSON.stringify(expected))
        problems.push(`batch ${batch.batchId}: ring totals ${JSON.stringify(c.totals)} != expected ${JSON.stringify(expected)}`);
      const seenCount = seen.build.ok + seen.build.failed + seen.spawn.ok + seen.spawn.failed + seen.exit.ok + seen.exit.failed;
      if (seenCount !== c.read) problems.push(`batch ${batch.batchId}: subscribers saw ${seenCount} records, ring read ${c.read}`);
      if (c.dropped === 0 && JSON.stringify(seen) !== JSON.stringify(expected))
        problems.push(`batch ${batch.batchId}: records seen ${JSON.stringify(seen)} != expected ${JSON.stringify(expected)}`);
      if (maxWindow > snap.windowSize) problems.push(`batch ${batch.batchId}: window holds ${maxWindow} > its size ${snap.windowSize}`);

      const now = performance.now();
      if (now >= nextReport) {
        nextReport = now + 10_000;
        const secs = (now - started) / 1000;
        process.stdout.write(
          `  ${secs.toFixed(0)} s: ${batches} batches, ${c.written} records (${(c.written / secs).toFixed(0)}/s), dropped ${c.dropped}, invalid ${c.invalid}, RSS ${mib(process.memoryUsage.rss())}\n`,
        );
      }
    }

    const secs = (performance.now() - started) / 1000;
    const c = spawner.metrics.counters();
    const rssEnd = process.memoryUsage.rss();
    const summary = {
      seconds: Number(secs.toFixed(1)),
      batches,
      agents: batches * specs.length,
      recordsWritten: c.written,
      recordsRead: c.read,
      recordsPerSecond: Number((c.written / secs).toFixed(1)),
      dropped: c.dropped,
      invalid: c.invalid,
      totals: c.totals,
      maxWindowCount: maxWindow,
      rssStartMiB: Number((rssStart / 2 ** 20).toFixed(1)),
      rssEndMiB: Number((rssEnd / 2 ** 20).toFixed(1)),
      ok: problems.length === 0,
    };
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } finally {
    await spawner.close();
  }
  for (const p of problems) process.stderr.write(`soak: FAILED: ${p}\n`);
  return problems.length === 0 ? 0 : 1;
}

process.exitCode = await main();
