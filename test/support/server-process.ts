/**
 * Start, wait-until-ready and stop for the real servers the tests and the
 * bench run (redis-server, Prometheus, Pushgateway): each on 127.0.0.1, on a
 * free port, in a temp folder removed at `stop()`, SIGKILLed if the test
 * process exits first.
 *
 * Neither Redis (port 0 disables TCP) nor Prometheus (it cannot report the
 * port it picked) can listen on `:0` usefully, so a free port is found by
 * binding a socket to port 0 and closing it; if another process takes that
 * port before the server binds it, a new port is tried.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import net from 'node:net';

export interface ServerProcess {
  readonly port: number;
  readonly pid: number;
  /** Stops the server (SIGTERM, SIGKILL after 5 s) and removes its folder. Idempotent. */
  stop(): Promise<void>;
}

export interface ServerStart {
  binary: string;
  /** Said when the binary is missing, after "<binary> not found on PATH: ". */
  install: string;
  /** The server's folder (its working directory): owned from now on, removed at `stop()` or when the start fails. */
  dir: string;
  args(port: number): string[];
  /** One readiness probe: true once the server answers. */
  ready(port: number): Promise<boolean>;
  readyWithinMs: number;
}

const PORT_ATTEMPTS = 5;
const POLL_MS = 25;

/** Starts `binary` and resolves once `ready` holds; throws with the server's last output when it does not. */
export async function startServerProcess(o: ServerStart): Promise<ServerProcess> {
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    const child = spawn(o.binary, o.args(port), { cwd: o.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (log = (log + s).slice(-4000)));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (log = (log + s).slice(-4000)));
    const spawned = await Promise.race([once(child, 'spawn').then(() => undefined), once(child, 'error').then(([e]) => e as NodeJS.ErrnoException)]);
    if (spawned !== undefined) {
      await rm(o.dir, { recursive: true, force: true });
      throw new Error(spawned.code === 'ENOENT' ? `${o.binary} not found on PATH: ${o.install}` : `cannot start ${o.binary}: ${spawned.message}`);
    }
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    const up = await waitForReady(port, child, o);
    if (up === true) {
      let stopped: Promise<void> | undefined;
      return {
        port,
        pid: child.pid!,
        stop() {
          stopped ??= (async () => {
            await stopChild(child);
            process.off('exit', killOnExit);
            await rm(o.dir, { recursive: true, force: true });
          })();
          return stopped;
        },
      };
    }
    await stopChild(child);
    process.off('exit', killOnExit);
    lastError = new Error(`${o.binary} on port ${port} did not become ready: ${up}\n${log}`);
    // Someone else took the port between our probe and the server binding it: try another.
    if (!/address already in use/i.test(log)) break;
  }
  await rm(o.dir, { recursive: true, force: true });
  throw lastError ?? new Error(`${o.binary} did not start`);
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

/** true once `ready` holds; else why not (the server exited, or the deadline passed). */
async function waitForReady(port: number, child: ChildProcess, o: ServerStart): Promise<true | string> {
  const deadline = Date.now() + o.readyWithinMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return `it exited (${child.exitCode ?? child.signalCode})`;
    if (await o.ready(port)) return true;
    // A server has no event for "listening" that another process can await: poll.
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return `no answer within ${o.readyWithinMs} ms`;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
