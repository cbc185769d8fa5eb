/**
 * One `spawnBatch` call, as the main thread sees it: the launch side runs the
 * agents and sends events; this turns them into spawn outcomes (yielded in
 * completion order) and results, and settles `summary` (every spawn known)
 * and `results` (every agent exited).
 */
import { BuildError, SpawnError, type SpawnpoolError } from '../errors.ts';
import { latencyStats } from '../metrics/stats.ts';
import type { AgentEvent, BatchStart, StopReason, WireError, WireResult } from '../pipeline/messages.ts';
import { CompletionQueue } from './completion-queue.ts';
import type { LaunchClient } from './launch-client.ts';
import { OutputStream } from './output-stream.ts';
import type { AgentResult, AgentStdin, BatchDone, BatchSummary, SpawnOutcome } from './types.ts';

/** What the spawner hands a new batch; made by `spawner.spawnBatch()` only. */
export interface BatchSetup {
  /** The message that starts the batch on the launch side. */
  start: BatchStart;
  /** The launch side: the launch thread, or a Launcher on this thread. */
  client: LaunchClient;
  /** Agents that must exit 0 for `done.ok`, already checked against the batch's size. */
  minSuccess: number;
  /** The batch option `signal`. */
  signal: AbortSignal | undefined;
  /** Unread output kept per stream (see OutputStream). */
  streamBufferBytes: number | undefined;
}

/**
 * The agents of one `spawner.spawnBatch()` call. Iterate it for spawn
 * outcomes in completion order; await `summary` for the batch's spawn
 * figures and `results` for every agent's exit. Failure is data: neither
 * promise ever rejects.
 *
 * Iterate it once (a second iteration throws a TypeError). The agents run
 * whether or not anyone iterates; `results` and `done` settle either way.
 *
 * @example
 * const batch = spawner.spawnBatch(agents);
 * for await (const o of batch) console.log(o.name, o.ok ? o.pid : o.error?.message);
 * const results = await batch.results;
 */
export class Batch implements AsyncIterable<SpawnOutcome> {
  /** The batch's id, as in `summary`, the spawner's metrics and the history. */
  readonly batchId: number;
  /** Settles when every agent's spawn outcome is known. Never rejects. */
  readonly summary: Promise<BatchSummary>;
  /** Settles when every agent has exited, in input order. Never rejects. */
  readonly results: Promise<AgentResult[]>;
  /** Settles when every agent has exited: the spawn figures with how many succeeded (exited 0). Never rejects. */
  readonly done: Promise<BatchDone>;
  readonly #queue: CompletionQueue<SpawnOutcome>;
  readonly #client: LaunchClient;
  readonly #names: string[];
  readonly #files: { stdout: string | undefined; stderr: string | undefined }[];
  readonly #outcomes: (SpawnOutcome | undefined)[];
  readonly #results: (AgentResult | undefined)[];
  readonly #resolveResult: ((result: AgentResult) => void)[] = [];
  readonly #streams: { stdout: OutputStream; stderr: OutputStream }[];
  readonly #live: boolean;
  readonly #openStdin: boolean[];
  #spawnsLeft: number;
  #exitsLeft: number;
  #stopped = false;
  #settleOutcomes!: (outcomes: SpawnOutcome[]) => void;
  #settleResults!: (results: AgentResult[]) => void;

  /**
   * Not for users: `spawner.spawnBatch()` makes batches (it is not marked
   * internal because a stripped constructor would read as `new Batch()`).
   */
  constructor(setup: BatchSetup) {
    const { start } = setup;
    this.batchId = start.batchId;
    this.#client = setup.client;
    this.#names = start.agents.map((a) => a.name);
    this.#files = start.agents.map((a) => ({ stdout: a.stdoutFile, stderr: a.stderrFile }));
    const n = this.#names.length;
    this.#queue = new CompletionQueue(n);
    this.#outcomes = new Array(n).fill(undefined);
    this.#results = new Array(n).fill(undefined);
    this.#spawnsLeft = n;
    this.#exitsLeft = n;
    this.#live = start.stream;
    this.#streams = start.agents.map(() => ({ stdout: new OutputStream(setup.streamBufferBytes), stderr: new OutputStream(setup.streamBufferBytes) }));
    this.#openStdin = start.agents.map((a) => a.stdin === 'open');
    const outcomes = new Promise<SpawnOutcome[]>((resolve) => (this.#settleOutcomes = resolve));
    this.summary = outcomes.then((all) => summarise(start.batchId, all));
    this.results = new Promise<AgentResult[]>((resolve) => (this.#settleResults = resolve));
    this.done = Promise.all([this.summary, this.results]).then(([summary, results]) => {
      const succeeded = results.filter((r) => r.ok).length;
      return {
        ...summary,
        succeeded,
        failed: n - succeeded,
        successRate: n === 0 ? 0 : succeeded / n,
        minSuccess: setup.minSuccess,
        ok: succeeded >= setup.minSuccess,
      };
    });
    const external = setup.signal;
    // A signal aborted already: the launch side must start nothing, not start and then hear of the stop.
    if (external?.aborted) this.#stopped = true;
    setup.client.start(external?.aborted ? { ...start, stopped: 'aborted' } : start, { event: (e) => this.#onEvent(e), lost: (why) => this.#onLost(why) });
    if (external && !external.aborted) {
      const onAbort = () => this.abort();
      external.addEventListener('abort', onAbort, { once: true });
      void this.results.then(() => external.removeEventListener('abort', onAbort));
    }
  }

  /** Stops every agent of the batch: the unstarted never start, the running have their process trees killed. */
  abort(): void {
    this.#stop('aborted');
  }

  /** @internal The spawner is closing. */
  close(): void {
    this.#stop('closed');
  }

  /** Spawn outcomes in the order they become known (not input order); ends after the last agent's. */
  [Symbol.asyncIterator](): AsyncIterator<SpawnOutcome> {
    return this.#queue[Symbol.asyncIterator]();
  }

  #stop(reason: StopReason): void {
    if (this.#stopped || this.#exitsLeft === 0) return;
    this.#stopped = true;
    this.#client.stop({ type: 'stop', batchId: this.batchId, reason });
  }

  #onEvent(event: AgentEvent): void {
    const name = this.#names[event.index]!;
    if (event.type === 'output') {
      this.#streams[event.index]![event.stream].push(event.chunk);
      return;
    }
    if (event.type === 'exited') {
      this.#finish(event.index, toResult(name, event.index, event.result, this.#files[event.index]!));
      return;
    }
    const result = new Promise<AgentResult>((resolve) => (this.#resolveResult[event.index] = resolve));
    const outcome: SpawnOutcome = {
      name,
      index: event.index,
      ok: event.ok,
      stage: event.stage,
      error: event.error && revive(name, event.error),
      pid: event.pid,
      timings: event.timings,
      prompt: event.prompt,
      result,
      abort: event.ok ? () => this.#client.stop({ type: 'stop', batchId: this.batchId, reason: 'alone', index: event.index }) : () => {},
      stdout: this.#streams[event.index]!.stdout,
      stderr: this.#streams[event.index]!.stderr,
      stdin: event.ok && this.#openStdin[event.index] ? this.#stdin(event.index) : undefined,
    };
    this.#spawned(outcome);
    if (event.result) this.#finish(event.index, toResult(name, event.index, event.result, this.#files[event.index]!, outcome.error));
  }

  #spawned(outcome: SpawnOutcome): void {
    this.#outcomes[outcome.index] = outcome;
    this.#queue.push(outcome);
    if (--this.#spawnsLeft === 0) this.#settleOutcomes(this.#outcomes as SpawnOutcome[]);
  }

  #stdin(index: number): AgentStdin {
    const send = (data: Uint8Array | undefined, end: boolean) => this.#client.stdin({ type: 'stdin', batchId: this.batchId, index, data, end });
    return {
      write: (data) => send(typeof data === 'string' ? Buffer.from(data, 'utf8') : data, false),
      end: () => send(undefined, true),
    };
  }

  #finish(index: number, result: AgentResult): void {
    if (this.#results[index] !== undefined) return;
    this.#results[index] = result;
    const streams = this.#streams[index]!;
    if (!this.#live) {
      // Not streamed: the buffered output is the whole stream, known now.
      streams.stdout.push(Buffer.from(result.stdout, 'utf8'));
      streams.stderr.push(Buffer.from(result.stderr, 'utf8'));
    }
    streams.stdout.end();
    streams.stderr.end();
    this.#resolveResult[index]?.(result);
    if (--this.#exitsLeft > 0) return;
    this.#client.finished(this.batchId);
    this.#settleResults(this.#results as AgentResult[]);
  }

  /** The launch side died: every agent it had not reported fails with E_LAUNCHER at the stage it had reached. */
  #onLost(why: string): void {
    for (let index = 0; index < this.#names.length; index++) {
      const name = this.#names[index]!;
      if (this.#outcomes[index] === undefined) {
        const error: WireError = { code: 'E_LAUNCHER', message: `Agent "${name}": ${why} before the agent started`, stage: 'spawn' };
        this.#onEvent({
          type: 'spawned',
          batchId: this.batchId,
          index,
          ok: false,
          stage: 'spawn',
          error,
          pid: undefined,
          timings: { queueMs: 0, buildMs: 0, launchMs: 0, spawnMs: 0, sinceBatchStartMs: 0 },
          prompt: undefined,
          result: lostResult('spawn', error, undefined),
        });
      } else if (this.#results[index] === undefined) {
        const error: WireError = {
          code: 'E_LAUNCHER',
          message: `Agent "${name}": ${why} while the agent was running; its process tree was killed and its output lost`,
          stage: 'run',
        };
        this.#finish(index, toResult(name, index, lostResult('run', error, this.#outcomes[index]!.pid), this.#files[index]!));
      }
    }
  }
}

function lostResult(stage: 'spawn' | 'run', error: WireError, pid: number | undefined): WireResult {
  return {
    ok: false,
    stage,
    error,
    pid,
    exitCode: undefined,
    signal: undefined,
    stdout: '',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    durationMs: 0,
    timedOut: false,
  };
}

function revive(agent: string, error: WireError): SpawnpoolError {
  const details = { agent, stage: error.stage };
  return error.stage === 'build'
    ? new BuildError(error.code, error.message, details)
    : new SpawnError(error.code, error.message, { ...details, errno: error.errno });
}

/** An agent that never ran shares its spawn outcome's error object with its result. */
function toResult(
  name: string,
  index: number,
  r: WireResult,
  files: { stdout: string | undefined; stderr: string | undefined },
  error?: SpawnpoolError,
): AgentResult {
  return { name, index, ...r, error: error ?? (r.error && revive(name, r.error)), stdoutFile: files.stdout, stderrFile: files.stderr };
}

function summarise(batchId: number, outcomes: SpawnOutcome[]): BatchSummary {
  const latencies = outcomes.filter((o) => o.ok).map((o) => o.timings.spawnMs);
  const stats = latencyStats(latencies);
  const total = outcomes.length;
  return {
    batchId,
    total,
    spawned: latencies.length,
    spawnFailed: total - latencies.length,
    spawnRate: total === 0 ? 0 : latencies.length / total,
    wallMs: Math.max(0, ...outcomes.map((o) => o.timings.sinceBatchStartMs)),
    avgMs: stats.avgMs,
    minMs: stats.minMs,
    maxMs: stats.maxMs,
    p50Ms: stats.p50Ms,
    p95Ms: stats.p95Ms,
  };
}
