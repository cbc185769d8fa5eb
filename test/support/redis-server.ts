/**
 * A real, private redis-server for one test file or one bench scenario: on
 * 127.0.0.1, on a free port, with no persistence, in a temp folder removed at
 * `stop()` (see server-process.ts). Shared by test/ and bench/.
 */
import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startServerProcess } from './server-process.ts';

export { freePort } from './server-process.ts';

export interface RedisServer {
  /** e.g. `redis://127.0.0.1:40123`. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Stops the server (SIGTERM, SIGKILL after 5 s) and removes its folder. Idempotent. */
  stop(): Promise<void>;
}

/** The binary: `REDIS_SERVER` if set, else `redis-server` on PATH (.ci/run installs it when missing). */
const BINARY = process.env.REDIS_SERVER ?? 'redis-server';

/** Starts a redis-server and resolves once it answers PING. */
export async function startRedis(): Promise<RedisServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'spawnpool-redis-'));
  const server = await startServerProcess({
    binary: BINARY,
    install: 'install Redis (.ci/run does when it is missing)',
    dir,
    args: (port) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'],
    ready: ping,
    readyWithinMs: 10_000,
  });
  return { url: `redis://127.0.0.1:${server.port}`, port: server.port, pid: server.pid, stop: server.stop };
}

/** One PING over a raw socket (no Redis client needed). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
