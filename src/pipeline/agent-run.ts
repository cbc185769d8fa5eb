/**
 * One agent on the launch side: build its prompt on a worker, launch it,
 * write its SPAWN and EXIT records with the events' own timestamps, and
 * emit its spawn outcome and its result. Never throws: every failure,
 * a launcher that throws included, becomes the agent's outcome.
 */
import { errorCodeNumber, type ErrorCode } from '../errors.ts';
import { saveResult, savePrompt } from './results-dir.ts';
import type { LaunchEvents, LaunchExit, LaunchHandle, Launcher, LaunchRequest } from '../launch/types.ts';
import { exitRecord, spawnRecord, wallClockMs, type ExitRecord, type RecordHeader, type SpawnRecord } from '../metrics/record.ts';
import type { MetricsRing } from '../metrics/ring.ts';
import type { BuildPool } from '../pool/build-pool.ts';
import type { BuildReply } from '../pool/build-task.ts';
import type { AgentEvent, AgentPlan, StopReason, WireError, WirePrompt, WireResult, WireTimings } from './messages.ts';
import { beforeReadyError, exitResult, notRun, stoppedError } from './outcome-words.ts';

/** What every agent of one batch shares on the launch side. */
export interface RunContext {
  batchId: number;
  startedAt: number;
  root: string;
  pool: BuildPool;
  launcher: Launcher;
  ring: MetricsRing;
  /** threadId of this side, for the records it writes. */
  threadId: number;
  /** Aborted when the batch is stopped; `stopReason()` says why. */
  signal: AbortSignal;
  stopReason(): StopReason;
  /** Forward output as it comes. */
  stream: boolean;
  emit(event: AgentEvent): void;
}

/** What the main thread can do to one running agent. */
export interface AgentControl {
  stopAlone(): void;
  handle: LaunchHandle | undefined;
}

const NO_PROMPT: Uint8Array = new Uint8Array(0);

/** How an agent that never counted as spawned ends: its outcome, and a promise of its exit (settled). */
type NotSpawned = (stage: 'build' | 'spawn' | 'aborted', error: WireError, exit?: LaunchExit) => { exited: Promise<void> };

/**
 * Runs one agent. Resolves once its spawn outcome is emitted, with a
 * promise that settles when it has exited (at once if it never ran).
 */
export async function runAgent(ctx: RunContext, plan: AgentPlan, index: number, control: { current?: AgentControl }): Promise<{ exited: Promise<void> }> {
  const queuedAt = wallClockMs();
  const timeline = new Timeline(ctx.startedAt, queuedAt);
  const fail: NotSpawned = (stage, error, exit) => notSpawned(ctx, plan, index, timeline, stage, error, exit);
  const stopped = () => fail('aborted', stoppedError(plan.name, ctx.stopReason(), 'before it started'));

  if (ctx.signal.aborted) return stopped();
  const reply = await build(ctx, plan, queuedAt);
  timeline.built(reply);
  if (!reply.ok) {
    if (reply.error.code === 'E_ABORTED' || ctx.signal.aborted) return stopped();
    return fail('build', { code: reply.error.code, message: reply.error.message, stage: 'build' });
  }
  if (ctx.signal.aborted) return stopped();
  if (plan.saveTo !== undefined) {
    const error = await savePrompt(plan, reply.bytes);
    if (error) return fail('spawn', error);
  }
  const prompt: WirePrompt | undefined =
    plan.prompt === undefined
      ? undefined
      : { bytes: reply.bytes.byteLength, tokens: reply.tokens, sha256: reply.sha256, truncated: reply.truncated, builtOnThread: reply.threadId };
  return launch(ctx, plan, index, control, { bytes: reply.bytes, prompt, timeline, fail });
}

/** One agent's timings as they become known: queue and build from its worker's reply, launch and spawn at its ready. */
class Timeline {
  readonly timings: WireTimings;
  readonly #batchStartedAt: number;
  #buildStartAt: number;

  constructor(batchStartedAt: number, queuedAt: number) {
    this.#batchStartedAt = batchStartedAt;
    this.#buildStartAt = queuedAt;
    this.timings = { queueMs: queuedAt - batchStartedAt, buildMs: 0, launchMs: 0, spawnMs: 0, sinceBatchStartMs: 0 };
  }

  /** A reply from a worker carries its own timings; a pool-level failure (threadId -1) has none. */
  built(reply: BuildReply): void {
    if (reply.threadId === -1) return;
    this.timings.queueMs = reply.queueMs;
    this.timings.buildMs = reply.buildMs;
    this.#buildStartAt = this.#batchStartedAt + reply.queueMs;
  }

  /** The agent counts as spawned, or failed to, at `at`. */
  settle(at: number): void {
    this.timings.spawnMs = at - this.#buildStartAt;
    this.timings.sinceBatchStartMs = at - this.#batchStartedAt;
  }
}

/** An agent that never counted as spawned: its failed SPAWN record, its outcome, and its result.json when asked. */
function notSpawned(
  ctx: RunContext,
  plan: AgentPlan,
  index: number,
  timeline: Timeline,
  stage: 'build' | 'spawn' | 'aborted',
  error: WireError,
  exit: LaunchExit | undefined,
): { exited: Promise<void> } {
  const { timings } = timeline;
  const at = wallClockMs();
  timeline.settle(at);
  writeRecord(ctx, plan.agentId, false, error.code, exit?.pid ?? 0, at, { stage: 'spawn', spawnMs: timings.spawnMs, queueMs: timings.queueMs });
  const result = notRun(stage, error, exit);
  const emit = (saved: WireResult) =>
    ctx.emit({ type: 'spawned', batchId: ctx.batchId, index, ok: false, stage, error, pid: exit?.pid, timings, prompt: undefined, result: saved });
  if (plan.saveTo === undefined) {
    emit(result);
    return { exited: Promise.resolve() };
  }
  // Its result.json too, so that a results folder accounts for every agent.
  return { exited: saveResult(plan, result, timings, undefined).then(emit) };
}

interface Built {
  bytes: Uint8Array;
  prompt: WirePrompt | undefined;
  timeline: Timeline;
  fail: NotSpawned;
}

/**
 * Hands the agent to the launcher and turns its events into the agent's
 * records, outcome and result. A launcher that throws fails this agent
 * (E_LAUNCHER), like any other fault.
 */
function launch(ctx: RunContext, plan: AgentPlan, index: number, control: { current?: AgentControl }, built: Built): Promise<{ exited: Promise<void> }> {
  const { prompt, timeline, fail } = built;
  const { timings } = timeline;
  const promptAt = wallClockMs();
  return new Promise((resolveSpawned) => {
    let pid: number | undefined;
    let spawned = false;
    // Stopped through its own handle (stopAlone), not with the batch.
    let alone = false;
    let resolveExited!: () => void;
    const exited = new Promise<void>((resolve) => (resolveExited = resolve));
    let handle: LaunchHandle | undefined;
    const onAbort = () => handle?.abort();

    const finish = (exit: LaunchExit, result: WireResult) => {
      writeRecord(ctx, plan.agentId, result.ok, result.error?.code, exit.pid ?? 0, exit.at, {
        stage: 'exit',
        runMs: exit.durationMs,
        exitCode: exit.exitCode ?? null,
      });
      ctx.emit({ type: 'exited', batchId: ctx.batchId, index, result });
      resolveExited();
    };
    const events: LaunchEvents = {
      spawned: (spawnedPid) => {
        pid = spawnedPid;
      },
      output: (stream, chunk) => ctx.emit({ type: 'output', batchId: ctx.batchId, index, stream, chunk }),
      ready: (at) => {
        spawned = true;
        timings.launchMs = at - promptAt;
        timeline.settle(at);
        writeRecord(ctx, plan.agentId, true, undefined, pid ?? 0, at, { stage: 'spawn', spawnMs: timings.spawnMs, queueMs: timings.queueMs });
        control.current = {
          stopAlone: () => {
            alone = !ctx.signal.aborted;
            handle?.abort();
          },
          handle,
        };
        ctx.emit({ type: 'spawned', batchId: ctx.batchId, index, ok: true, stage: undefined, error: undefined, pid, timings, prompt, result: undefined });
        resolveSpawned({ exited });
      },
      exited: (exit) => {
        ctx.signal.removeEventListener('abort', onAbort);
        control.current = undefined;
        if (!spawned) {
          // It never counted as spawned: the spawn itself failed.
          resolveSpawned(fail(exit.reason === 'aborted' ? 'aborted' : 'spawn', beforeReadyError(plan, exit, ctx.stopReason()), exit));
          return;
        }
        const result = exitResult(plan, exit, alone ? 'alone' : ctx.stopReason());
        // Its result.json is on disk before anyone hears it exited.
        if (plan.saveTo === undefined) finish(exit, result);
        else void saveResult(plan, result, timings, prompt).then((saved) => finish(exit, saved));
      },
    };

    try {
      handle = ctx.launcher.launch(launchRequest(ctx, plan, built.bytes), events);
    } catch (error) {
      const message = `Agent "${plan.name}": the launcher threw: ${(error as Error)?.message ?? String(error)}`;
      resolveSpawned(fail('spawn', { code: 'E_LAUNCHER', message, stage: 'spawn' }));
      return;
    }
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    if (ctx.signal.aborted) onAbort();
  });
}

function launchRequest(ctx: RunContext, plan: AgentPlan, prompt: Uint8Array): LaunchRequest {
  return {
    agent: plan.name,
    command: plan.command,
    args: plan.args,
    env: plan.env,
    cwd: plan.cwd,
    prompt,
    promptVia: plan.promptVia,
    ready: plan.ready,
    timeoutMs: plan.timeoutMs,
    killGraceMs: plan.killGraceMs,
    maxOutputBytes: plan.maxOutputBytes,
    stream: ctx.stream,
    stdin: plan.stdin,
    stdoutFile: plan.stdoutFile,
    stderrFile: plan.stderrFile,
  };
}

async function build(ctx: RunContext, plan: AgentPlan, queuedAt: number): Promise<BuildReply> {
  if (plan.prompt === undefined) {
    // No prompt: no worker round trip, no BUILD record; its queue wait ends now.
    return {
      ok: true,
      bytes: NO_PROMPT,
      sha256: '',
      tokens: 0,
      truncated: false,
      queueMs: queuedAt - ctx.startedAt,
      buildMs: 0,
      builtAt: queuedAt,
      threadId: 0,
    };
  }
  return ctx.pool.build(
    { agent: plan.name, agentId: plan.agentId, batchId: ctx.batchId, spec: plan.prompt, root: ctx.root, queuedAt: ctx.startedAt },
    ctx.signal,
  );
}

/** The launch side's records: one SPAWN per agent, one EXIT per spawned agent. */
function writeRecord(
  ctx: RunContext,
  agentId: number,
  ok: boolean,
  code: ErrorCode | undefined,
  pid: number,
  at: number,
  figures: Omit<SpawnRecord, keyof RecordHeader> | Omit<ExitRecord, keyof RecordHeader>,
): void {
  const header: RecordHeader = { ok, errorCode: errorCodeNumber(code), agentId, batchId: ctx.batchId, writerThreadId: ctx.threadId, pid, timestamp: at };
  ctx.ring.write(figures.stage === 'spawn' ? spawnRecord({ ...header, ...figures }) : exitRecord({ ...header, ...figures }));
}
