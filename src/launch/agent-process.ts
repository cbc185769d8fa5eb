/**
 * One agent process, start to finish, with execa and no shell: deliver the
 * prompt, report `spawned` / `ready`, cap output, enforce the timeout, stop
 * the whole process tree on timeout or abort, report `exited` exactly once,
 * and clean up (temp prompt file, stragglers in the process group).
 * Shared by the direct launcher and the helper process.
 */
import { stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { execa } from 'execa';
import type { ErrorCode } from '../errors.ts';
import { wallClockMs } from '../metrics/record.ts';
import { OutputCapture } from './output-capture.ts';
import { signalTree, type LiveTrees } from './process-tree.ts';
import { notStartedExit } from './not-started.ts';
import { deliverPrompt } from './prompt-delivery.ts';
import type { ExitReason, LaunchEvents, LaunchHandle, LaunchRequest } from './types.ts';

export function startAgentProcess(request: LaunchRequest, events: LaunchEvents, trees: LiveTrees): LaunchHandle {
  // Set by abort() or the timeout; the first stop reason wins.
  let stopReason: 'timeout' | 'aborted' | undefined;
  let pid: number | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  // The agent's stdin while it is open (request.stdin 'open'); writes before the spawn wait in the pipe.
  let stdin: Writable | undefined;

  const stop = (reason: 'timeout' | 'aborted') => {
    if (stopReason !== undefined) return;
    stopReason = reason;
    if (pid === undefined) return; // not started yet: run() sees stopReason before spawning
    signalTree(pid, 'SIGTERM');
    const target = pid;
    killTimer = setTimeout(() => signalTree(target, 'SIGKILL'), request.killGraceMs);
  };

  void run().catch((error: unknown) => {
    // Only a bug in this file gets here; still, the caller must hear an exit.
    events.exited(notStartedExit('E_LAUNCHER', `Agent "${request.agent}": launcher fault: ${(error as Error).message}`));
  });
  return {
    abort: () => stop('aborted'),
    write: (data) => {
      if (stdin?.writable) stdin.write(data);
    },
    end: () => stdin?.end(),
  };

  async function run(): Promise<void> {
    let delivered: Awaited<ReturnType<typeof deliverPrompt>>;
    try {
      delivered = await deliverPrompt(request);
    } catch (error) {
      const code = (error as { code?: ErrorCode }).code ?? 'E_SPAWN';
      events.exited(notStartedExit(code, (error as Error).message));
      return;
    }
    if (stopReason !== undefined) {
      await delivered.cleanup();
      events.exited({ ...notStartedExit('E_ABORTED', `Agent "${request.agent}" was aborted before it started`), reason: 'aborted' });
      return;
    }

    const subprocess = execa(request.command, delivered.args, {
      cwd: request.cwd,
      env: request.env,
      extendEnv: true,
      // Own process group, so the whole tree can be signalled; we clean up ourselves (LiveTrees).
      detached: true,
      cleanup: false,
      buffer: false,
      reject: false,
      // An open stdin gets the prompt written below and stays open; otherwise execa writes the input and ends it.
      stdin: delivered.input === undefined && request.stdin === 'close' ? 'ignore' : 'pipe',
      ...(delivered.input === undefined || request.stdin === 'open' ? {} : { input: delivered.input }),
      stdout: 'pipe',
      stderr: 'pipe',
    });

    let spawnedAt = 0;
    let timeoutTimer: NodeJS.Timeout | undefined;
    const ready = request.ready === undefined ? undefined : new RegExp(request.ready.source, request.ready.flags);
    if (request.stdin === 'open' && subprocess.stdin) {
      stdin = subprocess.stdin;
      // EPIPE when the agent exits with its stdin open is its business, not a crash of ours.
      stdin.on('error', () => {});
      if (delivered.input !== undefined) stdin.write(delivered.input);
    }
    const onChunk = (name: 'stdout' | 'stderr') => (request.stream && events.output ? (chunk: Buffer) => events.output!(name, chunk) : undefined);
    const stdout = new OutputCapture(subprocess.stdout, request.maxOutputBytes, {
      ready: ready && { pattern: ready, onReady: () => events.ready(wallClockMs()) },
      onChunk: onChunk('stdout'),
      file: request.stdoutFile,
    });
    const stderr = new OutputCapture(subprocess.stderr, request.maxOutputBytes, { onChunk: onChunk('stderr'), file: request.stderrFile });

    subprocess.once('spawn', () => {
      spawnedAt = wallClockMs();
      pid = subprocess.pid!;
      trees.add(pid);
      events.spawned(pid, spawnedAt);
      if (ready === undefined) events.ready(spawnedAt);
      if (stopReason !== undefined) {
        // Aborted between execa() and the spawn event.
        const reason = stopReason;
        stopReason = undefined;
        stop(reason);
      } else if (request.timeoutMs !== undefined) {
        timeoutTimer = setTimeout(() => stop('timeout'), request.timeoutMs);
      }
    });
    // The leader is gone: anything left in its group is a straggler; without
    // this, a grandchild holding the pipes open would keep the result pending.
    subprocess.once('exit', () => {
      if (pid !== undefined) signalTree(pid, 'SIGKILL');
    });

    const result = await subprocess;
    const at = wallClockMs();
    stdin = undefined;
    const fileError = (await stdout.closeFile()) ?? (await stderr.closeFile());
    clearTimeout(timeoutTimer);
    clearTimeout(killTimer);
    if (pid !== undefined) trees.delete(pid);
    await delivered.cleanup();

    if (pid === undefined) {
      const cause = (result.cause ?? result) as NodeJS.ErrnoException;
      const code = await spawnErrorCode(cause.code, request.cwd);
      events.exited(notStartedExit(code, spawnMessage(request, code, cause)));
      return;
    }
    const reason: ExitReason = stopReason ?? 'exit';
    events.exited({
      reason,
      pid,
      exitCode: result.exitCode,
      signal: result.signal,
      stdout: stdout.text(),
      stderr: stderr.text(),
      stdoutTruncated: stdout.truncated,
      stderrTruncated: stderr.truncated,
      durationMs: at - spawnedAt,
      at,
      // The agent ran, but its output did not all reach the file asked for: its run failed.
      error: fileError && { code: 'E_OUTPUT_FILE', message: `Agent "${request.agent}": could not write its output file: ${fileError.message}` },
    });
  }
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
      return `${who}: could not start "${request.command}": ${cause.message}`;
  }
}
