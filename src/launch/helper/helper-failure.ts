/**
 * What the host reports for an agent whose helper died under it: the
 * agent's own outcome is unknown, so it fails with E_LAUNCHER at the stage
 * it had reached (spawn before its pid was known, run after).
 */
import { wallClockMs } from '../../metrics/record.ts';
import { notStartedExit } from '../not-started.ts';
import type { LaunchEvents, LaunchExit } from '../types.ts';

/** An agent sent to a helper and not yet exited. */
export interface InFlight {
  agent: string;
  events: LaunchEvents;
  /** Set by the spawned frame. */
  pid: number | undefined;
  /** Host clock when the spawned frame arrived. */
  spawnedAt: number;
  aborted: boolean;
}

export function helperFailure(entry: InFlight, helperPid: number | undefined, why: string): LaunchExit {
  const at = wallClockMs();
  const base = { exitCode: undefined, signal: undefined, stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false, at };
  const durationMs = entry.pid === undefined ? 0 : at - entry.spawnedAt;
  // Stopping it was asked for, and it is stopped: that is the outcome the caller expects.
  if (entry.aborted) return { ...base, reason: 'aborted', pid: entry.pid, durationMs, error: undefined };
  const helper = `the launch helper${helperPid === undefined ? '' : ` (pid ${helperPid})`} ${why}`;
  if (entry.pid === undefined) return notStartedExit('E_LAUNCHER', `Agent "${entry.agent}": ${helper} before the agent started`);
  const message = `Agent "${entry.agent}": ${helper} while the agent was running; its process tree was killed and its output lost`;
  return { ...base, reason: 'exit', pid: entry.pid, durationMs, error: { code: 'E_LAUNCHER', message } };
}

/** How the helper ended, for the messages above. */
export function describeEnd(code: number | null, signal: NodeJS.Signals | null, spawnError: Error | undefined): string {
  if (spawnError !== undefined) return `could not be started (${spawnError.message})`;
  return signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
}
