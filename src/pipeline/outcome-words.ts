/**
 * How an agent ended, in words: the error code, stage and message of each
 * way a run can end. The reason for a stop is a parameter, so one function
 * words "the batch was aborted", "the spawner was closed" and "its
 * outcome.abort() was called".
 */
import type { ErrorCode } from '../errors.ts';
import type { LaunchExit } from '../launch/types.ts';
import type { AgentPlan, StopReason, WireError, WireResult } from './messages.ts';

const STOP_WHY: Record<StopReason, string> = {
  aborted: 'the batch was aborted',
  closed: 'the spawner was closed',
  alone: 'its outcome.abort() was called',
};

export function stoppedError(agent: string, reason: StopReason, when: string): WireError {
  return { code: reason === 'closed' ? 'E_CLOSED' : 'E_ABORTED', message: `Agent "${agent}" was stopped ${when}: ${STOP_WHY[reason]}`, stage: 'aborted' };
}

/** Why an agent that had not counted as spawned ended. */
export function beforeReadyError(plan: AgentPlan, exit: LaunchExit, reason: StopReason): WireError {
  const who = `Agent "${plan.name}"`;
  const ready = plan.ready && String(new RegExp(plan.ready.source, plan.ready.flags));
  if (exit.error) return { code: exit.error.code, message: exit.error.message, stage: 'spawn', errno: exit.error.errno };
  if (exit.reason === 'aborted') return stoppedError(plan.name, reason, 'before it was ready');
  if (exit.reason === 'timeout')
    return { code: 'E_TIMEOUT', message: `${who}: no stdout line matched ${ready} within timeoutMs ${plan.timeoutMs}`, stage: 'spawn' };
  return { code: 'E_READY', message: `${who}: exited (${exitText(exit)}) before printing a stdout line matching ${ready}`, stage: 'spawn' };
}

/** The result of an agent that counted as spawned. */
export function exitResult(plan: AgentPlan, exit: LaunchExit, reason: StopReason): WireResult {
  const base = {
    pid: exit.pid,
    exitCode: exit.exitCode,
    signal: exit.signal,
    stdout: exit.stdout,
    stderr: exit.stderr,
    stdoutTruncated: exit.stdoutTruncated,
    stderrTruncated: exit.stderrTruncated,
    durationMs: exit.durationMs,
    timedOut: exit.reason === 'timeout',
  };
  const who = `Agent "${plan.name}"`;
  if (exit.reason === 'timeout')
    return {
      ...base,
      ok: false,
      stage: 'timeout',
      error: { code: 'E_TIMEOUT', message: `${who} ran past timeoutMs ${plan.timeoutMs} and was killed`, stage: 'timeout' },
    };
  if (exit.reason === 'aborted') return { ...base, ok: false, stage: 'aborted', error: stoppedError(plan.name, reason, 'while running') };
  if (exit.error) return { ...base, ok: false, stage: 'run', error: { code: exit.error.code, message: exit.error.message, stage: 'run' } };
  if (exit.exitCode === 0) return { ...base, ok: true, stage: undefined, error: undefined };
  const code: ErrorCode = exit.signal ? 'E_SIGNAL' : 'E_EXIT';
  return { ...base, ok: false, stage: 'run', error: { code, message: `${who} ${exitText(exit)}`, stage: 'run' } };
}

/** The result of an agent that never counted as spawned; with what it printed, if it ran at all. */
export function notRun(stage: WireResult['stage'], error: WireError, exit: LaunchExit | undefined): WireResult {
  return {
    ok: false,
    stage,
    error,
    pid: exit?.pid,
    exitCode: exit?.exitCode,
    signal: exit?.signal,
    stdout: exit?.stdout ?? '',
    stderr: exit?.stderr ?? '',
    stdoutTruncated: exit?.stdoutTruncated ?? false,
    stderrTruncated: exit?.stderrTruncated ?? false,
    durationMs: exit?.durationMs ?? 0,
    timedOut: exit?.reason === 'timeout',
  };
}

function exitText(exit: LaunchExit): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode}`;
}
