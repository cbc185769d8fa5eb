/**
 * `spawnpool run <agents.json>` with harness flags (see harness-flags.ts):
 * every agent once per task, through runHarness(). Progress on a TTY, then
 * per-agent counts, per-stage figures, the failures and one summary line;
 * or one JSON object with --json. Ctrl-C stops starting, kills the running
 * agents, records what happened and exits 130.
 */
import os from 'node:os';
import path from 'node:path';
import type { SpawnOutcome } from '../batch/types.ts';
import { dryRunHarness, type DryRun } from '../harness/dry-run.ts';
import { runHarness } from '../harness/harness.ts';
import { harnessRuns } from '../harness/runs.ts';
import type { AttemptOutcome, HarnessSummary, StageStats } from '../harness/types.ts';
import { latencyStats } from '../metrics/stats.ts';
import { Spawner } from '../spawner.ts';
import { readAgentsFile } from '../spec/load.ts';
import { resolveAgentsFile } from '../spec/resolve.ts';
import { loadTasks } from '../tasks/load-tasks.ts';
import { failureLines, OUTPUT_MODES, outputPrinter, type OutputMode } from './agent-output.ts';
import { ms, table } from './format.ts';
import { parseHarnessFlags, type HarnessFlagValues } from './harness-flags.ts';
import { duration, startHarnessProgress, summaryLine } from './harness-progress.ts';
import { dbPath } from './history-flags.ts';
import { checkMinSuccess, namingFlags, type SpawnerFlagOptions } from './option-flags.ts';
import { stopOnSignals } from './stop-on-signals.ts';
import { startTelemetry, telemetrySpawnerOptions, type Telemetry, type TelemetryFlags } from './telemetry.ts';
import { UsageError } from './usage-error.ts';

/** What run.ts has parsed and checked already. */
export interface HarnessRunInput {
  file: string;
  values: HarnessFlagValues &
    TelemetryFlags & {
      sequential?: boolean | undefined;
      json?: boolean | undefined;
      output?: string | undefined;
      results?: string | undefined;
    };
  spawnerOptions: SpawnerFlagOptions;
  concurrency: number | undefined;
  /** Not yet checked against the number of runs. */
  minSuccess: number | undefined;
}

/** Failures shown in full; the rest are counted (all of them are in --json and in the history). */
const FAILURES_SHOWN = 20;

export async function harnessRunCommand(input: HarnessRunInput): Promise<number> {
  const { values, file } = input;
  const flags = parseHarnessFlags(values);
  if (values.sequential) throw new UsageError('--sequential does not go with the harness flags (--tasks, --retries, ...): use --concurrency 1');
  if (values['no-db'] && flags.options.runName !== undefined)
    throw new UsageError('--run-name records the run in the history database: it does not go with --no-db');
  const json = values.json === true;
  const output = outputMode(values.output, json);

  const { written: agentsFile, baseDir } = await readAgentsFile(file);
  // The agents file as a whole first (unknown top-level fields, bad agents), named once, not once per task.
  resolveAgentsFile(agentsFile, { baseDir, file });
  const tasks = flags.tasksFile === undefined ? undefined : await loadTasks(flags.tasksFile);
  const runs = harnessRuns(agentsFile, tasks, { baseDir, file });
  const root = path.resolve(input.spawnerOptions.root ?? baseDir);
  const { minSuccess } = input;
  checkMinSuccess(minSuccess, runs.length, 'runs');
  const historyPath = values['no-db'] ? undefined : dbPath(values.db);

  if (flags.dryRun) {
    const plan = await dryRunHarness(runs, { root, ...flags.options, ...(historyPath === undefined ? {} : { historyPath }) });
    process.stdout.write(
      json ? `${JSON.stringify(plan, null, 2)}\n` : `${renderPlan(plan, flags.options.runName, agentsFile.agents.length, tasks?.length, baseDir)}\n`,
    );
    return 0;
  }

  const spawner = namingFlags(input.spawnerOptions, () => new Spawner({ ...telemetrySpawnerOptions(values), ...input.spawnerOptions, root }));
  const names = runs.map((r) => r.name);
  // With --agent-labels, every run's series exist before the first scrape (the telemetry waits for one before spawning).
  spawner.metrics.declareAgents(names);
  // Ctrl-C / SIGTERM: start nothing more, kill the running agents' trees, record it all, exit 128 + the signal.
  const stop = stopOnSignals();
  let telemetry: Telemetry | undefined;
  try {
    telemetry = await startTelemetry(spawner, values, stop.signal);
    await spawner.ready;
    const printer = outputPrinter(output, names);
    const printing = new Set<Promise<void>>();
    const follow = (outcome: SpawnOutcome) => {
      const p = printer.follow(outcome);
      printing.add(p);
      void p.finally(() => printing.delete(p));
    };
    const resultsDir = values.results === undefined ? undefined : path.resolve(values.results);
    const options = {
      ...flags.options,
      ...(input.concurrency === undefined ? {} : { concurrency: input.concurrency }),
      ...(minSuccess === undefined ? {} : { minSuccess }),
      ...(resultsDir === undefined ? {} : { resultsDir }),
      stream: output === 'tag',
      ...(output === 'none' ? {} : { onSpawn: follow }),
      signal: stop.signal,
    };
    const harness = await runHarness(spawner, runs, options);
    const progress = startHarnessProgress(() => harness.progress, !json);
    const agents = new AgentTally();
    const failures: AttemptOutcome[] = [];
    let moreFailures = 0;
    for await (const attempt of harness) {
      agents.add(attempt);
      if (!attempt.ok && attempt.next === 'done') {
        if (failures.length < FAILURES_SHOWN) failures.push(attempt);
        else moreFailures++;
      }
      progress.update();
    }
    const summary = await harness.summary;
    progress.stop();
    await Promise.all(printing);
    const { signal: _signal, onSpawn: _onSpawn, ...shown } = options;
    if (json) {
      const body = {
        runId: spawner.metrics.runId,
        options: { ...shown, concurrency: input.concurrency ?? os.availableParallelism(), output },
        summary: { ...summary, error: summary.error && { code: summary.error.code, message: summary.error.message } },
        agents: agents.rows(),
        window: spawner.metrics.snapshot(),
      };
      process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    } else {
      process.stdout.write(`${renderSummary(summary, agents, failures, moreFailures)}\n`);
      process.stderr.write(`${summaryLine(summary)}\n`);
    }
    if (stop.exitCode !== undefined) return stop.exitCode;
    if (summary.error !== undefined) return 1;
    if (summary.halted?.by === 'success') return 0;
    return summary.ok ? 0 : 1;
  } finally {
    try {
      await spawner.close();
    } finally {
      await telemetry?.close();
      stop.dispose();
    }
  }
}

/** Per-agent counts and figures, gathered as attempts end (a run's last attempt decides its outcome). */
class AgentTally {
  readonly #by = new Map<string, { runs: Set<string>; succeeded: number; failed: number; attempts: number; spawn: number[]; run: number[] }>();

  add(a: AttemptOutcome): void {
    let t = this.#by.get(a.agent);
    if (t === undefined) this.#by.set(a.agent, (t = { runs: new Set(), succeeded: 0, failed: 0, attempts: 0, spawn: [], run: [] }));
    t.runs.add(a.run);
    t.attempts++;
    if (a.next === 'done') {
      if (a.ok) t.succeeded++;
      else t.failed++;
    }
    if (a.pid !== undefined) {
      t.spawn.push(a.timings.spawnMs);
      t.run.push(a.durationMs);
    }
  }

  rows() {
    return [...this.#by].map(([agent, t]) => ({
      agent,
      runs: t.runs.size,
      succeeded: t.succeeded,
      failed: t.failed,
      attempts: t.attempts,
      spawn: latencyStats(t.spawn),
      run: latencyStats(t.run),
    }));
  }
}

function renderSummary(s: HarnessSummary, agents: AgentTally, failures: AttemptOutcome[], more: number): string {
  const rows = agents
    .rows()
    .map((a) => [
      a.agent,
      String(a.runs),
      String(a.succeeded),
      String(a.failed),
      String(a.attempts),
      ms(a.spawn.p50Ms),
      ms(a.spawn.p95Ms),
      ms(a.run.p50Ms),
      ms(a.run.p95Ms),
    ]);
  const lines = [
    rows.length === 0 ? 'no attempts' : table(['agent', 'runs', 'succeeded', 'failed', 'attempts', 'spawn p50', 'spawn p95', 'run p50', 'run p95'], rows),
    '',
    `stages, ms (p50 / p95 over the attempts that reached them): ${stageLine(s.stages)}`,
  ];
  if (s.halted !== undefined) lines.push(`halted (${s.halted.when}, by ${s.halted.by}): ${s.halted.reason}`);
  if (s.error !== undefined) lines.push(`stopped by an error: [${s.error.code}] ${s.error.message}`);
  if (failures.length > 0) {
    lines.push('', 'failures:');
    for (const f of failures) lines.push(...failureLines(f.result, f.error?.code, `${f.error?.message ?? f.stage} (attempt ${f.attempt})`));
    if (more > 0) lines.push(`  ... and ${more} more (all of them: --json, or the history)`);
  }
  return lines.join('\n');
}

function stageLine(st: StageStats): string {
  return (Object.keys(st) as (keyof StageStats)[]).map((k) => `${k} ${ms(st[k].p50Ms)} / ${ms(st[k].p95Ms)}`).join('  ');
}

function renderPlan(plan: DryRun, runName: string | undefined, agents: number, tasks: number | undefined, baseDir: string): string {
  const head = `dry run: ${agents} agent${agents === 1 ? '' : 's'}${tasks === undefined ? '' : ` x ${tasks} task${tasks === 1 ? '' : 's'}`} = ${plan.total} run${plan.total === 1 ? '' : 's'}; ${plan.toRun} to run${plan.skipped > 0 ? `, ${plan.skipped} skipped (already in run "${runName}")` : ''}; nothing was spawned`;
  const lines = [head, `prompts to send: ${plan.promptBytes} bytes, ${plan.promptTokens} tokens in all`, ''];
  for (const r of plan.runs) {
    if (r.skip !== undefined) {
      lines.push(`${r.name}: skipped (${r.skip} before)`);
      continue;
    }
    const prompt =
      r.prompt === undefined
        ? 'no prompt'
        : `prompt ${r.prompt.bytes} B, ${r.prompt.tokens} tokens${r.prompt.truncated ? ' (context cut to maxTokens)' : ''} via ${r.promptVia}`;
    // The agents file's folder is every agent's default cwd: shown only when an agent has another.
    const extra = [
      r.cwd === undefined || r.cwd === baseDir ? undefined : `cwd ${r.cwd}`,
      r.timeoutMs === undefined ? undefined : `timeout ${duration(r.timeoutMs)}`,
      r.buildError === undefined ? undefined : `would fail to build: ${r.buildError}`,
    ].filter((x) => x !== undefined);
    lines.push(`${r.name}: ${r.commandLine}  [${[prompt, ...extra].join('; ')}]`);
  }
  return lines.join('\n');
}

function outputMode(flag: string | undefined, json: boolean): OutputMode {
  if (flag === undefined) return json ? 'none' : 'group';
  if (!(OUTPUT_MODES as readonly string[]).includes(flag)) throw new UsageError(`Expected --output to be tag, group or none, got "${flag}"`);
  if (json && flag !== 'none')
    throw new UsageError(`--output ${flag} prints the agents' output on stdout, which --json keeps for its JSON: leave --output out`);
  return flag as OutputMode;
}
