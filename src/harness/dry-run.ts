// The prompts are built in this thread, one after another: a dry run has
// nothing else to keep responsive.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { preflightAgents } from '../spec/preflight.ts';
import type { PromptVia } from '../spec/schema.ts';
import { RunJournal } from './journal.ts';
import { resolveHarnessOptions, type HarnessOptions } from './options.ts';
import { preflightRuns } from './preflight.ts';
import { planResume, type ResumePlan } from './resume.ts';
import { checkRuns } from './runs.ts';
import type { HarnessRun } from './types.ts';

/** One run as a harness would start it. */
export interface PlannedRun {
  /** The run's name: `<agent>/<task id>`. */
  name: string;
  /** The agent's name. */
  agent: string;
  /** The task's id; undefined without a task list. */
  taskId: string | undefined;
  /** The program. */
  command: string;
  /** As the launcher gets them: `{{prompt}}` / `{{promptFile}}` are filled at launch. */
  args: string[];
  /** The command line for reading, shell-quoted; spawnpool never runs it through a shell. */
  commandLine: string;
  /** Its working directory; undefined: the harness process's. */
  cwd: string | undefined;
  /** Variables added to the inherited environment. */
  env: Record<string, string> | undefined;
  /** How the prompt would reach it. */
  promptVia: PromptVia;
  /** The fixed timeout (the agent's or the harness's); a relative one is only known while running. */
  timeoutMs: number | undefined;
  /** undefined: the agent has no prompt. */
  prompt: { bytes: number; tokens: number; sha256: string; truncated: boolean } | undefined;
  /** The prompt could not be built (e.g. it cannot fit maxTokens): the run would fail at its build. */
  buildError: string | undefined;
  /** A resumed run would skip it: what the named run already holds. */
  skip: 'succeeded' | 'failed' | undefined;
}

/** What {@link dryRunHarness} found: every run planned, and the counts. */
export interface DryRun {
  /** One per run given, in input order. */
  runs: PlannedRun[];
  /** Runs given. */
  total: number;
  /** Runs a real run would start. */
  toRun: number;
  /** Runs a resumed run would skip. */
  skipped: number;
  /** Distinct agents. */
  agents: number;
  /** Distinct task ids (0 without a task list). */
  tasks: number;
  /** Bytes of the prompts that would be sent. */
  promptBytes: number;
  /** Tokens of the prompts that would be sent. */
  promptTokens: number;
}

/** Options of {@link dryRunHarness}: those of a harness that change the plan, and where to find files. */
export interface DryRunOptions extends Pick<HarnessOptions, 'runName' | 'resume' | 'resumeFailed' | 'timeoutMs'> {
  /** Folder that prompt files must stay under (the spawner's root in a real run). */
  root: string;
  /** The history database holding the named run (for `resume` / `resumeFailed`). */
  historyPath?: string;
}

/**
 * What a harness would run, and nothing more: plans the runs as
 * `runHarness()` would start them, after the same checks: every run's
 * command line, working folder, timeout and prompt (its size, tokens and
 * sha256, built as the workers would with the default builder), which runs
 * a resumed run would skip, and the counts. Spawns nothing, writes nothing.
 *
 * @throws ConfigError for bad runs or options (as runHarness), HistoryError for an unreadable history.
 * @example
 * const plan = await dryRunHarness(runs, { root: '.' });
 * for (const r of plan.runs) console.log(r.commandLine, r.prompt?.tokens);
 */
export async function dryRunHarness(runs: readonly HarnessRun[], options: DryRunOptions): Promise<DryRun> {
  const { root, historyPath, ...rest } = options;
  const o = resolveHarnessOptions(rest, 'dryRunHarness()');
  const agents = checkRuns(runs);
  const base = path.resolve(root);
  await preflightRuns(runs, base, (specs) => preflightAgents(specs, { root: base }));
  let resume: ResumePlan | undefined;
  if (o.runName !== undefined && o.resume !== undefined && historyPath !== undefined && existsSync(historyPath)) {
    const journal = RunJournal.openReadonly(historyPath, o.runName);
    try {
      resume = planResume(journal, runs, o.resume);
    } finally {
      journal.close();
    }
  }
  // Loaded here, not at the top: the tokenizer is megabytes of code, and every host that imports
  // spawnpool would parse it on its main thread, where prompts are otherwise never built.
  // The CLI's bundle (package.json, bundle) leaves this import out for the same reason; it
  // resolves from dist/src/cli/ as from dist/src/harness/, both one folder under dist/src/.
  const { buildFromSpec } = await import('../prompt/build.ts');
  const planned: PlannedRun[] = [];
  for (const run of runs) {
    const { spec } = run;
    let prompt: PlannedRun['prompt'];
    let buildError: string | undefined;
    if (spec.prompt !== undefined) {
      try {
        const built = await buildFromSpec(spec.prompt, { agent: run.name, root: base });
        prompt = { bytes: built.bytes.byteLength, tokens: built.tokens, sha256: built.sha256, truncated: built.truncated };
      } catch (error) {
        buildError = (error as Error).message;
      }
    }
    const timeouts = [spec.timeoutMs, o.timeoutMs].filter((t) => t !== undefined);
    planned.push({
      name: run.name,
      agent: run.agent,
      taskId: run.taskId,
      command: spec.command,
      args: spec.args,
      commandLine: [spec.command, ...spec.args].map(shellQuote).join(' '),
      cwd: spec.cwd,
      env: spec.env,
      promptVia: spec.promptVia,
      timeoutMs: timeouts.length === 0 ? undefined : Math.min(...timeouts),
      prompt,
      buildError,
      skip: resume?.skip.get(run.name),
    });
  }
  const sent = planned.filter((p) => p.skip === undefined);
  return {
    runs: planned,
    total: planned.length,
    toRun: sent.length,
    skipped: planned.length - sent.length,
    agents: agents.size,
    tasks: new Set(runs.map((r) => r.taskId).filter((t) => t !== undefined)).size,
    promptBytes: sent.reduce((sum, p) => sum + (p.prompt?.bytes ?? 0), 0),
    promptTokens: sent.reduce((sum, p) => sum + (p.prompt?.tokens ?? 0), 0),
  };
}

/** POSIX shell quoting, for display. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_\-+=./:,@%{}]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
