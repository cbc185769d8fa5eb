/**
 * One agent through a batch: build its prompt on a worker, launch it, report
 * its spawn outcome as soon as it is known, then its result at exit. Writes
 * the main thread's SPAWN and EXIT records. Never throws: every failure
 * becomes the agent's outcome, so one agent cannot fail the others.
 */
import { BuildError, errorCodeNumber, SpawnError, type ErrorCode, type SpawnpoolError } from '../errors.ts';
import type { LaunchExit, Launcher } from '../launch/types.ts';
import { wallClockMs } from '../metrics/record.ts';
import type { SpawnerMetrics } from '../metrics/spawner-metrics.ts';
import type { BuildPool } from '../pool/build-pool.ts';
import type { BuildReply } from '../pool/build-task.ts';
import type { ResolvedAgent } from '../spec/resolve.ts';
import type { AgentResult, PromptInfo, SpawnOutcome, SpawnTimings } from './types.ts';

/** What every agent of one batch shares. */
export interface BatchContext {
  batchId: number;
  /** Wall-clock ms of the batch start. */
  startedAt: number;
  root: string;
  pool: BuildPool;
  launcher: Launcher;
  metrics: SpawnerMetrics;
  /** Aborts the whole batch; `stopCode` says whether by the user or by close(). */
  signal: AbortSignal;
  stopCode(): 'E_ABORTED' | 'E_CLOSED';
}

const NO_PROMPT: Uint8Array = new Uint8Array(0);

/** Runs one agent. Resolves with its spawn outcome; `outcome.result` settles at exit. */
export async function runAgent(ctx: BatchContext, agent: ResolvedAgent, index: number): Promise<SpawnOutcome> {
  const agentId = ctx.metrics.names.idOf(agent.name);
  const timings: SpawnTimings = { queueMs: 0, buildMs: 0, launchMs: 0, spawnMs: 0 };
  const fail = (stage: 'build' | 'spawn' | 'aborted', error: SpawnpoolError, exit?: LaunchExit): SpawnOutcome => {
    timings.spawnMs = wallClockMs() - ctx.startedAt;
    writeSpawnRecord(ctx, agentId, false, error.code, exit?.pid ?? 0, timings);
    const result = notRun(agent.name, index, stage, error, exit);
    return { name: agent.name, index, ok: false, stage, error, pid: exit?.pid, timings, prompt: undefined, result: Promise.resolve(result), abort: () => {} };
  };

  if (ctx.signal.aborted) return fail('aborted', stopped(ctx, agent.name, 'before it started'));

  const reply = await build(ctx, agent, agentId);
  timings.queueMs = reply.queueMs;
  timings.buildMs = reply.buildMs;
  if (!reply.ok) {
    if (reply.error.code === 'E_ABORTED' || ctx.signal.aborted) return fail('aborted', stopped(ctx, agent.name, 'before it started'));
    return fail('build', new BuildError(reply.error.code, reply.error.message, { agent: agent.name }));
  }
  if (ctx.signal.aborted) return fail('aborted', stopped(ctx, agent.name, 'before it started'));
  const prompt: PromptInfo | undefined = agent.prompt === undefined ? undefined : { bytes: reply.bytes.byteLength, tokens: reply.tokens, sha256: reply.sha256, truncated: reply.truncated, builtOnThread: reply.threadId };

  const promptAt = wallClockMs();
  return new Promise<SpawnOutcome>((resolveOutcome) => {
    let pid: number | undefined;
    let outcome: SpawnOutcome | undefined;
    // Set when outcome.abort() stopped this agent alone (the message then says so, not "the batch").
    let abortedAlone = false;
    let resolveResult!: (result: AgentResult) => void;
    const result = new Promise<AgentResult>((resolve) => (resolveResult = resolve));
    const onAbort = () => handle.abort();

    const handle = ctx.launcher.launch(
      {
        agent: agent.name,
        command: agent.command,
        args: agent.args,
        env: agent.env,
        cwd: agent.cwd,
        prompt: reply.bytes,
        promptVia: agent.promptVia,
        ready: agent.ready && { source: agent.ready.source, flags: agent.ready.flags },
        timeoutMs: agent.timeoutMs,
        killGraceMs: agent.killGraceMs,
        maxOutputBytes: agent.maxOutputBytes,
      },
      {
        spawned: (spawnedPid) => {
          pid = spawnedPid;
        },
        ready: (at) => {
          timings.launchMs = at - promptAt;
          timings.spawnMs = at - ctx.startedAt;
          writeSpawnRecord(ctx, agentId, true, undefined, pid ?? 0, timings);
          const abortThis = () => {
            abortedAlone = !ctx.signal.aborted;
            handle.abort();
          };
          outcome = { name: agent.name, index, ok: true, stage: undefined, error: undefined, pid, timings, prompt, result, abort: abortThis };
          resolveOutcome(outcome);
        },
        exited: (exit) => {
          ctx.signal.removeEventListener('abort', onAbort);
          if (outcome === undefined) {
            // It never counted as spawned: the spawn itself failed.
            resolveOutcome(fail(exit.reason === 'aborted' ? 'aborted' : 'spawn', beforeReadyError(ctx, agent, exit), exit));
            return;
          }
          const agentResult = exitResult(abortedAlone ? { ...ctx, stopCode: () => 'E_ABORTED', alone: true } : ctx, agent, index, exit);
          writeExitRecord(ctx, agentId, agentResult, exit);
          resolveResult(agentResult);
        },
      },
    );
    ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
}

async function build(ctx: BatchContext, agent: ResolvedAgent, agentId: number): Promise<BuildReply> {
  if (agent.prompt === undefined) {
    // No prompt: no worker round trip, no BUILD record.
    return { ok: true, bytes: NO_PROMPT, sha256: '', tokens: 0, truncated: false, queueMs: wallClockMs() - ctx.startedAt, buildMs: 0, builtAt: wallClockMs(), threadId: 0 };
  }
  return ctx.pool.build({ agent: agent.name, agentId, batchId: ctx.batchId, spec: agent.prompt, root: ctx.root, queuedAt: ctx.startedAt }, ctx.signal);
}

function beforeReadyError(ctx: BatchContext, agent: ResolvedAgent, exit: LaunchExit): SpawnpoolError {
  const who = `Agent "${agent.name}"`;
  if (exit.error) return new SpawnError(exit.error.code, exit.error.message, { agent: agent.name, stage: 'spawn' });
  if (exit.reason === 'aborted') return stopped(ctx, agent.name, 'before it was ready');
  if (exit.reason === 'timeout') return new SpawnError('E_TIMEOUT', `${who}: no stdout line matched ${String(agent.ready)} within timeoutMs ${agent.timeoutMs}`, { agent: agent.name, stage: 'spawn' });
  return new SpawnError('E_READY', `${who}: exited (${exitText(exit)}) before printing a stdout line matching ${String(agent.ready)}`, { agent: agent.name, stage: 'spawn' });
}

function exitResult(ctx: BatchContext & { alone?: boolean }, agent: ResolvedAgent, index: number, exit: LaunchExit): AgentResult {
  const base = { name: agent.name, index, pid: exit.pid, exitCode: exit.exitCode, signal: exit.signal, stdout: exit.stdout, stderr: exit.stderr, stdoutTruncated: exit.stdoutTruncated, stderrTruncated: exit.stderrTruncated, durationMs: exit.durationMs, timedOut: exit.reason === 'timeout' };
  const who = `Agent "${agent.name}"`;
  if (exit.reason === 'timeout') {
    return { ...base, ok: false, stage: 'timeout', error: new SpawnError('E_TIMEOUT', `${who} ran past timeoutMs ${agent.timeoutMs} and was killed`, { agent: agent.name, stage: 'timeout' }) };
  }
  if (exit.reason === 'aborted') return { ...base, ok: false, stage: 'aborted', error: stopped(ctx, agent.name, 'while running') };
  if (exit.error) return { ...base, ok: false, stage: 'run', error: new SpawnError(exit.error.code, exit.error.message, { agent: agent.name, stage: 'run' }) };
  if (exit.exitCode === 0) return { ...base, ok: true, stage: undefined, error: undefined };
  const code: ErrorCode = exit.signal ? 'E_SIGNAL' : 'E_EXIT';
  return { ...base, ok: false, stage: 'run', error: new SpawnError(code, `${who} ${exitText(exit)}`, { agent: agent.name, stage: 'run' }) };
}

function exitText(exit: LaunchExit): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode}`;
}

function stopped(ctx: BatchContext & { alone?: boolean }, agent: string, when: string): SpawnError {
  const code = ctx.stopCode();
  const why = ctx.alone ? 'its outcome.abort() was called' : code === 'E_CLOSED' ? 'the spawner was closed' : 'the batch was aborted';
  return new SpawnError(code, `Agent "${agent}" was stopped ${when}: ${why}`, { agent, stage: 'aborted' });
}

/** The result of an agent that never counted as spawned; with what it printed, if it ran at all. */
function notRun(name: string, index: number, stage: AgentResult['stage'], error: SpawnpoolError, exit: LaunchExit | undefined): AgentResult {
  return {
    name, index, ok: false, stage, error,
    pid: exit?.pid, exitCode: exit?.exitCode, signal: exit?.signal,
    stdout: exit?.stdout ?? '', stderr: exit?.stderr ?? '',
    stdoutTruncated: exit?.stdoutTruncated ?? false, stderrTruncated: exit?.stderrTruncated ?? false,
    durationMs: exit?.durationMs ?? 0, timedOut: exit?.reason === 'timeout',
  };
}

function writeSpawnRecord(ctx: BatchContext, agentId: number, ok: boolean, code: ErrorCode | undefined, pid: number, t: SpawnTimings): void {
  ctx.metrics.ring.write({ stage: 'spawn', ok, errorCode: errorCodeNumber(code), agentId, batchId: ctx.batchId, writerThreadId: 0, pid, timestamp: wallClockMs(), durationMs: t.spawnMs, detailMs: t.launchMs });
  ctx.metrics.drain();
}

function writeExitRecord(ctx: BatchContext, agentId: number, result: AgentResult, exit: LaunchExit): void {
  ctx.metrics.ring.write({ stage: 'exit', ok: result.ok, errorCode: errorCodeNumber(result.error?.code), agentId, batchId: ctx.batchId, writerThreadId: 0, pid: exit.pid ?? 0, timestamp: exit.at, durationMs: exit.durationMs, detailMs: exit.exitCode ?? -1 });
  ctx.metrics.drain();
}
