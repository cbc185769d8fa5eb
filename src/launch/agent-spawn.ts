/**
 * Starts the agent with node:child_process, no shell, in a process group of
 * its own, and wires its stdio: the prompt on stdin (or an open stdin),
 * stdout and stderr into capped captures that stream, tee to files and
 * watch for the ready line.
 *
 * Not execa: the launcher uses none of what execa adds (no shell, no
 * buffering, no rejecting, its own clean-up), and execa's per-call work cost
 * about 1 ms of CPU per agent on top of Node's own spawn, about half of what
 * a launch costs (`node bench/micro/spawn-cost.mjs`, two runs of three
 * rounds: 0.83 to 1.33 ms per agent with child_process, 1.76 to 2.55 ms with
 * execa and the options this launcher used).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { wallClockMs } from '../metrics/record.ts';
import type { OpenStdin } from './open-stdin.ts';
import { OutputCapture } from './output-capture.ts';
import type { DeliveredPrompt } from './prompt-delivery.ts';
import type { LaunchEvents, LaunchRequest } from './types.ts';

/** How the child ended: the error that kept it from starting (ENOENT, EACCES, ...), or its exit once its stdio has closed too. */
export type ChildEnd = { started: false; cause: NodeJS.ErrnoException } | { started: true; exitCode: number | undefined; signal: string | undefined };

export interface SpawnedAgent {
  child: ChildProcess;
  ended: Promise<ChildEnd>;
  stdout: OutputCapture;
  stderr: OutputCapture;
  /** Whether a ready pattern, not the spawn event, makes the agent ready. */
  waitsForReady: boolean;
}

/** The agent, wired; or, when Node could not even make its stdio (EMFILE), the error it will report instead. */
export function spawnAgent(
  request: LaunchRequest,
  delivered: DeliveredPrompt,
  events: LaunchEvents,
  stdin: OpenStdin,
): { agent: SpawnedAgent } | { failed: Promise<Error> } {
  const child = startChild(request, delivered);
  // Out of descriptors (EMFILE, ENFILE) Node gives up before it makes the child's stdio, and emits the errno next tick.
  if (child.stdio === undefined || child.stdout === null || child.stderr === null) {
    return { failed: new Promise((resolve) => child.once('error', resolve)) };
  }
  const ended = endOf(child);
  if (child.stdin !== null) {
    if (request.stdin === 'open') stdin.attach(child.stdin, delivered.input);
    else {
      // EPIPE when the agent exits without reading its prompt is its business, not a crash of ours.
      child.stdin.on('error', () => {});
      child.stdin.end(delivered.input);
    }
  }
  const ready = request.ready === undefined ? undefined : new RegExp(request.ready.source, request.ready.flags);
  const onChunk = (name: 'stdout' | 'stderr') => (request.stream && events.output ? (chunk: Buffer) => events.output!(name, chunk) : undefined);
  const stdout = new OutputCapture(child.stdout, request.maxOutputBytes, {
    ready: ready && { pattern: ready, onReady: () => events.ready(wallClockMs()) },
    onChunk: onChunk('stdout'),
    file: request.stdoutFile,
  });
  const stderr = new OutputCapture(child.stderr, request.maxOutputBytes, { onChunk: onChunk('stderr'), file: request.stderrFile });
  return { agent: { child, ended, stdout, stderr, waitsForReady: ready !== undefined } };
}

function startChild(request: LaunchRequest, delivered: DeliveredPrompt): ChildProcess {
  return spawn(request.command, delivered.args, {
    cwd: request.cwd,
    // The agent's env on top of the launching process's own.
    env: request.env === undefined ? process.env : { ...process.env, ...request.env },
    // Own process group, so the whole tree can be signalled; we clean up ourselves (LiveTrees).
    detached: true,
    // An open stdin gets the prompt written by OpenStdin and stays open; otherwise the prompt is written and stdin ended.
    stdio: [delivered.input === undefined && request.stdin === 'close' ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
}

/** Settles once: with the error if the child never started, else at 'close' (exited, and its stdout and stderr ended). */
function endOf(child: ChildProcess): Promise<ChildEnd> {
  return new Promise((resolve) => {
    child.on('error', (error: NodeJS.ErrnoException) => {
      // Node leaves the pid unset when the spawn failed; with one, the error is a failed kill() and the close still comes.
      // (A failed spawn's close follows its error, with a negative errno for a code: the error settles first.)
      if (child.pid === undefined) resolve({ started: false, cause: error });
    });
    child.once('close', (code, signal) => resolve({ started: true, exitCode: code ?? undefined, signal: signal ?? undefined }));
  });
}
