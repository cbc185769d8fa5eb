/**
 * Enqueueing a run: every agent × task as one BullMQ job, all children of
 * one FlowProducer parent (the run) so that "the run is done" is one event,
 * the parent's completion. Everything is validated (and pre-flighted) here
 * first: bad input enqueues nothing.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { ConfigError, preflightAgents } from '../index.ts';
import { expandRuns } from '../tasks/expand.ts';
import type { Task } from '../tasks/load-tasks.ts';
import { loadBullmq } from './bullmq.ts';
import { AGENT_RUN_JOB, type AgentRunData, agentRunJobId, RUN_JOB, type RunData, type RunSummary, runsQueueName, taskPayload } from './job.ts';
import { parseOptions } from '../options/parse-options.ts';
import { positiveInt, prefixSchema, queueNameSchema, redisUrlSchema, runNameSchema } from './options.ts';
import { probeRedis, redactUrl } from './redis.ts';

/** Options of {@link enqueueRun}. */
export interface EnqueueOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  redis: string;
  /** The queue's name, as given to the workers. */
  queue: string;
  /** The agents file's content as written: `{ defaults?, agents: [...] }`. */
  agents: { defaults?: unknown; agents: readonly unknown[] };
  /** Where `agents` came from: named in messages; relative paths resolve against its folder for the pre-flight. */
  agentsFile?: string;
  /** One agent run per agent per task; without tasks, each agent runs once. */
  tasks?: readonly Task[];
  /**
   * The run's name, and the first part of its job ids.
   * @default `run-` and 12 hex digits of the sha256 of the agents and tasks, so enqueueing the same input twice is the same run
   */
  run?: string;
  /**
   * Jobs carry the agent's name, not its spec: every worker then needs the same agents file (`agentsFile` option).
   * @default false
   */
  byName?: boolean;
  /**
   * Tries per agent run (BullMQ attempts), a failed agent (non-zero exit, timeout...) being retried.
   * @default 1
   */
  attempts?: number;
  /**
   * Exponential backoff between tries: first retry after this many ms, then twice as long...
   * @default 1000
   */
  backoffMs?: number;
  /** The queue's global rate limit (BullMQ), shared by every worker on every host: at most `max` agent runs started per `durationMs`. `null` removes it; undefined leaves it as it is. */
  rateLimit?: { max: number; durationMs: number } | null;
  /**
   * Check template and context files and argument sizes on this host first.
   * @default true
   */
  preflight?: boolean;
  /**
   * BullMQ key prefix.
   * @default `bull`
   */
  prefix?: string;
}

/** What {@link enqueueRun} did. */
/** What {@link enqueueRun} did. */
export interface EnqueueReport {
  /** The run's name: pass it to {@link waitForRun}. */
  run: string;
  /** The queue the agent runs went to. */
  queue: string;
  /** Agent runs of the run. */
  jobs: number;
  /** Jobs added now; `jobs - added` were already in the queue (same ids). */
  added: number;
}

const optionsSchema = z.strictObject({
  redis: redisUrlSchema,
  queue: queueNameSchema,
  agents: z.strictObject({ defaults: z.unknown().optional(), agents: z.array(z.unknown()) }),
  agentsFile: z.string().min(1).optional(),
  tasks: z.array(z.custom<Task>((t) => typeof t === 'object' && t !== null && typeof (t as Task).id === 'string', 'to be tasks from loadTasks()')).optional(),
  run: runNameSchema.optional(),
  byName: z.boolean().optional(),
  attempts: positiveInt.optional(),
  backoffMs: z.number().int().nonnegative().optional(),
  rateLimit: z.strictObject({ max: positiveInt, durationMs: positiveInt }).nullable().optional(),
  preflight: z.boolean().optional(),
  prefix: prefixSchema.optional(),
});

/**
 * Adds a run to the queue: one job per agent per task, id
 * `<run>/<agent>/<task id>`, children of the run's parent job `<run>` in
 * `<queue>-runs`. Enqueueing the same run again adds nothing. A run is
 * fixed by its first enqueue: an enqueue under the same name with agent
 * runs the first one did not have is refused.
 *
 * @throws ConfigError for bad agents or tasks (nothing enqueued), an unreachable Redis (naming the URL), or a run name already used for other agent runs.
 * @example
 * const tasks = await loadTasks('tasks.jsonl');
 * const report = await enqueueRun({ redis: 'redis://127.0.0.1:6379', queue: 'evals', agents: { agents: [{ name: 'fix', command: 'my-agent', prompt: { template: 'Fix {{task.issue}}' } }] }, tasks });
 * const summary = await waitForRun({ redis: 'redis://127.0.0.1:6379', queue: 'evals', run: report.run });
 */
export async function enqueueRun(options: EnqueueOptions): Promise<EnqueueReport> {
  const o = parseOptions(optionsSchema, {}, options, 'enqueueRun()');
  const file = o.agentsFile;
  const baseDir = file === undefined ? process.cwd() : path.dirname(path.resolve(file));
  const runs = expandRuns(o.agents, o.tasks, { baseDir, ...(file === undefined ? {} : { file }) });
  if (o.preflight !== false)
    await preflightAgents(
      runs.map((r) => r.spec),
      { root: baseDir, file },
    );
  const run = o.run ?? defaultRunName(o.agents, o.tasks);

  const payloads: { id: string; data: AgentRunData }[] = [];
  let k = 0;
  for (const task of o.tasks ?? [undefined]) {
    o.agents.agents.forEach((raw) => {
      const r = runs[k++]!;
      const agent = o.byName
        ? r.agent
        : { spec: raw as Record<string, unknown>, ...(o.agents.defaults === undefined ? {} : { defaults: o.agents.defaults as Record<string, unknown> }) };
      payloads.push({ id: agentRunJobId(run, r.agent, r.taskId), data: { v: 1, run, agent, ...(task === undefined ? {} : { task: taskPayload(task) }) } });
    });
  }

  const bullmq = await loadBullmq();
  await probeRedis(bullmq, o.redis, o.prefix);
  const base = { connection: { url: o.redis }, ...(o.prefix === undefined ? {} : { prefix: o.prefix }) };
  const queue = new bullmq.Queue(o.queue, base);
  const runsQueue = new bullmq.Queue(runsQueueName(o.queue), base);
  const flows = new bullmq.FlowProducer(base);
  const fail = (error: Error) => {
    throw new ConfigError(`Redis at ${redactUrl(o.redis)}: ${error.message}`, { cause: error });
  };
  try {
    const existing = await countExisting(
      queue,
      payloads.map((p) => p.id),
    );
    const parent = await runsQueue.getJob(run);
    if (parent !== undefined && existing < payloads.length) {
      const total = (parent.data as RunData).total;
      throw new ConfigError(
        `run "${run}" is already in queue "${o.queue}" with ${total} agent runs, and this enqueue has ${payloads.length - existing} it does not have: give it another run name`,
      );
    }
    // Before the jobs: workers already waiting would otherwise take some before the limit applies.
    if (o.rateLimit === null) await queue.removeGlobalRateLimit().catch(fail);
    else if (o.rateLimit !== undefined) await queue.setGlobalRateLimit(o.rateLimit.max, o.rateLimit.durationMs).catch(fail);
    if (parent === undefined) {
      const backoff = { type: 'exponential', delay: o.backoffMs ?? 1000 };
      await flows
        .add({
          name: RUN_JOB,
          queueName: runsQueueName(o.queue),
          data: { run, total: payloads.length } satisfies RunData,
          opts: { jobId: run },
          children: payloads.map((p) => ({
            name: AGENT_RUN_JOB,
            queueName: o.queue,
            data: p.data,
            // A child that fails for good is set aside rather than blocking the run: the parent still completes, counting it failed.
            opts: { jobId: p.id, attempts: o.attempts ?? 1, backoff, ignoreDependencyOnFailure: true },
          })),
        })
        .catch(fail);
    }
    return { run, queue: o.queue, jobs: payloads.length, added: parent === undefined ? payloads.length - existing : 0 };
  } finally {
    await Promise.allSettled([flows.close(), queue.close(), runsQueue.close()]);
  }
}

/** Options of {@link waitForRun}. */
export interface WaitForRunOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  redis: string;
  /** The queue's name, as given to {@link enqueueRun}. */
  queue: string;
  /** The run's name, from the EnqueueReport. */
  run: string;
  /**
   * Give up after this many ms (rejects).
   * @default wait as long as it takes
   */
  timeoutMs?: number;
  /**
   * BullMQ key prefix.
   * @default `bull`
   */
  prefix?: string;
}

const waitSchema = z.strictObject({
  redis: redisUrlSchema,
  queue: queueNameSchema,
  run: runNameSchema,
  timeoutMs: positiveInt.optional(),
  prefix: prefixSchema.optional(),
});

/**
 * Resolves with the run's summary once every agent run of it has completed
 * or failed for good: the completion of the run's parent job (BullMQ
 * QueueEvents), which needs a worker running on the queue.
 *
 * @throws ConfigError for an unknown run or an unreachable Redis.
 * @example
 * const { run } = await enqueueRun({ redis, queue: 'evals', agents, tasks });
 * const summary = await waitForRun({ redis, queue: 'evals', run, timeoutMs: 3_600_000 });
 * for (const f of summary.failures) console.error(f.jobId, f.reason);
 */
export async function waitForRun(options: WaitForRunOptions): Promise<RunSummary> {
  const o = parseOptions(waitSchema, {}, options, 'waitForRun()');
  const bullmq = await loadBullmq();
  await probeRedis(bullmq, o.redis, o.prefix);
  const base = { connection: { url: o.redis }, ...(o.prefix === undefined ? {} : { prefix: o.prefix }) };
  const runsQueue = new bullmq.Queue(runsQueueName(o.queue), base);
  const events = new bullmq.QueueEvents(runsQueueName(o.queue), base);
  try {
    const job = await runsQueue.getJob(o.run);
    if (job === undefined) throw new ConfigError(`no run "${o.run}" in queue "${o.queue}" at ${redactUrl(o.redis)}`);
    const stopPolling = new AbortController();
    try {
      return (await Promise.race([job.waitUntilFinished(events, o.timeoutMs), polledEnd(runsQueue, o.run, stopPolling.signal)])) as RunSummary;
    } finally {
      stopPolling.abort();
    }
  } finally {
    await Promise.allSettled([events.close(), runsQueue.close()]);
  }
}

/** How often waitForRun also reads the run's state itself. */
const POLL_MS = 1000;

/**
 * Settles as the run's parent job ends, read from Redis every POLL_MS; never, once `signal` aborts. The
 * completion event alone was missed once in a loaded suite (2 jobs done, the wait timed out after 30 s),
 * most likely an event published after QueueEvents was ready but before its first XREAD was issued.
 */
export async function polledEnd(
  queue: { getJob(id: string): Promise<{ getState(): Promise<string>; returnvalue: unknown; failedReason: string } | undefined> },
  run: string,
  signal: AbortSignal,
): Promise<unknown> {
  for (;;) {
    await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) return new Promise(() => {});
    // A failed read leaves the wait to the event, as before this poll.
    const job = await queue.getJob(run).catch(() => undefined);
    const state = await job?.getState().catch(() => undefined);
    if (state === 'completed') return job!.returnvalue;
    if (state === 'failed') throw new Error(job!.failedReason);
  }
}

/** `run-` and 12 hex digits of the sha256 of the agents and tasks: the same input is the same run. */
export function defaultRunName(agents: unknown, tasks: readonly Task[] | undefined): string {
  const input = JSON.stringify({ agents, tasks: tasks?.map((t) => [t.id, t.vars]) ?? null });
  return `run-${createHash('sha256').update(input).digest('hex').slice(0, 12)}`;
}

async function countExisting(
  queue: {
    client: Promise<{ pipeline(): { runCommand(name: string, args: unknown[]): unknown; exec(): Promise<[Error | null, unknown][] | null> } }>;
    toKey(id: string): string;
  },
  ids: readonly string[],
): Promise<number> {
  const client = await queue.client;
  let existing = 0;
  for (let i = 0; i < ids.length; i += 1000) {
    const pipeline = client.pipeline();
    for (const id of ids.slice(i, i + 1000)) pipeline.runCommand('exists', [queue.toKey(id)]);
    const replies = (await pipeline.exec()) ?? [];
    for (const [error, n] of replies) {
      if (error) throw error;
      existing += Number(n);
    }
  }
  return existing;
}
