/**
 * What travels through Redis: a job's payload (one agent run), its id, and
 * its return value (the run's result). Both are plain JSON.
 */
import { z } from 'zod';
import type { Task } from '../tasks/load-tasks.ts';
import { ConfigError } from '../index.ts';
import { fieldIssue } from '../options/parse-options.ts';
import { runNameSchema } from './options.ts';

/** BullMQ job name of an agent run, and of a run's parent job. */
export const AGENT_RUN_JOB = 'agent-run';
export const RUN_JOB = 'run';

/** The queue that holds each run's parent job (a FlowProducer parent): `<queue>-runs`. */
export function runsQueueName(queue: string): string {
  return `${queue}-runs`;
}

/**
 * An agent run's job id: `<run>/<agent>/<task id>` (`<run>/<agent>` without
 * a task list), agent name and task id URI-encoded so that a `/` or `:` in
 * them cannot make two runs share an id. Enqueueing the same run twice
 * therefore adds nothing: BullMQ keeps the first job of an id.
 */
export function agentRunJobId(run: string, agent: string, taskId: string | undefined): string {
  return taskId === undefined ? `${run}/${idSegment(agent)}` : `${run}/${idSegment(agent)}/${idSegment(taskId)}`;
}

/** URI-encoded, and never `.` or `..` (job ids also name output files). */
export function idSegment(s: string): string {
  return encodeURIComponent(s).replace(/^\.+$/, (dots) => '%2E'.repeat(dots.length));
}

const taskSchema = z.strictObject({
  id: z.string().min(1),
  row: z.number().int().positive(),
  line: z.number().int().positive(),
  file: z.string(),
  vars: z.record(z.string(), z.unknown()),
});

/** The agent as the job carries it: its spec as written (with the agents file's defaults), or its name in the worker's agents file. */
const agentSchema = z.union([
  z.string().min(1),
  z.strictObject({
    spec: z.record(z.string(), z.unknown()),
    defaults: z.record(z.string(), z.unknown()).optional(),
  }),
]);

/** The payload of an agent-run job. `v` versions the format. */
export const agentRunDataSchema = z.strictObject({
  v: z.literal(1),
  run: runNameSchema,
  agent: agentSchema,
  task: taskSchema.optional(),
});

export type AgentRunData = z.output<typeof agentRunDataSchema>;

/** The payload of a run's parent job. */
export interface RunData {
  run: string;
  /** Agent runs (children) of the run. */
  total: number;
}

/** Validates a job's payload; a ConfigError names the job and the field. */
export function parseAgentRunData(jobId: string | undefined, data: unknown): AgentRunData {
  const result = agentRunDataSchema.safeParse(data);
  if (result.success) return result.data;
  throw new ConfigError(`job ${jobId ?? '?'}: invalid payload: ${fieldIssue(agentRunDataSchema, result.error.issues)}`);
}

/** A task as the job carries it. */
export function taskPayload(task: Task): z.output<typeof taskSchema> {
  return { id: task.id, row: task.row, line: task.line, file: task.file, vars: { ...task.vars } };
}

/** The return value of an agent-run job: how the run went, on which host. Failed runs log the same object (job logs). */
export interface AgentRunResult {
  jobId: string;
  run: string;
  /** The agent's own name (without the task id). */
  agent: string;
  taskId: string | null;
  /** The worker's host name (BullMQ's `processedBy`). */
  host: string;
  /** 1 for the first try, 2 for the first retry... */
  attempt: number;
  /** Spawned and exited 0. */
  ok: boolean;
  exitCode: number | null;
  signal: string | null;
  /** Why it failed; `errno` is the OS error of an agent that could not be started (SpawnError.errno). */
  error: { code: string; stage: string; message: string; errno?: string } | null;
  /** ISO times on the worker's clock: the job taken, the agent exited. */
  startedAt: string;
  finishedAt: string;
  /** Enqueued (or last retried) to taken by this worker, ms. */
  waitMs: number;
  /** The spawn's timings (queueMs, buildMs, launchMs, spawnMs: see the README's metrics), and spawned to exit. */
  timings: { queueMs: number; buildMs: number; launchMs: number; spawnMs: number; runMs: number };
  prompt: { sha256: string; bytes: number; tokens: number; truncated: boolean } | null;
  /** The output itself, or null when the worker saves it to files (`outputDir`). */
  stdout: string | null;
  stderr: string | null;
  stdoutFile: string | null;
  stderrFile: string | null;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

/** The return value of a run's parent job: the run is done. */
export interface RunSummary {
  run: string;
  total: number;
  succeeded: number;
  failed: number;
  /** Failed agent runs: job id and BullMQ's failed reason (at most 100). */
  failures: { jobId: string; reason: string }[];
}
