import type { FailureStage, SpawnpoolError } from '../errors.ts';
import type { OutputStream } from './output-stream.ts';

/**
 * Where the time to spawn one agent went, in ms, measured on the launch side
 * with one monotonic clock. `spawnMs` is the figure the spawner's metrics
 * and the batch summary are made of.
 */
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

/** Facts about the prompt an agent was given (undefined for an agent without a prompt or whose build failed). */
export interface PromptInfo {
  /** Size of the prompt in UTF-8 bytes, as delivered. */
  bytes: number;
  /** Its length in tokens (o200k_base), the measure `maxTokens` is held to. */
  tokens: number;
  /** Hex sha256 of the exact bytes the agent received. */
  sha256: string;
  /** True when context was cut to fit `maxTokens`. */
  truncated: boolean;
  /** threadId of the worker that built it (never 0, the main thread). */
  builtOnThread: number;
}

/**
 * How an agent's run ended: the value `outcome.result` and `batch.results`
 * settle with. Failure is data: `ok` is false and `error` carries a stable
 * `code`; nothing is thrown.
 */
export interface AgentResult {
  /** The agent's name, from its spec. */
  name: string;
  /** Position in the batch's input. */
  index: number;
  /** True exactly when the agent exited with code 0. */
  ok: boolean;
  /** Set when !ok: the stage that failed. */
  stage: FailureStage | undefined;
  /** Set when !ok: a BuildError (stage 'build') or SpawnError, naming the agent; its `code` is stable. */
  error: SpawnpoolError | undefined;
  /** The agent's process id; undefined when it never got one. */
  pid: number | undefined;
  /** Exit code; undefined when the agent never ran or was ended by a signal. */
  exitCode: number | undefined;
  /** The signal that ended the agent (for example `'SIGKILL'` after a timeout), if one did. */
  signal: string | undefined;
  /** Its stdout, up to `maxOutputBytes` ('' when the spec says `buffer: false`). */
  stdout: string;
  /** Its stderr, up to `maxOutputBytes` ('' when the spec says `buffer: false`). */
  stderr: string;
  /** True when stdout beyond `maxOutputBytes` was discarded. */
  stdoutTruncated: boolean;
  /** True when stderr beyond `maxOutputBytes` was discarded. */
  stderrTruncated: boolean;
  /** Spawned to exit, ms (0 when it never ran). */
  durationMs: number;
  /** True when the agent was killed for running past its `timeoutMs`. */
  timedOut: boolean;
  /** The file holding the whole stdout (spec `stdoutFile`, or the batch's `resultsDir`), if any. */
  stdoutFile: string | undefined;
  /** The file holding the whole stderr (spec `stderrFile`, or the batch's `resultsDir`), if any. */
  stderrFile: string | undefined;
}

/**
 * What the batch iterator yields for each agent, as soon as its spawn is
 * known: spawned (`ok`), or failed before it ran (then `result` is already
 * settled and `error` says why).
 */
export interface SpawnOutcome {
  /** The agent's name, from its spec. */
  name: string;
  /** Position in the batch's input. */
  index: number;
  /** True when the agent spawned (its process exists, or printed its ready line). */
  ok: boolean;
  /** Set when !ok: how far it got. */
  stage: 'build' | 'spawn' | 'aborted' | undefined;
  /** Set when !ok: the BuildError or SpawnError, naming the agent; its `code` is stable. */
  error: SpawnpoolError | undefined;
  /** The agent's process id, once spawned. */
  pid: number | undefined;
  /** Where the time to spawn it went. */
  timings: SpawnTimings;
  /** The prompt it was given, if it had one that was built. */
  prompt: PromptInfo | undefined;
  /** Settles (never rejects) when the agent exits; at once for an agent that never started. */
  result: Promise<AgentResult>;
  /** Stops this agent's process tree (its result: stage 'aborted'); the rest of the batch runs on. */
  abort(): void;
  /** Its stdout as it comes with the batch option `stream` (else all of it at exit): chunks, lines or JSON events. */
  stdout: OutputStream;
  /** Its stderr, read the same way as `stdout`. */
  stderr: OutputStream;
  /** Its stdin, for an agent with `stdin: 'open'` that spawned; undefined otherwise. */
  stdin: AgentStdin | undefined;
}

/**
 * An agent's open stdin (spec `stdin: 'open'`): the prompt went first, if on
 * stdin. Writes are sent to the launch side in order; there is no
 * backpressure, so do not pour unbounded data into an agent that does not read.
 *
 * @example
 * const batch = spawner.spawnBatch([{ name: 'chat', command: 'my-agent', stdin: 'open' }]);
 * for await (const o of batch) {
 *   o.stdin?.write('first question\n');
 *   o.stdin?.end();
 * }
 */
export interface AgentStdin {
  /** Sends bytes (strings as UTF-8) to the agent's stdin. */
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
  /** The batch's id, as in the spawner's metrics and history. */
  batchId: number;
  /** Agents in the batch. */
  total: number;
  /** Agents that spawned. */
  spawned: number;
  /** Agents that never spawned (build or spawn failed, or stopped first). */
  spawnFailed: number;
  /** spawned / total. */
  spawnRate: number;
  /** Batch start to the last spawn outcome. */
  wallMs: number;
  /** Mean spawn latency (`timings.spawnMs`) of the spawned agents; undefined when none spawned. */
  avgMs: number | undefined;
  /** Lowest spawn latency; undefined when none spawned. */
  minMs: number | undefined;
  /** Highest spawn latency; undefined when none spawned. */
  maxMs: number | undefined;
  /** Median spawn latency; undefined when none spawned. */
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
  /** Agents that exited 0. */
  succeeded: number;
  /** total - succeeded. */
  failed: number;
  /** succeeded / total. */
  successRate: number;
  /** Agents that had to succeed (the batch's `minSuccess`, default: all). */
  minSuccess: number;
  /** succeeded >= minSuccess: the batch did what was asked, possibly degraded. The CLI exits 0 exactly when this is true. */
  ok: boolean;
}

/**
 * Options of `spawner.spawnBatch()`. Unknown keys are a ConfigError.
 *
 * @example
 * const batch = spawner.spawnBatch(agents, { concurrency: 8, minSuccess: 3, signal: AbortSignal.timeout(60_000) });
 * const done = await batch.done;
 * if (!done.ok) process.exitCode = 1;
 */
export interface BatchOptions {
  /** Aborting kills every agent the batch started (whole process trees); agents not started yet never start. */
  signal?: AbortSignal;
  /**
   * Agents in flight at once (built, spawning or running).
   * @default the spawner's `concurrency` (unbounded unless set)
   */
  concurrency?: number;
  /**
   * 'sequential': build, spawn, wait for spawned, then the next (the honest baseline).
   * @default 'concurrent'
   */
  mode?: 'concurrent' | 'sequential';
  /**
   * Agents that must succeed (exit 0) for `done.ok`: an integer from 0 to the number of agents.
   * @default all of them
   */
  minSuccess?: number;
  /**
   * Folder that prompt context and template files must stay under.
   * @default the spawner's `root`
   */
  root?: string;
  /**
   * Send each agent's output to `outcome.stdout` / `outcome.stderr` as it comes. Without it they
   * yield the buffered output once the agent has exited.
   * @default false
   */
  stream?: boolean;
  /**
   * Unread output kept per stream before the oldest is dropped (and counted in `droppedBytes`).
   * @default 8 MiB
   */
  streamBufferBytes?: number;
  /**
   * One folder per agent under this one (`<dir>/<agent name>/`): `prompt.txt`, `stdout`, `stderr` (whole,
   * uncapped, as they come) and `result.json`, all written before `result` settles. An agent's own
   * `stdoutFile` / `stderrFile` win over the folder's.
   */
  resultsDir?: string;
}
