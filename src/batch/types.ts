import type { SpawnpoolError } from '../errors.ts';
import type { OutputStream } from './output-stream.ts';

/** Where the time to spawn one agent went, in ms. */
export interface SpawnTimings {
  /** Batch start to the build starting on a worker (concurrency limit + pool queue): the queue wait. */
  queueMs: number;
  /** Building the prompt on the worker (0 for an agent without a prompt). */
  buildMs: number;
  /** Prompt built to the agent counting as spawned (spawn event or ready line). */
  launchMs: number;
  /** Build start to spawned: the agent's spawn latency, queue wait not included. >= build + launch (the rest is thread hand-off). */
  spawnMs: number;
  /** Batch start to spawned: queue wait + spawn latency. */
  sinceBatchStartMs: number;
}

/** Facts about the prompt an agent was given. */
export interface PromptInfo {
  bytes: number;
  tokens: number;
  /** Hex sha256 of the exact bytes the agent received. */
  sha256: string;
  /** True when context was cut to fit `maxTokens`. */
  truncated: boolean;
  /** threadId of the worker that built it (never 0, the main thread). */
  builtOnThread: number;
}

/** How an agent's run ended. */
export interface AgentResult {
  name: string;
  /** Position in the batch's input. */
  index: number;
  ok: boolean;
  /** Set when !ok: the stage that failed. */
  stage: 'build' | 'spawn' | 'run' | 'timeout' | 'aborted' | undefined;
  error: SpawnpoolError | undefined;
  pid: number | undefined;
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  /** True when output beyond `maxOutputBytes` was discarded. */
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** Spawned to exit, ms (0 when it never ran). */
  durationMs: number;
  timedOut: boolean;
  /** The files holding the whole streams (spec stdoutFile/stderrFile, or the batch's resultsDir). */
  stdoutFile: string | undefined;
  stderrFile: string | undefined;
}

/** What the batch iterator yields for each agent, as soon as its spawn is known. */
export interface SpawnOutcome {
  name: string;
  index: number;
  ok: boolean;
  /** Set when !ok. */
  stage: 'build' | 'spawn' | 'aborted' | undefined;
  error: SpawnpoolError | undefined;
  pid: number | undefined;
  timings: SpawnTimings;
  prompt: PromptInfo | undefined;
  /** Settles (never rejects) when the agent exits; at once for an agent that never started. */
  result: Promise<AgentResult>;
  /** Stops this agent's process tree. */
  abort(): void;
  /** Its stdout as it comes with the batch option `stream` (else all of it at exit): chunks, lines or JSON events. */
  stdout: OutputStream;
  stderr: OutputStream;
  /** Its stdin, for an agent with `stdin: 'open'` that spawned; undefined otherwise. */
  stdin: AgentStdin | undefined;
}

/** An agent's open stdin (spec `stdin: 'open'`): the prompt went first, if on stdin. */
export interface AgentStdin {
  write(data: string | Uint8Array): void;
  /** End of file: many agents finish their work on it. */
  end(): void;
}

/**
 * The spawn figures of one batch, known once every agent has spawned or
 * failed to. Words: *spawned* = the agent's process exists (or printed its
 * ready line); *spawn failed* = it never got there. Latency figures cover the
 * agents that spawned; spawn latency is from build start (queue wait apart).
 */
export interface BatchSummary {
  batchId: number;
  total: number;
  spawned: number;
  spawnFailed: number;
  /** spawned / total. */
  spawnRate: number;
  /** Batch start to the last spawn outcome. */
  wallMs: number;
  avgMs: number | undefined;
  minMs: number | undefined;
  maxMs: number | undefined;
  p50Ms: number | undefined;
  /** undefined under 20 spawned agents. */
  p95Ms: number | undefined;
}

/**
 * The batch once every agent has exited. Words: *succeeded* = exited 0;
 * *failed* = anything else (non-zero exit, signal, timeout, aborted, or
 * never spawned).
 */
export interface BatchDone extends BatchSummary {
  succeeded: number;
  failed: number;
  /** succeeded / total. */
  successRate: number;
  /** Agents that had to succeed (the batch's `minSuccess`, default: all). */
  minSuccess: number;
  /** succeeded >= minSuccess: the batch did what was asked, possibly degraded. The CLI exits 0 exactly when this is true. */
  ok: boolean;
}

export interface BatchOptions {
  /** Aborting kills every agent the batch started (whole process trees). */
  signal?: AbortSignal;
  /** Agents in flight at once (built, spawning or running). Default: unbounded. */
  concurrency?: number;
  /** 'sequential': build, spawn, wait for spawned, then the next (the honest baseline). Default 'concurrent'. */
  mode?: 'concurrent' | 'sequential';
  /** Agents that must succeed (exit 0) for `done.ok`. Default: all. */
  minSuccess?: number;
  /** Folder that prompt context and template files must stay under. Default: the spawner's root. */
  root?: string;
  /**
   * Send each agent's output to `outcome.stdout` / `outcome.stderr` as it comes. Without it they
   * yield the buffered output once the agent has exited. Default false.
   */
  stream?: boolean;
  /** Unread output kept per stream before the oldest is dropped (and counted). Default 8 MiB. */
  streamBufferBytes?: number;
  /**
   * One folder per agent under this one (`<dir>/<agent name>/`): `prompt.txt`, `stdout`, `stderr` (whole,
   * uncapped, as they come) and `result.json`, all written before `result` settles. An agent's own
   * `stdoutFile` / `stderrFile` win over the folder's.
   */
  resultsDir?: string;
}
