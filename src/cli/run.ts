/**
 * `spawnpool run <agents.json>`: spawn every agent of the file at once,
 * show progress, then a table of per-agent timings, the batch summary and
 * the window p95 (or one JSON object with `--json`).
 */
import path from 'node:path';
import type { AgentResult, BatchDone, SpawnOutcome } from '../batch/types.ts';
import { errnoOf } from '../errors.ts';
import type { MetricsSnapshot } from '../metrics/spawner-metrics.ts';
import { Spawner } from '../spawner.ts';
import { loadAgentsFile } from '../spec/load.ts';
import { preflightAgents } from '../spec/preflight.ts';
import { failureLines, OUTPUT_MODES, outputPrinter, type OutputMode } from './agent-output.ts';
import { ms, pct, table } from './format.ts';
import { HARNESS_OPTIONS, HARNESS_USAGE, harnessFlagsGiven } from './harness-flags.ts';
import { harnessRunCommand } from './harness-run.ts';
import { batchFlags, checkMinSuccess, namingFlags, spawnerFlags } from './option-flags.ts';
import { startProgress } from './progress.ts';
import { startTelemetry, telemetrySpawnerOptions, TELEMETRY_OPTIONS, TELEMETRY_USAGE, type Telemetry } from './telemetry.ts';
import { stopOnSignals } from './stop-on-signals.ts';
import { parseFlags, UsageError } from './usage-error.ts';

export const RUN_USAGE = `Usage: spawnpool run <agents.json> [options]

Options:
  --concurrency N    agents in flight at once (default: all)
  --sequential       build, spawn, wait until spawned, then the next (the baseline)
  --min-success N    exit 0 when at least N agents succeed (default: all of them)
  --workers N        prompt-building worker threads (default: cores, at most 4)
  --root DIR         folder prompt files must stay under (default: the agents file's folder)
  --ring-capacity N  metric ring slots per writing thread, a power of two (default 8192)
  --launcher L       where agents are forked: direct, helper (small helper processes, so the
                     cost does not grow with this process's memory) or auto (default: helper
                     over 128 MiB of RSS; the SPAWNPOOL_LAUNCHER environment variable if set)
  --helpers N        helper processes for --launcher helper or auto (default 1)
  --output MODE      the agents' own output: tag (each line as it comes, prefixed with the agent's
                     name), group (each agent's output in one block when it ends; the default) or
                     none (the table only). --json implies none: the output is in the JSON
  --results DIR      one folder per agent: DIR/<agent>/{stdout,stderr,prompt.txt,result.json}
  --json             print one JSON object { runId, options, batch, agents, window } instead of tables
${TELEMETRY_USAGE}
  -h, --help         show this help
${HARNESS_USAGE}`;

/** One agent as the CLI reports it: spawn outcome and result together. */
export interface AgentReport {
  name: string;
  ok: boolean;
  spawned: boolean;
  stage: string | undefined;
  /** `errno`: the OS error of an agent that could not be started. */
  error: { code: string; message: string; errno?: string } | undefined;
  pid: number | undefined;
  timings: SpawnOutcome['timings'];
  prompt: SpawnOutcome['prompt'];
  exitCode: number | undefined;
  signal: string | undefined;
  runMs: number;
  timedOut: boolean;
  stdoutBytes: number;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** The agent's output (without --results). */
  stdout?: string;
  stderr?: string;
  /** Where the whole streams are (with --results, or the spec's stdoutFile/stderrFile). */
  stdoutFile?: string | undefined;
  stderrFile?: string | undefined;
}

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags({
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
      output: { type: 'string' },
      results: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
      ...TELEMETRY_OPTIONS,
      ...HARNESS_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(`${RUN_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`Expected exactly one agents file\n\n${RUN_USAGE}`);
  const spawnerOptions = spawnerFlags(values);
  const { concurrency, minSuccess: minSuccessFlag } = batchFlags(values);
  // --tasks, --retries, --halt, --run-name...: every agent once per task, through the harness.
  if (harnessFlagsGiven(values)) return harnessRunCommand({ file: positionals[0]!, values, spawnerOptions, concurrency, minSuccess: minSuccessFlag });

  const loaded = await loadAgentsFile(positionals[0]!);
  // The files the agents name and their argument sizes, checked before any worker or agent starts: bad input starts nothing.
  await preflightAgents(loaded.agents, { root: spawnerOptions.root ?? loaded.baseDir, file: positionals[0] });
  checkMinSuccess(minSuccessFlag, loaded.agents.length, 'agents');
  const minSuccess = minSuccessFlag ?? loaded.agents.length;
  const output = outputMode(values.output, values.json);
  const resultsDir = values.results === undefined ? undefined : path.resolve(values.results);
  const telemetryOptions = telemetrySpawnerOptions(values);
  const spawner = namingFlags(spawnerOptions, () => new Spawner({ ...telemetryOptions, root: loaded.baseDir, ...spawnerOptions }));
  // With --agent-labels, every agent's series exist before the first scrape (the telemetry waits for one before spawning).
  spawner.metrics.declareAgents(loaded.agents.map((a) => a.name));
  // Ctrl-C (or SIGTERM) stops the batch cleanly: every agent tree killed, the batch still reported and recorded.
  // A second one only says so: dying then would lose the batch from the history. Exit code 128 + the signal's number.
  const stop = stopOnSignals({
    onStop: (signal) => process.stderr.write(`spawnpool: ${signal}: stopping the batch (killing agent trees; it is still reported and recorded)\n`),
  });
  let telemetry: Telemetry | undefined;
  try {
    telemetry = await startTelemetry(spawner, values, stop.signal);
    // Worker start-up (thread + tokenizer tables) is paid once per spawner; keep it out of the batch's figures.
    await spawner.ready;
    const batchOptions = {
      mode: values.sequential ? ('sequential' as const) : ('concurrent' as const),
      ...(concurrency === undefined ? {} : { concurrency }),
      minSuccess,
      stream: output === 'tag',
      // The printer keeps up unless the terminal cannot: room for bursts, and any loss is reported.
      ...(output === 'tag' ? { streamBufferBytes: 64 * 2 ** 20 } : {}),
      ...(resultsDir === undefined ? {} : { resultsDir }),
    };
    const batch = spawner.spawnBatch(loaded.agents, { ...batchOptions, signal: stop.signal });
    const printer = outputPrinter(
      output,
      loaded.agents.map((a) => a.name),
    );
    const printing: Promise<void>[] = [];
    const progress = startProgress(loaded.agents.length, !values.json);
    const outcomes: SpawnOutcome[] = [];
    for await (const outcome of batch) {
      outcomes[outcome.index] = outcome;
      // The CLI has nothing more to write: an agent with stdin "open" gets its prompt, then end of file.
      outcome.stdin?.end();
      printing.push(printer.follow(outcome));
      progress.tick(outcome.name, outcome.ok);
    }
    progress.stop();
    const [done, results] = await Promise.all([batch.done, batch.results, ...printing]);
    const window = spawner.metrics.snapshot();
    const agents = outcomes.map((o, i) => report(o, results[i]!, resultsDir !== undefined));

    const options = {
      ...batchOptions,
      output,
      launcher: spawnerOptions.launcher ?? process.env.SPAWNPOOL_LAUNCHER ?? 'auto',
      ...(spawnerOptions.helpers === undefined ? {} : { helpers: spawnerOptions.helpers }),
      workers: spawnerOptions.workers ?? 'default',
    };
    if (values.json) process.stdout.write(`${JSON.stringify({ runId: spawner.metrics.runId, options, batch: done, agents, window }, null, 2)}\n`);
    else process.stdout.write(`${render(agents, results, done, window)}\n`);
    if (stop.exitCode !== undefined) return stop.exitCode;
    return done.ok ? 0 : 1;
  } finally {
    try {
      // The spawner first: closing it writes the history and drains the last records to the JSON lines file.
      await spawner.close();
    } finally {
      // Then the last push, the textfile, and the endpoint's wait for a scrape of the final figures.
      await telemetry?.close();
      stop.dispose();
    }
  }
}

function report(o: SpawnOutcome, r: AgentResult, toFiles: boolean): AgentReport {
  const error = r.error ?? o.error;
  return {
    name: o.name,
    ok: r.ok,
    spawned: o.ok,
    stage: r.stage,
    error: error && { code: error.code, message: error.message, errno: errnoOf(error) },
    pid: o.pid,
    timings: o.timings,
    prompt: o.prompt,
    exitCode: r.exitCode,
    signal: r.signal,
    runMs: r.durationMs,
    timedOut: r.timedOut,
    stdoutBytes: Buffer.byteLength(r.stdout),
    stdoutTruncated: r.stdoutTruncated,
    stderrTruncated: r.stderrTruncated,
    // With --results the whole streams are in files (the buffered copies may be cut at maxOutputBytes).
    ...(toFiles ? {} : { stdout: r.stdout, stderr: r.stderr }),
    ...(r.stdoutFile === undefined ? {} : { stdoutFile: r.stdoutFile }),
    ...(r.stderrFile === undefined ? {} : { stderrFile: r.stderrFile }),
  };
}

function outcomeWord(a: AgentReport): string {
  if (a.ok) return 'succeeded';
  return a.spawned ? `failed:${a.stage ?? '?'}` : `spawn failed:${a.stage ?? '?'}`;
}

function render(agents: AgentReport[], results: AgentResult[], d: BatchDone, w: MetricsSnapshot): string {
  const rows = agents.map((a) => [
    a.name,
    outcomeWord(a),
    a.pid === undefined ? '-' : String(a.pid),
    ms(a.timings.queueMs),
    ms(a.timings.buildMs),
    ms(a.timings.launchMs),
    a.spawned ? ms(a.timings.spawnMs) : '-',
    a.spawned ? ms(a.runMs) : '-',
    a.exitCode === undefined ? (a.signal ?? '-') : String(a.exitCode),
    a.prompt === undefined ? '-' : String(a.prompt.tokens),
  ]);
  const failures = agents.flatMap((a, i) => (a.ok ? [] : failureLines(results[i]!, a.error?.code, a.error?.message)));
  const truncated = agents.filter((a) => a.stdoutTruncated || a.stderrTruncated).map((a) => a.name);
  return [
    table(['agent', 'outcome', 'pid', 'queue ms', 'build ms', 'launch ms', 'spawn ms', 'run ms', 'exit', 'tokens'], rows),
    '',
    `batch ${d.batchId}: ${d.spawned}/${d.total} spawned (${pct(d.spawnRate)}), ${d.succeeded}/${d.total} succeeded (exited 0; need ${d.minSuccess}), wall ${ms(d.wallMs)} ms`,
    `spawn latency ms (build start to spawned): avg ${ms(d.avgMs)}  min ${ms(d.minMs)}  max ${ms(d.maxMs)}  p50 ${ms(d.p50Ms)}  p95 ${ms(d.p95Ms)}${d.p95Ms === undefined ? ' (needs >= 20 spawns)' : ''}`,
    `window (last ${w.count} spawns of up to ${w.windowSize}): spawn p95 ${w.p95Ms === undefined ? 'n/a (needs >= 20 samples)' : `${ms(w.p95Ms)} ms`}, spawned ${pct(w.successRate)}; last ${w.run.count} exits: succeeded ${pct(w.run.successRate)}; ring written ${w.written}, dropped ${w.dropped}`,
    ...(truncated.length > 0 ? ['', `output cut at maxOutputBytes for: ${truncated.join(', ')} (--results DIR keeps all of it)`] : []),
    ...(failures.length > 0 ? ['', 'failures:', ...failures] : []),
  ].join('\n');
}

function outputMode(flag: string | undefined, json: boolean): OutputMode {
  if (flag === undefined) return json ? 'none' : 'group';
  if (!(OUTPUT_MODES as readonly string[]).includes(flag)) throw new UsageError(`Expected --output to be tag, group or none, got "${flag}"`);
  if (json && flag !== 'none')
    throw new UsageError(
      `--output ${flag} prints the agents' output on stdout, which --json keeps for its JSON: leave --output out (the output is in the JSON)`,
    );
  return flag as OutputMode;
}
