/**
 * One agent-run job on one host: the payload validated, the agent expanded
 * for its task, launched through the host's Spawner (the public API: one
 * `spawnBatch([agent])` per job), and its result made into the job's return
 * value.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { errnoOf } from '../errors.ts';
import { ConfigError, resolveAgentsFile, type AgentResult, type SpawnOutcome, type Spawner } from '../index.ts';
import { expandRun } from '../tasks/expand.ts';
import type { Task } from '../tasks/load-tasks.ts';
import { type AgentRunData, type AgentRunResult, parseAgentRunData } from './job.ts';

/** An agents file the workers share, for jobs that name their agent. */
export interface SharedAgents {
  file: string;
  /** Relative `cwd`s and prompt files resolve against it, as in `spawnpool run`. */
  baseDir: string;
  defaults: unknown;
  /** Each agent as written. */
  byName: ReadonlyMap<string, unknown>;
}

/** Reads and validates an agents file, keeping each agent as written (tasks are substituted per job). */
export async function loadSharedAgents(file: string): Promise<SharedAgents> {
  const absolute = path.resolve(file);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(absolute, 'utf8'));
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const reason = e.code === 'ENOENT' ? 'no such file' : e instanceof SyntaxError ? `not valid JSON: ${e.message}` : e.message;
    throw new ConfigError(`${file}: cannot read the agents file: ${reason}`, { file, cause: error });
  }
  const baseDir = path.dirname(absolute);
  resolveAgentsFile(json, { baseDir, file });
  const { defaults, agents } = json as { defaults?: unknown; agents: { name: string }[] };
  return { file, baseDir, defaults, byName: new Map(agents.map((a) => [a.name, a])) };
}

export interface RunContext {
  spawner: Spawner;
  host: string;
  /** Prompt root, and what relative paths of inline specs resolve against. */
  root: string;
  agents: SharedAgents | undefined;
  /** Save stdout and stderr here instead of returning them. */
  outputDir: string | undefined;
}

/** The parts of a BullMQ job used here. */
export interface JobLike {
  id?: string | undefined;
  data: unknown;
  /** Attempts finished before this one. */
  attemptsMade: number;
  /** Enqueued at (ms since the epoch). */
  timestamp: number;
  /** Taken by this worker at. */
  processedOn?: number | undefined;
}

/**
 * Runs the job's agent to its exit. Resolves with the result whether the
 * agent succeeded or not (the caller fails the job when `!ok`).
 *
 * @throws ConfigError when the payload or the agent's spec is invalid, or names what this host lacks.
 */
export async function runAgentJob(job: JobLike, signal: AbortSignal, ctx: RunContext): Promise<AgentRunResult> {
  const jobId = job.id ?? '?';
  const data = parseAgentRunData(job.id, job.data);
  const { spec, root } = agentFor(data, jobId, ctx);
  // Files the agent names must exist on this host: else the job fails here, with pre-flight's message, and nothing starts.
  await ctx.spawner.preflight([spec], { root, file: `job ${jobId}` });
  const startedAt = job.processedOn ?? Date.now();
  const controller = new AbortController();
  const stop = () => controller.abort(signal.reason);
  if (signal.aborted) stop();
  else signal.addEventListener('abort', stop, { once: true });
  let outcome: SpawnOutcome | undefined;
  let result: AgentResult;
  try {
    const batch = ctx.spawner.spawnBatch([spec], { signal: controller.signal, root });
    for await (const o of batch) outcome = o;
    result = await outcome!.result;
  } finally {
    signal.removeEventListener('abort', stop);
  }
  const o = outcome!;
  const output = ctx.outputDir === undefined ? undefined : await saveOutput(ctx.outputDir, jobId, result);
  const error = result.error ?? o.error;
  return {
    jobId,
    run: data.run,
    agent: agentName(data),
    taskId: data.task?.id ?? null,
    host: ctx.host,
    attempt: job.attemptsMade + 1,
    ok: o.ok && result.ok,
    exitCode: result.exitCode ?? null,
    signal: result.signal ?? null,
    error: error === undefined ? null : { code: error.code, stage: result.stage ?? o.stage ?? '', message: error.message, errno: errnoOf(error) },
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date().toISOString(),
    waitMs: startedAt - job.timestamp,
    timings: { queueMs: o.timings.queueMs, buildMs: o.timings.buildMs, launchMs: o.timings.launchMs, spawnMs: o.timings.spawnMs, runMs: result.durationMs },
    prompt: o.prompt === undefined ? null : { sha256: o.prompt.sha256, bytes: o.prompt.bytes, tokens: o.prompt.tokens, truncated: o.prompt.truncated },
    stdout: output === undefined ? result.stdout : null,
    stderr: output === undefined ? result.stderr : null,
    stdoutFile: output?.stdout ?? null,
    stderrFile: output?.stderr ?? null,
    stdoutTruncated: result.stdoutTruncated,
    stderrTruncated: result.stderrTruncated,
  };
}

function agentName(data: AgentRunData): string {
  return typeof data.agent === 'string' ? data.agent : String(data.agent.spec.name);
}

function agentFor(data: AgentRunData, jobId: string, ctx: RunContext) {
  const task = data.task as Task | undefined;
  if (typeof data.agent !== 'string') {
    return { spec: expandRun({ agent: data.agent.spec, defaults: data.agent.defaults, task, baseDir: ctx.root, file: `job ${jobId}` }), root: ctx.root };
  }
  const shared = ctx.agents;
  if (shared === undefined)
    throw new ConfigError(`job ${jobId}: names agent "${data.agent}", but this worker has no agents file (start it with --agents FILE)`);
  const raw = shared.byName.get(data.agent);
  if (raw === undefined)
    throw new ConfigError(`job ${jobId}: no agent "${data.agent}" in ${shared.file} (its agents: ${[...shared.byName.keys()].join(', ')})`, {
      file: shared.file,
    });
  return { spec: expandRun({ agent: raw, defaults: shared.defaults, task, baseDir: shared.baseDir, file: shared.file }), root: ctx.root };
}

async function saveOutput(dir: string, jobId: string, result: AgentResult): Promise<{ stdout: string; stderr: string }> {
  // Job ids are `<run>/<agent>/<task>` with each part encoded: never `..`, never a `/` inside a part.
  const base = path.join(path.resolve(dir), ...jobId.split('/'));
  await mkdir(path.dirname(base), { recursive: true });
  const files = { stdout: `${base}.stdout`, stderr: `${base}.stderr` };
  await Promise.all([writeFile(files.stdout, result.stdout), writeFile(files.stderr, result.stderr)]);
  return files;
}
