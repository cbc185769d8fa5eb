/**
 * Starts the agent with execa, no shell, in a process group of its own, and
 * wires its stdio: the prompt on stdin (or an open stdin), stdout and stderr
 * into capped captures that stream, tee to files and watch for the ready line.
 */
import { execa } from 'execa';
import { wallClockMs } from '../metrics/record.ts';
import { spawnOrEarlyError } from './early-spawn-error.ts';
import type { OpenStdin } from './open-stdin.ts';
import { OutputCapture } from './output-capture.ts';
import type { DeliveredPrompt } from './prompt-delivery.ts';
import type { LaunchEvents, LaunchRequest } from './types.ts';

export type AgentSubprocess = ReturnType<typeof startExeca>;

export interface SpawnedAgent {
  subprocess: AgentSubprocess;
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
  const started = spawnOrEarlyError(() => startExeca(request, delivered));
  if ('failed' in started) return started;
  const { subprocess } = started;
  if (request.stdin === 'open' && subprocess.stdin) stdin.attach(subprocess.stdin, delivered.input);
  const ready = request.ready === undefined ? undefined : new RegExp(request.ready.source, request.ready.flags);
  const onChunk = (name: 'stdout' | 'stderr') => (request.stream && events.output ? (chunk: Buffer) => events.output!(name, chunk) : undefined);
  const stdout = new OutputCapture(subprocess.stdout, request.maxOutputBytes, {
    ready: ready && { pattern: ready, onReady: () => events.ready(wallClockMs()) },
    onChunk: onChunk('stdout'),
    file: request.stdoutFile,
  });
  const stderr = new OutputCapture(subprocess.stderr, request.maxOutputBytes, { onChunk: onChunk('stderr'), file: request.stderrFile });
  return { agent: { subprocess, stdout, stderr, waitsForReady: ready !== undefined } };
}

function startExeca(request: LaunchRequest, delivered: DeliveredPrompt) {
  return execa(request.command, delivered.args, {
    cwd: request.cwd,
    env: request.env,
    extendEnv: true,
    // Own process group, so the whole tree can be signalled; we clean up ourselves (LiveTrees).
    detached: true,
    cleanup: false,
    buffer: false,
    reject: false,
    // An open stdin gets the prompt written by OpenStdin and stays open; otherwise execa writes the input and ends it.
    stdin: delivered.input === undefined && request.stdin === 'close' ? 'ignore' : 'pipe',
    ...(delivered.input === undefined || request.stdin === 'open' ? {} : { input: delivered.input }),
    stdout: 'pipe',
    stderr: 'pipe',
  });
}
