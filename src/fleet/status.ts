/**
 * A queue's state as BullMQ keeps it: job counts, which host has done what
 * (BullMQ's `processedBy`, the worker's host name), the recent rate of
 * finished runs and the ETA it implies, the connected workers and the runs.
 * Read-only.
 */
import type { Job, Queue } from 'bullmq';
import { z } from 'zod';
import { ConfigError } from '../index.ts';
import { loadBullmq } from './bullmq.ts';
import type { RunData, RunSummary } from './job.ts';
import { runsQueueName } from './job.ts';
import { parseOptions } from '../options/parse-options.ts';
import { positiveInt, prefixSchema, queueNameSchema, redisUrlSchema } from './options.ts';
import { probeRedis, redactUrl } from './redis.ts';

/** Options of {@link fleetStatus}. */
export interface FleetStatusOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  redis: string;
  /** The queue's name, as given to the workers. */
  queue: string;
  /**
   * The rate is of runs finished in this window, ending now.
   * @default 60000
   */
  windowMs?: number;
  /**
   * BullMQ key prefix.
   * @default `bull`
   */
  prefix?: string;
}

/** One host that has worked on the queue. */
export interface HostStatus {
  /** Its name (the FleetWorker option `host`). */
  host: string;
  /** Workers of this host connected to Redis now (0: it is gone, or not started). */
  workers: number;
  /** Agent runs it is running now. */
  active: number;
  /** Agent runs it completed, among the finished jobs the queue keeps. */
  completed: number;
  /** Agent runs that failed on it, among the finished jobs the queue keeps. */
  failed: number;
  /** Runs finished per second over the window (see {@link FleetStatus.rate}); null under 2 in the window. */
  ratePerSecond: number | null;
}

/** One run (agents × tasks) in the queue. */
export interface RunStatus {
  /** The run's name. */
  run: string;
  /** BullMQ state of the run's parent: `waiting-children` while agent runs remain, `completed` once done. */
  state: string;
  /** Agent runs of the run. */
  total: number;
  /** Agent runs completed. */
  succeeded: number;
  /** Agent runs failed for good. */
  failed: number;
  /** Agent runs not finished yet. */
  pending: number;
}

/** What {@link fleetStatus} read: the queue's counts, its rate and ETA, its hosts and its newest runs. */
export interface FleetStatus {
  /** The queue's name. */
  queue: string;
  /** The Redis URL, password hidden. */
  redis: string;
  /** ISO time of the reading. */
  at: string;
  /** Agent runs waiting for a host. */
  waiting: number;
  /** Agent runs running now. */
  active: number;
  /** Finished jobs kept in the queue that completed. */
  completed: number;
  /** Finished jobs kept in the queue that failed for good. */
  failed: number;
  /** Waiting for a retry (backoff), or put back by a worker that shut down. */
  delayed: number;
  /** waiting + active + delayed (+ prioritized, paused). */
  remaining: number;
  /** Runs finished recently. */
  rate: {
    /** The window, ending at `at`. */
    windowMs: number;
    /** Runs finished (completed or failed for good) in the window. */
    finished: number;
    /** finished / (now - the first finish in the window), per second; null under 2 finishes. */
    perSecond: number | null;
  };
  /** remaining / rate, in seconds; null without a rate. */
  etaSeconds: number | null;
  /** The queue's global rate limit, if set. */
  rateLimit: { max: number; durationMs: number } | null;
  /** Every host seen in the finished jobs or connected now. */
  hosts: HostStatus[];
  /** The newest runs (at most 20), newest first. */
  runs: RunStatus[];
}

const optionsSchema = z.strictObject({ redis: redisUrlSchema, queue: queueNameSchema, windowMs: positiveInt.optional(), prefix: prefixSchema.optional() });

/** Runs shown, newest first. */
const MAX_RUNS = 20;

/**
 * Reads the queue's state. Cost: one small read per finished job (its host
 * and finish time, pipelined), so a queue that keeps 100,000 finished jobs
 * takes a moment.
 *
 * @throws ConfigError for an unreachable Redis, naming the URL.
 * @example
 * const status = await fleetStatus({ redis: 'redis://127.0.0.1:6379', queue: 'evals' });
 * console.log(`${status.remaining} left, ETA ${status.etaSeconds ?? '?'} s`, status.hosts.map((h) => h.host));
 */
export async function fleetStatus(options: FleetStatusOptions): Promise<FleetStatus> {
  const o = parseOptions(optionsSchema, {}, options, 'fleetStatus()');
  const bullmq = await loadBullmq();
  await probeRedis(bullmq, o.redis, o.prefix);
  const base = { connection: { url: o.redis }, ...(o.prefix === undefined ? {} : { prefix: o.prefix }) };
  const queue = new bullmq.Queue(o.queue, base);
  const runsQueue = new bullmq.Queue(runsQueueName(o.queue), base);
  try {
    const windowMs = o.windowMs ?? 60_000;
    const now = Date.now();
    const counts = await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized', 'paused');
    const n = (k: string) => counts[k] ?? 0;
    const [active, completed, failed] = await Promise.all([
      hostsOf(queue, 'active', now - windowMs),
      hostsOf(queue, 'completed', now - windowMs),
      hostsOf(queue, 'failed', now - windowMs),
    ]);
    const workers = await workerHosts(queue);
    const names = new Set([...workers.keys(), ...active.byHost.keys(), ...completed.byHost.keys(), ...failed.byHost.keys()]);
    const finishedIn = (host?: string) =>
      [...(host === undefined ? [...completed.recent, ...failed.recent] : [...completed.recent, ...failed.recent].filter((r) => r.host === host))].map(
        (r) => r.at,
      );
    const hosts: HostStatus[] = [...names].sort().map((host) => ({
      host,
      workers: workers.get(host) ?? 0,
      active: active.byHost.get(host) ?? 0,
      completed: completed.byHost.get(host) ?? 0,
      failed: failed.byHost.get(host) ?? 0,
      ratePerSecond: rateOf(finishedIn(host), now),
    }));
    const all = finishedIn();
    const perSecond = rateOf(all, now);
    const remaining = n('waiting') + n('active') + n('delayed') + n('prioritized') + n('paused');
    const limit = await queue.getGlobalRateLimit();
    return {
      queue: o.queue,
      redis: redactUrl(o.redis),
      at: new Date(now).toISOString(),
      waiting: n('waiting') + n('prioritized') + n('paused'),
      active: n('active'),
      completed: n('completed'),
      failed: n('failed'),
      delayed: n('delayed'),
      remaining,
      rate: { windowMs, finished: all.length, perSecond },
      etaSeconds: perSecond === null || perSecond === 0 ? (remaining === 0 ? 0 : null) : remaining / perSecond,
      rateLimit: limit === null ? null : { max: limit.max, durationMs: limit.duration },
      hosts,
      runs: await runsOf(runsQueue),
    };
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`Redis at ${redactUrl(o.redis)}: ${(error as Error).message}`, { cause: error });
  } finally {
    await Promise.allSettled([queue.close(), runsQueue.close()]);
  }
}

interface Finished {
  host: string;
  at: number;
}

/** Per host, how many jobs of a state; and, for finished states, the ones finished since `since`. */
async function hostsOf(queue: Queue, state: 'active' | 'completed' | 'failed', since: number): Promise<{ byHost: Map<string, number>; recent: Finished[] }> {
  const client = await queue.client;
  const ids = state === 'active' ? await client.lrange(queue.keys.active!, 0, -1) : await client.zrange(queue.keys[state]!, 0, -1);
  const byHost = new Map<string, number>();
  const recent: Finished[] = [];
  for (let i = 0; i < ids.length; i += 1000) {
    const pipeline = client.pipeline();
    for (const id of ids.slice(i, i + 1000)) pipeline.runCommand('hmget', [queue.toKey(id), 'pb', 'finishedOn']);
    for (const [error, reply] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
      const [pb, finishedOn] = reply as [string | null, string | null];
      const host = pb ?? '(unknown)';
      byHost.set(host, (byHost.get(host) ?? 0) + 1);
      const at = Number(finishedOn);
      if (state !== 'active' && finishedOn !== null && at >= since) recent.push({ host, at });
    }
  }
  return { byHost, recent };
}

/** Connected workers per host name (BullMQ names each worker's connection after it). */
async function workerHosts(queue: Queue): Promise<Map<string, number>> {
  const hosts = new Map<string, number>();
  for (const w of await queue.getWorkers()) {
    const raw = (w as Record<string, string>).rawname ?? '';
    const at = raw.indexOf(':w:');
    if (at < 0) continue;
    const host = raw.slice(at + 3);
    hosts.set(host, (hosts.get(host) ?? 0) + 1);
  }
  return hosts;
}

function rateOf(times: number[], now: number): number | null {
  if (times.length < 2) return null;
  const first = Math.min(...times);
  const span = (now - first) / 1000;
  return span > 0 ? times.length / span : null;
}

async function runsOf(runsQueue: Queue): Promise<RunStatus[]> {
  const jobs: Job[] = await runsQueue.getJobs(['waiting-children', 'waiting', 'active', 'completed', 'failed'], 0, MAX_RUNS * 5);
  const newest = jobs
    .filter((j) => j !== undefined)
    .sort((a, b) => b.timestamp - a.timestamp)
    .slice(0, MAX_RUNS);
  return Promise.all(
    newest.map(async (job) => {
      const data = job.data as RunData;
      const state = await job.getState();
      if (state === 'completed') {
        const s = job.returnvalue as RunSummary;
        return { run: data.run, state, total: data.total, succeeded: s.succeeded, failed: s.failed, pending: 0 };
      }
      const c = await job.getDependenciesCount();
      const failed = (c.ignored ?? 0) + (c.failed ?? 0);
      return { run: data.run, state, total: data.total, succeeded: c.processed ?? 0, failed, pending: c.unprocessed ?? 0 };
    }),
  );
}
