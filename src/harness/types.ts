/**
 * The harness's public shapes: the runs it takes, what it streams for each
 * attempt, and the summary it settles with.
 */
import type { AgentResult, PromptInfo, SpawnOutcome, SpawnTimings } from '../batch/types.ts';
import type { ErrorCode, FailureStage, SpawnpoolError } from '../errors.ts';
import type { LatencyStats } from '../metrics/stats.ts';
import type { ResolvedAgent } from '../spec/resolve.ts';
import type { Task } from '../tasks/load-tasks.ts';

/**
 * One agent run: an agent for one task (or alone, without a task list).
 * `expandRuns()` makes these; `harnessRuns()` also attaches each run's task,
 * so messages can name the task file and line.
 */
export interface HarnessRun {
  /** The agent's own name: per-agent limits (`maxConcurrent`, rate limits) apply by it. */
  agent: string;
  /** undefined without a task list. */
  taskId: string | undefined;
  /** `<agent>/<task id>` (the agent's name without a task): the name of `spec`, unique among the runs. */
  name: string;
  /** Validated, as `expandRuns()` returns it. */
  spec: ResolvedAgent;
  /** The task row, when known: named in messages. */
  task?: Task | undefined;
}

/** How a run of the harness ended. */
export type RunStatus =
  /** Exited 0, in this invocation. */
  | 'succeeded'
  /** Its last attempt failed and no other follows (not retryable, or no retries left). */
  | 'failed'
  /** Stopped while running or waiting for a retry (halt `now`, Ctrl-C, `stop()`, the signal): `resume` runs it again. */
  | 'interrupted'
  /** Never started: the harness stopped first (halt, Ctrl-C, `stop()`). */
  | 'not-started'
  /** Not run: the named run already has it (`resume` / `resumeFailed`). */
  | 'skipped';

/** What `next` an attempt leads to. */
export type AttemptNext = 'done' | 'retry' | 'stopped';

/** One attempt of one run, streamed as soon as the agent has exited (or failed to start). */
export interface AttemptOutcome {
  /** The run's name: `<agent>/<task id>`. */
  run: string;
  /** The agent's name. */
  agent: string;
  /** The task's id; undefined without a task list. */
  taskId: string | undefined;
  /** 1 for a run's first attempt; numbering goes on across `resume`d invocations of a named run. */
  attempt: number;
  /** Spawned and exited 0. */
  ok: boolean;
  /** Set when !ok: where it failed. */
  stage: FailureStage | undefined;
  /** Set when !ok: the BuildError or SpawnError, with its stable `code`. */
  error: SpawnpoolError | undefined;
  /** Exit code; undefined when it never ran or a signal ended it. */
  exitCode: number | undefined;
  /** The signal that ended it, if one did. */
  signal: string | undefined;
  /** True when it was killed at its timeout. */
  timedOut: boolean;
  /** The agent's process id, once spawned. */
  pid: number | undefined;
  /** The timeout this attempt ran under (the agent's, `timeoutMs` or the relative one: the smallest); undefined: none. */
  timeoutMs: number | undefined;
  /** Time the attempt waited for the harness: concurrency slots and rate limits. */
  waitMs: number;
  /** The batch's own figures for this attempt (queue, build, launch, spawn). */
  timings: SpawnTimings;
  /** The prompt it was given, if one was built. */
  prompt: PromptInfo | undefined;
  /** Spawned to exit, ms (0 if it never ran). */
  durationMs: number;
  /** Its result, with stdout and stderr (as the spec's `buffer` and `maxOutputBytes` keep them). */
  result: AgentResult;
  /** 'retry': another attempt follows after `retryInMs`; 'done': the run's outcome is this one; 'stopped': the harness stopped. */
  next: AttemptNext;
  /** With next 'retry': the backoff before the next attempt, ms. */
  retryInMs: number | undefined;
  /** The spawner's batch id of this attempt: with `spawner.history`, its row in `batches` (`batch_seq`). */
  batchId: number;
}

/** The outcome of one run, in the summary. */
export interface RunRecord {
  /** The run's name: `<agent>/<task id>`. */
  name: string;
  /** The agent's name. */
  agent: string;
  /** The task's id; undefined without a task list. */
  taskId: string | undefined;
  /** How the run ended. */
  status: RunStatus;
  /** Attempts made in this invocation. */
  attempts: number;
  /** For `skipped`: what the named run already holds. */
  previous: 'succeeded' | 'failed' | undefined;
  /** Of the last attempt. */
  stage: FailureStage | undefined;
  /** Of the last attempt: its error's stable code, when it failed. */
  code: ErrorCode | undefined;
  /** Of the last attempt. */
  exitCode: number | undefined;
  /** Of the last attempt: spawned to exit, ms; undefined when no attempt was made. */
  durationMs: number | undefined;
}

/** Why the harness stopped early. */
export interface HaltInfo {
  /** fail / success / done: a `halt` condition was met; stop: `stop()` was called; signal: the `signal` was aborted. */
  by: 'fail' | 'success' | 'done' | 'stop' | 'signal';
  /** soon: no new run started; now: running ones were killed too. */
  when: 'soon' | 'now';
  /** The condition, e.g. `now,fail=3`, or the stop's reason. */
  reason: string;
}

/** Per-stage figures over every attempt that reached the stage. */
export interface StageStats {
  /** Waiting for the harness: concurrency slots and rate limits. */
  wait: LatencyStats;
  /** The batch's queue (the launch side) before the build started. */
  queue: LatencyStats;
  /** Building the prompt on a worker. */
  build: LatencyStats;
  /** Prompt built to spawned. */
  launch: LatencyStats;
  /** Spawn latency: build start to spawned. */
  spawn: LatencyStats;
  /** Spawned to exit. */
  run: LatencyStats;
}

/** What a harness did, once every run has ended. */
export interface HarnessSummary {
  /** The `runName` option, when the run was recorded. */
  runName: string | undefined;
  /** Runs given. */
  total: number;
  /** Runs skipped because the named run already has them. */
  skipped: number;
  /** Of the skipped: those that succeeded before. */
  previouslySucceeded: number;
  /** Runs with status 'succeeded'. */
  succeeded: number;
  /** Runs with status 'failed'. */
  failed: number;
  /** Runs with status 'interrupted'. */
  interrupted: number;
  /** Runs with status 'not-started'. */
  notStarted: number;
  /** Attempts made (a run retried twice made 3). */
  attempts: number;
  /** Runs that took more than one attempt. */
  retried: number;
  /** Runs that had to succeed (counting previously succeeded ones). */
  minSuccess: number;
  /** succeeded + previouslySucceeded >= minSuccess. */
  ok: boolean;
  /** Why it stopped early (a halt condition, `stop()`, the signal); undefined when every run got its turn. */
  halted: HaltInfo | undefined;
  /** What stopped the harness, if it was an error rather than a halt condition (the run's journal could not be written, the spawner was closed). */
  error: SpawnpoolError | undefined;
  /** Start of the first attempt to the end of the last. */
  wallMs: number;
  /** Runs ended (succeeded or failed) per second of wallMs. */
  runsPerSecond: number;
  /** Where the attempts' time went, stage by stage. */
  stages: StageStats;
  /** One per run given, in input order. */
  runs: RunRecord[];
}

/** Live counts, for a progress display. */
export interface HarnessProgress {
  /** Runs given. */
  total: number;
  /** Runs skipped (resume). */
  skipped: number;
  /** Runs ended: succeeded + failed. */
  done: number;
  /** Runs that succeeded so far. */
  succeeded: number;
  /** Runs that failed for good so far. */
  failed: number;
  /** Attempts whose agent is running. */
  running: number;
  /** Attempts started, not spawned yet (building, launching). */
  starting: number;
  /** Runs waiting for a retry's backoff. */
  retrying: number;
  /** Attempts started so far. */
  attempts: number;
  /** ms since the harness started. */
  elapsedMs: number;
}

/**
 * The harness option `onSpawn`: called at each attempt's spawn outcome, before
 * the agent exits, for instance to follow its output.
 *
 * @example
 * const onSpawn: SpawnHook = (outcome, run, attempt) => {
 *   void (async () => { for await (const line of outcome.stdout.lines()) console.log(`[${run.name} #${attempt}] ${line}`); })();
 * };
 */
export type SpawnHook = (outcome: SpawnOutcome, run: HarnessRun, attempt: number) => void;
