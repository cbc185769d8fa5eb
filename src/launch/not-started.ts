/**
 * The exit a launcher reports for an agent that never started: no pid, no
 * output, the reason in `error`.
 */
import type { ErrorCode } from '../errors.ts';
import { wallClockMs } from '../metrics/record.ts';
import type { LaunchExit } from './types.ts';

export function notStartedExit(code: ErrorCode, message: string, errno?: string): LaunchExit {
  return {
    reason: 'spawn-failed',
    pid: undefined,
    exitCode: undefined,
    signal: undefined,
    stdout: '',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    durationMs: 0,
    at: wallClockMs(),
    error: { code, message, errno },
  };
}
