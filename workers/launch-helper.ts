/**
 * The launch helper process. Kept tiny on purpose: on Linux every spawn
 * forks the calling process, so the helper's small heap, not the host's
 * big one, is what each agent's fork copies. It runs agents with the same
 * startAgentProcess as the direct launcher and reports their events back
 * over the channel (fd 3). When the channel closes, the host is gone (even
 * by SIGKILL): it kills every agent tree it started and exits.
 */
import net from 'node:net';
import { startAgentProcess } from '../src/launch/agent-process.ts';
import { LiveTrees } from '../src/launch/process-tree.ts';
import type { LaunchHandle } from '../src/launch/types.ts';
import { exitedFrame, helloFrame, outputFrame, readEnv, readLaunch, readyFrame, spawnedFrame } from '../src/launch/helper/messages.ts';
import { CHANNEL_FD, FRAME, FrameReader, type Frame } from '../src/launch/helper/wire.ts';

const channel = new net.Socket({ fd: CHANNEL_FD, readable: true, writable: true });
const reader = new FrameReader();
const trees = new LiveTrees();
// Agents started and not yet exited, by request id.
const running = new Map<number, LaunchHandle>();

channel.on('data', (chunk: Buffer) => {
  let frames: Frame[];
  try {
    frames = reader.push(chunk);
  } catch (error) {
    shutdown(`bad data on the channel: ${(error as Error).message}`);
    return;
  }
  for (const frame of frames) handle(frame);
});
channel.once('end', () => shutdown());
channel.once('close', () => shutdown());
channel.on('error', (error: NodeJS.ErrnoException) => {
  // EPIPE / ECONNRESET: the host is gone, the ordinary way for a helper to end.
  shutdown(error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : `channel error: ${error.message}`);
});
send(helloFrame());

function handle(frame: Frame): void {
  switch (frame.type) {
    case FRAME.launch:
      launch(frame.id, frame);
      return;
    case FRAME.abort:
      running.get(frame.id)?.abort();
      return;
    case FRAME.env:
      replaceEnv(readEnv(frame));
      return;
    case FRAME.stdin:
      running.get(frame.id)?.write?.(frame.payload);
      return;
    case FRAME.stdinEnd:
      running.get(frame.id)?.end?.();
      return;
    default:
      shutdown(`unexpected frame type ${frame.type} from the host`);
  }
}

function launch(id: number, frame: Frame): void {
  const request = readLaunch(frame);
  const handle = startAgentProcess(
    request,
    {
      spawned: (pid) => send(spawnedFrame(id, pid)),
      ready: () => send(readyFrame(id)),
      output: (stream, chunk) => send(outputFrame(id, stream, chunk)),
      exited: (exit) => {
        running.delete(id);
        send(exitedFrame(id, exit));
      },
    },
    trees,
  );
  running.set(id, handle);
}

function send(parts: Uint8Array[]): void {
  if (channel.destroyed) return;
  channel.cork();
  for (const part of parts) channel.write(part);
  channel.uncork();
}

/** Agents inherit the helper's environment (their env is laid over it), so it must be the host's. */
function replaceEnv(env: Record<string, string>): void {
  for (const key of Object.keys(process.env)) if (!(key in env)) delete process.env[key];
  Object.assign(process.env, env);
}

function shutdown(why?: string): void {
  if (why !== undefined) process.stderr.write(`spawnpool launch helper (pid ${process.pid}): ${why}; stopping its agents\n`);
  trees.killAll('SIGKILL');
  process.exit(why === undefined ? 0 : 1);
}
