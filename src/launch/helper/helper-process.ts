/**
 * The host's side of one helper process: starts it, sends launch and abort
 * requests, turns its frames back into launch events, and, if it dies,
 * kills the agent trees it had started and fails them with E_LAUNCHER.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { wallClockMs } from '../../metrics/record.ts';
import { signalTree } from '../process-tree.ts';
import type { LaunchEvents, LaunchHandle, LaunchRequest } from '../types.ts';
import { EnvMirror } from './env-mirror.ts';
import type { HelperCommand } from './helper-command.ts';
import { describeEnd, helperFailure, type InFlight } from './helper-failure.ts';
import { abortFrame, envFrame, launchFrame, readExited, readOutput, readSpawned, stdinEndFrame, stdinFrame } from './messages.ts';
import { CHANNEL_FD, FRAME, FrameReader, type Frame } from './wire.ts';

/**
 * A helper that has not said hello by then is stuck (a broken install, a
 * wedged loader) and is killed, so that neither `Spawner.ready` nor the
 * launches queued on it wait for ever. A start takes ~1 s from source on 2
 * busy cores; 30 s leaves room for a machine far busier than that.
 */
export const HELPER_START_TIMEOUT_MS = 30_000;

export class HelperProcess {
  readonly #child: ChildProcess;
  readonly #channel: Socket;
  readonly #reader = new FrameReader();
  // Launched and not yet exited, by request id; #pendingSpawns of them have no pid yet.
  readonly #inflight = new Map<number, InFlight>();
  #pendingSpawns = 0;
  #nextId = 1;
  // Follows process.env, so agents get the host's environment as it is at launch.
  readonly #env = new EnvMirror();
  // Why the helper is gone; set once, when both its exit and the channel's end have been seen.
  #death: string | undefined;
  #spawnError: Error | undefined;
  // Set when the host killed the helper, for a message that says why.
  #killedBecause: string | undefined;
  // Resolvers waiting for #inflight to empty (close()).
  #idleWaiters: (() => void)[] = [];
  /** Settles when the helper process is gone and every in-flight agent has been failed. */
  readonly gone: Promise<void>;
  #markGone!: () => void;
  /** Settles true once the helper has said hello (it reads requests), false if it died first. */
  readonly started: Promise<boolean>;
  #markUp!: (up: boolean) => void;
  #up = false;

  constructor(command: HelperCommand, startTimeoutMs = HELPER_START_TIMEOUT_MS) {
    this.gone = new Promise((resolve) => (this.#markGone = resolve));
    this.started = new Promise((resolve) => {
      this.#markUp = (up) => {
        this.#up = up;
        resolve(up);
      };
    });
    // detached: its own session, so a Ctrl-C meant for the host's terminal group does not kill the
    // helper behind the host's back; the host decides, and the channel tells the helper when it is gone.
    // The helper's stdout and stderr are the host's; the pipe at index CHANNEL_FD (3) is the channel.
    this.#child = spawn(command.file, command.args, { stdio: ['ignore', 'inherit', 'inherit', 'pipe'], detached: true, env: this.#env.sent });
    this.#channel = this.#child.stdio[CHANNEL_FD] as Socket;
    this.#channel.on('data', (chunk: Buffer) => this.#onData(chunk));
    // Write errors (EPIPE once the helper is dead) show up as the close below.
    this.#channel.on('error', () => {});
    this.#child.on('error', (error) => (this.#spawnError = error));
    // 'close' comes after the exit and after every frame the helper sent has been read.
    this.#child.once('close', (code, signal) => this.#die(this.#killedBecause ?? describeEnd(code, signal, this.#spawnError)));
    const startTimer = setTimeout(() => this.#kill(`did not start within ${startTimeoutMs} ms`), startTimeoutMs);
    // Referenced while starting, so awaiting `started` keeps the host alive; unreferenced once up and idle.
    void this.started.then(() => {
      clearTimeout(startTimer);
      if (this.#inflight.size === 0) this.#ref(false);
    });
  }

  /** The helper's pid; undefined if it could not be started. */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  get alive(): boolean {
    return this.#death === undefined;
  }

  /** Alive and past its start-up: a launch sent now waits for no process start. */
  get up(): boolean {
    return this.#up && this.#death === undefined;
  }

  /** Launches sent that have not reported a pid (or an exit) yet: the helper's queue of forks. */
  get pendingSpawns(): number {
    return this.#pendingSpawns;
  }

  get inFlight(): number {
    return this.#inflight.size;
  }

  launch(request: LaunchRequest, events: LaunchEvents): LaunchHandle {
    const id = this.#nextId++;
    const entry: InFlight = { agent: request.agent, events, pid: undefined, spawnedAt: 0, aborted: false };
    if (this.#death !== undefined) {
      const why = this.#death;
      queueMicrotask(() => events.exited(helperFailure(entry, this.pid, why)));
      return { abort: () => {} };
    }
    this.#inflight.set(id, entry);
    this.#pendingSpawns++;
    this.#ref(true);
    this.#syncEnv();
    // The host's cwd now, not the helper's at its start: both launchers resolve a missing cwd the same way.
    this.#send(launchFrame(id, { ...request, cwd: request.cwd ?? process.cwd() }));
    return {
      abort: () => {
        if (entry.aborted || !this.#inflight.has(id)) return;
        entry.aborted = true;
        this.#send(abortFrame(id));
      },
      write: (data) => {
        if (this.#inflight.has(id)) this.#send(stdinFrame(id, data));
      },
      end: () => {
        if (this.#inflight.has(id)) this.#send(stdinEndFrame(id));
      },
    };
  }

  /** Stops every agent it runs, waits for their exits, then lets the helper exit. Idempotent. */
  async close(): Promise<void> {
    if (this.#death === undefined && this.#inflight.size > 0) {
      for (const id of this.#inflight.keys()) this.#send(abortFrame(id));
      await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    }
    if (this.#death === undefined) {
      this.#ref(true);
      this.#channel.end();
      // The helper exits at the end of its channel; one that does not is stuck and is killed.
      const stuck = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
      await this.gone;
      clearTimeout(stuck);
    }
    await this.gone;
  }

  #send(parts: Uint8Array[]): void {
    if (this.#channel.destroyed) return;
    this.#channel.cork();
    for (const part of parts) this.#channel.write(part);
    this.#channel.uncork();
  }

  #onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.#reader.push(chunk);
    } catch (error) {
      this.#kill(`sent bad data (${(error as Error).message})`);
      return;
    }
    for (const frame of frames) this.#onFrame(frame);
  }

  #onFrame(frame: Frame): void {
    if (frame.type === FRAME.hello) {
      this.#markUp(true);
      return;
    }
    const entry = this.#inflight.get(frame.id);
    if (entry === undefined) return;
    // Events are stamped with the host's clock on arrival: every figure of a batch then uses one clock,
    // and includes the trip back over the channel, which is part of what the host waits for.
    switch (frame.type) {
      case FRAME.spawned: {
        entry.pid = readSpawned(frame).pid;
        entry.spawnedAt = wallClockMs();
        this.#pendingSpawns--;
        entry.events.spawned(entry.pid, entry.spawnedAt);
        return;
      }
      case FRAME.ready:
        entry.events.ready(wallClockMs());
        return;
      case FRAME.output: {
        const { stream, chunk } = readOutput(frame);
        entry.events.output?.(stream, chunk);
        return;
      }
      case FRAME.exited: {
        const exit = readExited(frame);
        this.#forget(frame.id, entry);
        entry.events.exited(exit);
        return;
      }
      default:
        this.#kill(`sent a frame of type ${frame.type}, which only the host sends`);
    }
  }

  #forget(id: number, entry: InFlight): void {
    this.#inflight.delete(id);
    if (entry.pid === undefined) this.#pendingSpawns--;
    if (this.#inflight.size > 0) return;
    if (this.#up) this.#ref(false);
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  #kill(why: string): void {
    process.emitWarning(`spawnpool: the launch helper (pid ${this.pid}) ${why}; killing it`);
    this.#killedBecause ??= `was killed (SIGKILL) because it ${why},`;
    this.#child.kill('SIGKILL');
  }

  #die(why: string): void {
    if (this.#death !== undefined) return;
    this.#death = why;
    const orphans = [...this.#inflight.values()];
    this.#inflight.clear();
    this.#pendingSpawns = 0;
    // The helper can no longer stop what it started: the host does, so nothing outlives it.
    for (const entry of orphans) if (entry.pid !== undefined) signalTree(entry.pid, 'SIGKILL');
    for (const entry of orphans) entry.events.exited(helperFailure(entry, this.pid, why));
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
    this.#ref(false);
    this.#markUp(false);
    this.#markGone();
  }

  /** An idle helper must not keep the host's event loop alive; a busy one must, like a direct child. */
  #ref(on: boolean): void {
    if (on) {
      this.#child.ref();
      this.#channel.ref();
    } else {
      this.#child.unref();
      this.#channel.unref();
    }
  }

  #syncEnv(): void {
    const changed = this.#env.update();
    if (changed) this.#send(envFrame(changed));
  }
}
