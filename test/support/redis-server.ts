/**
 * A real, private redis-server for one test file or one bench scenario: on
 * 127.0.0.1, on a free port, with no persistence, in a temp folder removed at
 * `stop()`. Shared by test/ and bench/.
 *
 * `redis-server --port 0` would not do: port 0 disables TCP in Redis. So a
 * free port is found by binding a socket to port 0 and closing it; if another
 * process takes that port before Redis binds it, a new port is tried.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

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
const READY_WITHIN_MS = 10_000;
const PORT_ATTEMPTS = 5;

/** Starts a redis-server and resolves once it answers PING. */
export async function startRedis(): Promise<RedisServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'spawnpool-redis-'));
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    const child = spawn(BINARY, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (log = (log + s).slice(-4000)));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (log = (log + s).slice(-4000)));
    const spawned = await Promise.race([once(child, 'spawn').then(() => undefined), once(child, 'error').then(([e]) => e as NodeJS.ErrnoException)]);
    if (spawned !== undefined) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(
        spawned.code === 'ENOENT'
          ? `${BINARY} not found on PATH: install Redis (.ci/run does when it is missing)`
          : `cannot start ${BINARY}: ${spawned.message}`,
      );
    }
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    const up = await waitForPing(port, child);
    if (up === true) {
      let stopped: Promise<void> | undefined;
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        pid: child.pid!,
        stop() {
          stopped ??= (async () => {
            await stopChild(child);
            process.off('exit', killOnExit);
            await rm(dir, { recursive: true, force: true });
          })();
          return stopped;
        },
      };
    }
    await stopChild(child);
    process.off('exit', killOnExit);
    lastError = new Error(`redis-server on port ${port} did not answer PING: ${up}\n${log}`);
    // Someone else took the port between our probe and Redis binding it: try another.
    if (!log.includes('Address already in use')) break;
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError ?? new Error('redis-server did not start');
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** true once PING gets +PONG; else why not (the server exited, or the deadline passed). */
async function waitForPing(port: number, child: ChildProcess): Promise<true | string> {
  const deadline = Date.now() + READY_WITHIN_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return `it exited (${child.exitCode ?? child.signalCode})`;
    if (await ping(port)) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return `no answer within ${READY_WITHIN_MS} ms`;
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

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
