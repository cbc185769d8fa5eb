/**
 * What an agent's end is reported as: a failure to start, classified by
 * its errno for the user (command not found, not executable, no such
 * working directory, or the errno itself, e.g. EMFILE), or the run, with
 * its output and any failure to write its output files.
 */
import { stat } from 'node:fs/promises';
import type { ErrorCode } from '../errors.ts';
import { notStartedExit } from './not-started.ts';
import type { OutputCapture } from './output-capture.ts';
import type { ExitReason, LaunchExit, LaunchRequest } from './types.ts';

export async function spawnFailedExit(request: LaunchRequest, cause: NodeJS.ErrnoException): Promise<LaunchExit> {
  const code = await spawnErrorCode(cause.code, request.cwd);
  return notStartedExit(code, spawnMessage(request, code, cause), cause.code);
}

export interface Ran {
  reason: ExitReason;
  pid: number;
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: OutputCapture;
  stderr: OutputCapture;
  spawnedAt: number;
  at: number;
  fileError: Error | undefined;
}

export function ranExit(request: LaunchRequest, ran: Ran): LaunchExit {
  return {
    reason: ran.reason,
    pid: ran.pid,
    exitCode: ran.exitCode,
    signal: ran.signal,
    stdout: ran.stdout.text(),
    stderr: ran.stderr.text(),
    stdoutTruncated: ran.stdout.truncated,
    stderrTruncated: ran.stderr.truncated,
    durationMs: ran.at - ran.spawnedAt,
    at: ran.at,
    // The agent ran, but its output did not all reach the file asked for: its run failed.
    error: ran.fileError && { code: 'E_OUTPUT_FILE', message: `Agent "${request.agent}": could not write its output file: ${ran.fileError.message}` },
  };
}

async function spawnErrorCode(errno: string | undefined, cwd: string | undefined): Promise<ErrorCode> {
  if (errno === 'EACCES') return 'E_EACCES';
  if (errno !== 'ENOENT') return 'E_SPAWN';
  // Node reports a missing cwd as ENOENT too; tell the two apart for the user.
  if (
    cwd !== undefined &&
    !(await stat(cwd).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    return 'E_CWD';
  return 'E_ENOENT';
}

function spawnMessage(request: LaunchRequest, code: ErrorCode, cause: Error): string {
  const who = `Agent "${request.agent}"`;
  switch (code) {
    case 'E_ENOENT':
      return `${who}: command not found: "${request.command}"`;
    case 'E_EACCES':
      return `${who}: command is not executable (permission denied): "${request.command}"`;
    case 'E_CWD':
      return `${who}: working directory does not exist: "${request.cwd}"`;
    default:
      // Node's message ends with the errno ("spawn sleep EMFILE"), which the harness's retry policy looks for.
      return `${who}: could not start "${request.command}": ${cause.message}`;
  }
}
