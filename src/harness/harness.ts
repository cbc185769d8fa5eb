/**
 * The harness: many agent runs (agents × tasks), scheduled above the batch
 * API. Each attempt is one `spawner.spawnBatch([agent])`, so the history
 * records each attempt as its own batch, and everything the batch layer
 * does (workers, launchers, tree kills, metrics) applies unchanged.
 */
import type { Batch } from '../batch/batch.ts';
import type { AgentResult, BatchOptions, SpawnOutcome } from '../batch/types.ts';
import { ConfigError, type SpawnpoolError } from '../errors.ts';
import type { Spawner } from '../spawner.ts';
import { Dispatcher, type Slot } from './dispatcher.ts';
import { formatHalt, HaltPolicy, type HaltWhen } from './halt-policy.ts';
import { RunJournal } from './journal.ts';
import { resolveHarnessOptions, type HarnessOptions, type ResolvedHarnessOptions } from './options.ts';
import { OutcomeQueue } from './outcome-queue.ts';
import { preflightRuns } from './preflight.ts';
import { planResume, type ResumePlan } from './resume.ts';
import { RetryPolicy } from './retry-policy.ts';
import { checkRuns } from './runs.ts';
import { StageSamples } from './stage-stats.ts';
import { TimeoutPolicy } from './timeout-policy.ts';
import type { AttemptNext, AttemptOutcome, HaltInfo, HarnessProgress, HarnessRun, HarnessSummary, RunRecord, RunStatus } from './types.ts';

/**
 * Validates the runs and options, checks every run's files (and the task
 * fields its template file names), reads the named run from the history
 * when resuming, then starts the runs. Bad input starts nothing: it
 * rejects with a ConfigError naming the run, task line, field or option.
 *
 * @throws ConfigError, HistoryError
 * @example
 * const runs = harnessRuns(agentsFile, await loadTasks('tasks.jsonl'));
 * const harness = await runHarness(spawner, runs, { concurrency: 64, retry: { retries: 3 }, runName: 'eval-1' });
 * for await (const a of harness) console.log(a.run, a.attempt, a.ok ? 'ok' : a.stage, a.next);
 * const summary = await harness.summary; // succeeded, failed, attempts, runs[], stages...
 */
export async function runHarness(spawner: Spawner, runs: readonly HarnessRun[], options: HarnessOptions = {}): Promise<Harness> {
  const o = resolveHarnessOptions(options);
  const agents = checkRuns(runs);
  for (const rule of o.rateLimits) {
    if (rule.agent !== undefined && rule.agent !== '*' && !agents.has(rule.agent)) {
      throw new ConfigError(`A rate limit names agent "${rule.agent}", which has no runs (agents: ${[...agents.keys()].join(', ')})`);
    }
  }
  if (o.minSuccess !== undefined && o.minSuccess > runs.length) {
    throw new ConfigError(`Expected the \`minSuccess\` option to be at most ${runs.length} (the number of runs), got \`${o.minSuccess}\``);
  }
  const root = o.root ?? spawner.root;
  await preflightRuns(runs, root, (specs) => spawner.preflight(specs, { root }));
  let journal: RunJournal | undefined;
  let resume: ResumePlan | undefined;
  if (o.runName !== undefined) {
    const history = spawner.history;
    if (history === undefined)
      throw new ConfigError(`The \`runName\` option ("${o.runName}") records the run in the history: create the Spawner with a \`history\` option`);
    // Rows of batches that ended in this process but are not written yet: written now, so the journal sees them.
    history.flush();
    journal = RunJournal.open(history.path, o.runName);
    try {
      resume = planResume(journal, runs, o.resume);
    } catch (error) {
      journal.close();
      throw error;
    }
  }
  return new Harness(spawner, runs, o, agents, root, journal, resume);
}

interface RunState {
  index: number;
  run: HarnessRun;
  record: RunRecord;
  /** Attempt number of this invocation's first attempt. */
  firstAttempt: number;
  retryTimer: NodeJS.Timeout | undefined;
  settled: boolean;
}

/**
 * Many agent runs with concurrency (overall and per agent), rate limits,
 * retries, halting, timeouts and, with a `runName`, resume from the history.
 * Iterate it for each attempt's outcome, in completion order; `summary`
 * settles when every run has ended. Failure is data: neither rejects. Not
 * iterating it keeps every attempt's outcome (and output) in memory until
 * the harness is dropped. Made by {@link runHarness}.
 *
 * @example
 * const harness = await runHarness(spawner, runs, { concurrency: 16, halt: 'soon,fail=20%' });
 * process.once('SIGINT', () => harness.stop('soon', 'interrupted by the user'));
 * for await (const a of harness) if (!a.ok) console.error(a.run, a.error?.code);
 * const { succeeded, failed, halted } = await harness.summary;
 */
export class Harness implements AsyncIterable<AttemptOutcome> {
  /** Settles once every run has ended (and, with a run name, is recorded). Never rejects. */
  readonly summary: Promise<HarnessSummary>;
  /** The `runName` option: the name the run is recorded (and resumed) under in the history. */
  readonly runName: string | undefined;
  readonly #spawner: Spawner;
  readonly #o: ResolvedHarnessOptions;
  readonly #states: RunState[];
  readonly #dispatcher: Dispatcher<RunState>;
  readonly #retry: RetryPolicy;
  readonly #timeouts: TimeoutPolicy;
  readonly #halt: HaltPolicy | undefined;
  readonly #journal: RunJournal | undefined;
  readonly #queue = new OutcomeQueue<AttemptOutcome>();
  readonly #stages = new StageSamples();
  readonly #live = new Set<Batch>();
  readonly #retrying = new Set<RunState>();
  readonly #batchOptions: BatchOptions;
  readonly #started = performance.now();
  readonly #minSuccess: number;
  #unsettled = 0;
  #counts = { succeeded: 0, failed: 0, interrupted: 0, notStarted: 0, skipped: 0, previouslySucceeded: 0, attempts: 0, running: 0, starting: 0 };
  #halted: HaltInfo | undefined;
  #error: SpawnpoolError | undefined;
  #settle!: (summary: HarnessSummary) => void;

  /**
   * Not for users: `runHarness()` validates and makes harnesses (it is not
   * marked internal because a stripped constructor would read as `new Harness()`).
   */
  constructor(
    spawner: Spawner,
    runs: readonly HarnessRun[],
    o: ResolvedHarnessOptions,
    agents: ReadonlyMap<string, number | undefined>,
    root: string,
    journal: RunJournal | undefined,
    resume: ResumePlan | undefined,
  ) {
    this.#spawner = spawner;
    this.#o = o;
    this.runName = o.runName;
    this.#journal = journal;
    this.#retry = new RetryPolicy(o.retry, o.random);
    this.#timeouts = new TimeoutPolicy(o.timeoutMs, o.relativeTimeout);
    this.#minSuccess = o.minSuccess ?? runs.length;
    this.#batchOptions = { root, ...(o.resultsDir === undefined ? {} : { resultsDir: o.resultsDir }), ...(o.stream ? { stream: true } : {}) };
    this.summary = new Promise((resolve) => (this.#settle = resolve));
    this.#dispatcher = new Dispatcher<RunState>(
      { concurrency: o.concurrency, agents, rateLimits: o.rateLimits },
      (s, slot) => void this.#attempt(s, slot),
      (s) => this.#end(s, s.record.attempts > 0 ? 'interrupted' : 'not-started'),
    );
    this.#states = runs.map((run, index) => {
      const previous = resume?.previous.get(run.name);
      const record: RunRecord = {
        name: run.name,
        agent: run.agent,
        taskId: run.taskId,
        status: 'not-started',
        attempts: 0,
        previous: undefined,
        stage: undefined,
        code: undefined,
        exitCode: undefined,
        durationMs: undefined,
      };
      return { index, run, record, firstAttempt: (previous?.lastAttempt ?? 0) + 1, retryTimer: undefined, settled: false };
    });
    let toRun = 0;
    for (const s of this.#states) {
      const skip = resume?.skip.get(s.run.name);
      if (skip !== undefined) {
        s.settled = true;
        s.record.status = 'skipped';
        s.record.previous = skip;
        this.#counts.skipped++;
        if (skip === 'succeeded') this.#counts.previouslySucceeded++;
        continue;
      }
      toRun++;
      this.#unsettled++;
      this.#dispatcher.add(s.run.agent, s);
    }
    this.#halt = o.halt === undefined ? undefined : new HaltPolicy(o.halt, toRun);
    const signal = o.signal;
    if (signal) {
      const onAbort = () => this.#stop('now', 'the signal was aborted', 'signal');
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        void this.summary.then(() => signal.removeEventListener('abort', onAbort));
      }
    }
    if (this.#unsettled === 0) queueMicrotask(() => this.#finish());
    else this.#dispatcher.pump();
  }

  /** Each attempt's outcome (retries included) in completion order; ends once every run has ended. */
  [Symbol.asyncIterator](): AsyncIterator<AttemptOutcome> {
    return this.#queue[Symbol.asyncIterator]();
  }

  /** Live counts, for a progress display. */
  get progress(): HarnessProgress {
    const c = this.#counts;
    return {
      total: this.#states.length,
      skipped: c.skipped,
      done: c.succeeded + c.failed,
      succeeded: c.succeeded,
      failed: c.failed,
      running: c.running,
      starting: c.starting,
      retrying: this.#retrying.size,
      attempts: c.attempts,
      elapsedMs: performance.now() - this.#started,
    };
  }

  /**
   * Stops early. `soon`: starts no new run or retry, lets running attempts
   * end; `now`: also kills them (their runs end `interrupted`). Runs not
   * started end `not-started`. Idempotent; `now` after `soon` kills.
   * `reason` is recorded in `summary.halted`.
   *
   * @example
   * setTimeout(() => harness.stop('soon', 'out of time'), 3_600_000).unref();
   */
  stop(when: HaltWhen = 'now', reason = 'stop() was called'): void {
    this.#stop(when, reason, 'stop');
  }

  #stop(when: HaltWhen, reason: string, by: HaltInfo['by']): void {
    if (this.#halted === undefined) this.#halted = { by, when, reason };
    else if (when === 'now' && this.#halted.when === 'soon') this.#halted = { ...this.#halted, when: 'now' };
    else if (when === 'soon') return;
    this.#dispatcher.stop(reason);
    for (const s of [...this.#retrying]) {
      clearTimeout(s.retryTimer);
      this.#retrying.delete(s);
      this.#end(s, 'interrupted');
    }
    if (when === 'now') for (const batch of this.#live) batch.abort();
  }

  /** One attempt of a run: a batch of one agent, journalled, measured, reported, then retried or ended. */
  async #attempt(s: RunState, slot: Slot): Promise<void> {
    const { run } = s;
    const attempt = s.firstAttempt + s.record.attempts;
    const spec = this.#timeouts.apply(run.spec);
    const t0 = performance.now();
    let batch: Batch;
    try {
      batch = this.#spawner.spawnBatch([spec], this.#batchOptions);
    } catch (error) {
      // The spawner was closed under us (E_CLOSED), or refused the batch: nothing more can start.
      slot.started(undefined);
      slot.release();
      this.#fail(error as SpawnpoolError, `the spawner refused attempt ${attempt} of "${run.name}": ${(error as Error).message}`);
      this.#end(s, s.record.attempts > 0 ? 'interrupted' : 'not-started');
      return;
    }
    s.record.attempts++;
    this.#counts.attempts++;
    this.#counts.starting++;
    this.#live.add(batch);
    let row: number | undefined;
    try {
      row = this.#journal?.started({
        runName: this.#journal.runName,
        agentRun: run.name,
        agent: run.agent,
        taskId: run.taskId,
        attempt,
        spawnerRunId: this.#spawner.history!.runId,
        batchSeq: batch.batchId,
      });
    } catch (error) {
      // Without the journal, resume could not know this attempt: stop everything rather than run unrecorded.
      this.#fail(error as SpawnpoolError, `the run's journal cannot be written: ${(error as Error).message}`);
    }
    const next = await batch[Symbol.asyncIterator]().next();
    const outcome = next.value as SpawnOutcome;
    this.#counts.starting--;
    slot.started(outcome.ok ? t0 + outcome.timings.sinceBatchStartMs : undefined);
    if (outcome.ok) this.#counts.running++;
    this.#o.onSpawn?.(outcome, run, attempt);
    const result = await outcome.result;
    if (outcome.ok) this.#counts.running--;
    this.#live.delete(batch);
    slot.release();
    this.#measure(outcome, result, slot.waitedMs);
    const { next: then, delay } = this.#decide(result, s);
    if (row !== undefined) this.#record(row, then === 'done');
    this.#queue.push({
      ...attemptFacts(run, attempt, outcome, result),
      timeoutMs: spec.timeoutMs,
      waitMs: slot.waitedMs,
      next: then,
      retryInMs: delay,
      batchId: batch.batchId,
    });
    s.record.stage = result.stage;
    s.record.code = result.error?.code;
    s.record.exitCode = result.exitCode;
    s.record.durationMs = result.durationMs;
    this.#after(s, then, delay, result);
  }

  /** Carries out what #decide said of an attempt: its retry set up, or its run ended and the halt policy told. */
  #after(s: RunState, then: AttemptNext, delay: number | undefined, result: AgentResult): void {
    const { run } = s;
    if (then === 'retry') {
      this.#retrying.add(s);
      s.retryTimer = setTimeout(() => {
        this.#retrying.delete(s);
        this.#dispatcher.retry(run.agent, s);
      }, delay);
      return;
    }
    if (then === 'stopped') {
      this.#end(s, 'interrupted');
      return;
    }
    this.#end(s, result.ok ? 'succeeded' : 'failed');
    const halt = this.#halt?.record(result.ok);
    if (halt !== undefined) this.#stop(halt, formatHalt(this.#halt!.spec), this.#halt!.spec.why);
  }

  /** Whether an attempt ends its run, is retried (after how long) or was stopped. */
  #decide(result: AgentResult, s: RunState): { next: AttemptNext; delay: number | undefined } {
    if (result.ok) {
      this.#timeouts.succeeded(result.durationMs);
      return { next: 'done', delay: undefined };
    }
    // Killed by our stop, or by the spawner closing: the run did not fail, it was cut short.
    if (result.stage === 'aborted') {
      if (this.#halted === undefined)
        this.#stop('now', `attempt of "${s.run.name}" aborted from outside the harness (${result.error?.code ?? 'aborted'}): the spawner is closing?`, 'stop');
      return { next: 'stopped', delay: undefined };
    }
    const delay = this.#retry.delayAfter(result, s.record.attempts);
    if (delay === undefined) return { next: 'done', delay: undefined };
    // Halted soon: a retry is a new start, which soon forbids; the run is left for resume.
    if (this.#halted !== undefined) return { next: 'stopped', delay: undefined };
    return { next: 'retry', delay };
  }

  #measure(outcome: SpawnOutcome, result: AgentResult, waitMs: number): void {
    const t = outcome.timings;
    this.#stages.add('wait', waitMs);
    this.#stages.add('queue', t.queueMs);
    if (outcome.prompt !== undefined) this.#stages.add('build', t.buildMs);
    if (outcome.ok) {
      this.#stages.add('launch', t.launchMs);
      this.#stages.add('spawn', t.spawnMs);
      this.#stages.add('run', result.durationMs);
    }
  }

  #record(row: number, final: boolean): void {
    try {
      this.#journal!.finished(row, final);
    } catch (error) {
      this.#fail(error as SpawnpoolError, `the run's journal cannot be written: ${(error as Error).message}`);
    }
  }

  #fail(error: SpawnpoolError, reason: string): void {
    this.#error ??= error;
    this.#stop('now', reason, 'stop');
  }

  #end(s: RunState, status: RunStatus): void {
    if (s.settled) return;
    s.settled = true;
    s.record.status = status;
    const c = this.#counts;
    if (status === 'succeeded') c.succeeded++;
    else if (status === 'failed') c.failed++;
    else if (status === 'interrupted') c.interrupted++;
    else c.notStarted++;
    if (--this.#unsettled === 0) this.#finish();
  }

  #finish(): void {
    this.#journal?.close();
    const c = this.#counts;
    const wallMs = performance.now() - this.#started;
    const records = this.#states.map((s) => s.record);
    this.#queue.end();
    this.#settle({
      runName: this.runName,
      total: records.length,
      skipped: c.skipped,
      previouslySucceeded: c.previouslySucceeded,
      succeeded: c.succeeded,
      failed: c.failed,
      interrupted: c.interrupted,
      notStarted: c.notStarted,
      attempts: c.attempts,
      retried: records.filter((r) => r.attempts > 1).length,
      minSuccess: this.#minSuccess,
      ok: c.succeeded + c.previouslySucceeded >= this.#minSuccess,
      halted: this.#halted,
      error: this.#error,
      wallMs,
      runsPerSecond: wallMs > 0 ? ((c.succeeded + c.failed) / wallMs) * 1000 : 0,
      stages: this.#stages.stats(),
      runs: records,
    });
  }
}

/** What an attempt's report says of the agent run, its spawn outcome and its result. */
function attemptFacts(run: HarnessRun, attempt: number, outcome: SpawnOutcome, result: AgentResult) {
  return {
    run: run.name,
    agent: run.agent,
    taskId: run.taskId,
    attempt,
    ok: result.ok,
    stage: result.stage,
    error: result.error,
    exitCode: result.exitCode,
    signal: result.signal,
    timedOut: result.timedOut,
    pid: outcome.pid,
    timings: outcome.timings,
    prompt: outcome.prompt,
    durationMs: result.durationMs,
    result,
  } satisfies Partial<AttemptOutcome>;
}
