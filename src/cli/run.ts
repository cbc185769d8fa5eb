/**
 * `spawnpool run <agents.json>`: spawn every agent of the file at once,
 * show progress, then a table of per-agent timings, the batch summary and
 * the window p95 (or one JSON object with `--json`).
 */
import { parseArgs } from 'node:util';
import type { AgentResult, BatchSummary, SpawnOutcome } from '../batch/types.ts';
import type { MetricsSnapshot } from '../metrics/spawner-metrics.ts';
import { Spawner } from '../spawner.ts';
import { loadAgentsFile } from '../spec/load.ts';
import { preflightAgents } from '../spec/preflight.ts';
import { ms, pct, table } from './format.ts';
import { startProgress } from './progress.ts';
import { startTelemetry, telemetrySpawnerOptions, TELEMETRY_OPTIONS, TELEMETRY_USAGE, type Telemetry } from './telemetry.ts';
import { intFlag, UsageError } from './usage-error.ts';

export const RUN_USAGE = `Usage: spawnpool run <agents.json> [options]

Options:
  --concurrency N    agents in flight at once (default: all)
  --sequential       build, spawn, wait until spawned, then the next (the baseline)
  --min-success N    exit 0 when at least N agents succeed (default: all of them)
  --workers N        prompt-building worker threads (default: cores, at most 4)
  --root DIR         folder prompt files must stay under (default: the agents file's folder)
  --ring-capacity N  metric ring slots, a power of two (default 8192)
  --launcher L       where agents are forked: direct, helper (small helper processes, so the
                     cost does not grow with this process's memory) or auto (default: helper
                     over 128 MiB of RSS; the SPAWNPOOL_LAUNCHER environment variable if set)
  --helpers N        helper processes for --launcher helper or auto (default 1)
  --json             print one JSON object { batch, agents, window } instead of tables
${TELEMETRY_USAGE}
  -h, --help         show this help`;

/** One agent as the CLI reports it: spawn outcome and result together. */
export interface AgentReport {
  name: string;
  ok: boolean;
  spawned: boolean;
  stage: string | undefined;
  error: { code: string; message: string } | undefined;
  pid: number | undefined;
  timings: SpawnOutcome['timings'];
  prompt: SpawnOutcome['prompt'];
  exitCode: number | undefined;
  signal: string | undefined;
  runMs: number;
  timedOut: boolean;
  stdoutBytes: number;
  stdoutTruncated: boolean;
}

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      concurrency: { type: 'string' },
      sequential: { type: 'boolean', default: false },
      'min-success': { type: 'string' },
      workers: { type: 'string' },
      root: { type: 'string' },
      'ring-capacity': { type: 'string' },
      launcher: { type: 'string' },
      helpers: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      ...TELEMETRY_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(`${RUN_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`Expected exactly one agents file\n\n${RUN_USAGE}`);
  const concurrency = intFlag('concurrency', values.concurrency, 1);
  const workers = intFlag('workers', values.workers, 0);
  const ringCapacity = intFlag('ring-capacity', values['ring-capacity'], 0);
  const helpers = intFlag('helpers', values.helpers, 1);
  const launcher = values.launcher;
  if (launcher !== undefined && launcher !== 'direct' && launcher !== 'helper' && launcher !== 'auto') {
    throw new UsageError(`Expected --launcher to be direct, helper or auto, got "${launcher}"`);
  }
  if (helpers !== undefined && launcher === 'direct') throw new UsageError('--helpers applies to --launcher helper or auto, not direct');

  const loaded = await loadAgentsFile(positionals[0]!);
  // The files the agents name and their argument sizes, checked before any worker or agent starts: bad input starts nothing.
  await preflightAgents(loaded.agents, { root: values.root ?? loaded.baseDir, file: positionals[0] });
  const minSuccess = intFlag('min-success', values['min-success'], 0, loaded.agents.length) ?? loaded.agents.length;
  const telemetryOptions = telemetrySpawnerOptions(values);
  const spawner = new Spawner({
    ...telemetryOptions,
    root: values.root ?? loaded.baseDir,
    ...(workers === undefined ? {} : { workers }),
    ...(ringCapacity === undefined ? {} : { ringCapacity }),
    ...(launcher === undefined ? {} : { launcher }),
    ...(helpers === undefined ? {} : { helpers }),
  });
  let telemetry: Telemetry | undefined;
  try {
    telemetry = await startTelemetry(spawner, values);
    // Worker start-up (thread + tokenizer tables) is paid once per spawner; keep it out of the batch's figures.
    await spawner.ready;
    const batch = spawner.spawnBatch(loaded.agents, {
      mode: values.sequential ? 'sequential' : 'concurrent',
      ...(concurrency === undefined ? {} : { concurrency }),
    });
    // Ctrl-C stops the batch cleanly (every agent tree killed) instead of leaving it half-run.
    const onSignal = () => batch.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const progress = startProgress(loaded.agents.length, !values.json);
    const outcomes: SpawnOutcome[] = [];
    for await (const outcome of batch) {
      outcomes[outcome.index] = outcome;
      progress.tick(outcome.name, outcome.ok);
    }
    progress.stop();
    const [summary, results] = await Promise.all([batch.summary, batch.results]);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    const window = spawner.metrics.snapshot();
    const agents = outcomes.map((o, i) => report(o, results[i]!));
    const succeeded = agents.filter((a) => a.ok).length;

    if (values.json) process.stdout.write(`${JSON.stringify({ batch: { ...summary, mode: values.sequential ? 'sequential' : 'concurrent', agentsSucceeded: succeeded }, agents, window }, null, 2)}\n`);
    else process.stdout.write(`${render(agents, summary, window, succeeded, minSuccess)}\n`);
    return succeeded >= minSuccess ? 0 : 1;
  } finally {
    // The spawner first: closing it writes the history and drains the last records to the JSON lines file.
    await spawner.close();
    await telemetry?.close();
  }
}

function report(o: SpawnOutcome, r: AgentResult): AgentReport {
  const error = r.error ?? o.error;
  return {
    name: o.name,
    ok: o.ok && r.ok,
    spawned: o.ok,
    stage: r.stage,
    error: error && { code: error.code, message: error.message },
    pid: o.pid,
    timings: o.timings,
    prompt: o.prompt,
    exitCode: r.exitCode,
    signal: r.signal,
    runMs: r.durationMs,
    timedOut: r.timedOut,
    stdoutBytes: Buffer.byteLength(r.stdout),
    stdoutTruncated: r.stdoutTruncated,
  };
}

function render(agents: AgentReport[], s: BatchSummary, w: MetricsSnapshot, succeeded: number, minSuccess: number): string {
  const rows = agents.map((a) => [
    a.name,
    a.ok ? 'ok' : `failed:${a.stage ?? '?'}`,
    a.pid === undefined ? '-' : String(a.pid),
    ms(a.timings.queueMs),
    ms(a.timings.buildMs),
    ms(a.timings.launchMs),
    a.spawned ? ms(a.timings.spawnMs) : '-',
    a.spawned ? ms(a.runMs) : '-',
    a.exitCode === undefined ? (a.signal ?? '-') : String(a.exitCode),
    a.prompt === undefined ? '-' : String(a.prompt.tokens),
  ]);
  const failures = agents.filter((a) => !a.ok).map((a) => `  ${a.name}: [${a.error?.code}] ${a.error?.message}`);
  return [
    table(['agent', 'outcome', 'pid', 'queue ms', 'build ms', 'launch ms', 'spawn ms', 'run ms', 'exit', 'tokens'], rows),
    '',
    `batch ${s.batchId}: ${s.succeeded}/${s.total} spawned (${pct(s.successRate)}), ${succeeded}/${s.total} succeeded (need ${minSuccess}), wall ${ms(s.wallMs)} ms`,
    `spawn latency ms: avg ${ms(s.avgMs)}  min ${ms(s.minMs)}  max ${ms(s.maxMs)}  p50 ${ms(s.p50Ms)}  p95 ${ms(s.p95Ms)}${s.p95Ms === undefined ? ' (needs >= 20 spawns)' : ''}`,
    `window (last ${w.count} of up to ${w.windowSize}): p95 ${ms(w.p95Ms)} ms${w.p95Ms === undefined ? ' (needs >= 20 samples)' : ''}, success ${pct(w.successRate)}, ring written ${w.written}, dropped ${w.dropped}`,
    ...(failures.length > 0 ? ['', 'failures:', ...failures] : []),
  ].join('\n');
}
