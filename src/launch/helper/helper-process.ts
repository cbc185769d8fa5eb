/**
 * The host's side of one helper process: sends launch and abort requests,
 * turns its frames back into launch events, and, if it dies, kills the agent
 * trees it had started and fails them with E_LAUNCHER. The process itself
 * (start, start timeout, kill) is helper-child.ts; the channel's framing,
 * helper-channel.ts; the launches awaiting their exit, inflight-table.ts.
 */
import { wallClockMs } from '../../metrics/record.ts';
import { signalTree } from '../process-tree.ts';
import type { LaunchEvents, LaunchHandle, LaunchRequest } from '../types.ts';
import { EnvMirror } from './env-mirror.ts';
import { HelperChannel } from './helper-channel.ts';
import { HELPER_START_TIMEOUT_MS, HelperChild } from './helper-child.ts';
import type { HelperCommand } from './helper-command.ts';
import { helperFailure, type InFlight } from './helper-failure.ts';
import { InFlightTable } from './inflight-table.ts';
import { abortFrame, envFrame, launchFrame, readExited, readOutput, readSpawned, stdinEndFrame, stdinFrame } from './messages.ts';
import { FRAME, type Frame } from './wire.ts';

export class HelperProcess {
  readonly #child: HelperChild;
  readonly #channel: HelperChannel;
  readonly #inflight = new InFlightTable();
  // Follows process.env, so agents get the host's environment as it is at launch.
  readonly #env = new EnvMirror();
  // Why the helper is gone; set once, when both its exit and the channel's end have been seen.
  #death: string | undefined;
  /** Settles when the helper process is gone and every in-flight agent has been failed. */
  readonly gone: Promise<void>;
  #markGone!: () => void;

  constructor(command: HelperCommand, startTimeoutMs = HELPER_START_TIMEOUT_MS) {
    this.gone = new Promise((resolve) => (this.#markGone = resolve));
    this.#child = new HelperChild(command, this.#env.sent, startTimeoutMs, (why) => this.#die(why));
    this.#channel = new HelperChannel(
      this.#child.socket,
      (frame) => this.#onFrame(frame),
      (why) => this.#child.kill(why),
    );
    // Referenced while starting, so awaiting `started` keeps the host alive; unreferenced once up and idle.
    void this.started.then(() => {
      if (this.#inflight.size === 0) this.#child.ref(false);
    });
  }

  /** Settles true once the helper has said hello (it reads requests), false if it died first. */
  get started(): Promise<boolean> {
    return this.#child.started;
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
    return this.#child.up && this.#death === undefined;
  }

  /** Launches sent that have not reported a pid (or an exit) yet: the helper's queue of forks. */
  get pendingSpawns(): number {
    return this.#inflight.pendingSpawns;
  }

  get inFlight(): number {
    return this.#inflight.size;
  }

  launch(request: LaunchRequest, events: LaunchEvents): LaunchHandle {
    if (this.#death !== undefined) {
      const why = this.#death;
      const entry: InFlight = { agent: request.agent, events, pid: undefined, spawnedAt: 0, aborted: false };
      queueMicrotask(() => events.exited(helperFailure(entry, this.pid, why)));
      return { abort: () => {} };
    }
    const { id, entry } = this.#inflight.add(request.agent, events);
    this.#child.ref(true);
    this.#syncEnv();
    // The host's cwd now, not the helper's at its start: both launchers resolve a missing cwd the same way.
    this.#channel.send(launchFrame(id, { ...request, cwd: request.cwd ?? process.cwd() }));
    return {
      abort: () => {
        if (entry.aborted || !this.#inflight.has(id)) return;
        entry.aborted = true;
        this.#channel.send(abortFrame(id));
      },
      write: (data) => {
        if (this.#inflight.has(id)) this.#channel.send(stdinFrame(id, data));
      },
      end: () => {
        if (this.#inflight.has(id)) this.#channel.send(stdinEndFrame(id));
      },
    };
  }

  /** Stops every agent it runs, waits for their exits, then lets the helper exit. Idempotent. */
  async close(): Promise<void> {
    if (this.#death === undefined && this.#inflight.size > 0) {
      for (const id of this.#inflight.ids()) this.#channel.send(abortFrame(id));
      await this.#inflight.whenEmpty();
    }
    if (this.#death === undefined) {
      this.#child.ref(true);
      this.#channel.end();
      // The helper exits at the end of its channel; one that does not is stuck and is killed.
      const stuck = setTimeout(() => this.#child.forceKill(), 5000);
      await this.gone;
      clearTimeout(stuck);
    }
    await this.gone;
  }

  #onFrame(frame: Frame): void {
    if (frame.type === FRAME.hello) {
      this.#child.markStarted();
      return;
    }
    const entry = this.#inflight.get(frame.id);
    if (entry === undefined) return;
    // Events are stamped with the host's clock on arrival: every figure of a batch then uses one clock,
    // and includes the trip back over the channel, which is part of what the host waits for.
    switch (frame.type) {
      case FRAME.spawned:
        this.#inflight.spawned(entry, readSpawned(frame).pid);
        entry.events.spawned(entry.pid!, entry.spawnedAt);
        return;
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
        if (this.#inflight.forget(frame.id, entry) && this.#child.up) this.#child.ref(false);
        entry.events.exited(exit);
        return;
      }
      default:
        this.#child.kill(`sent a frame of type ${frame.type}, which only the host sends`);
    }
  }

  #die(why: string): void {
    if (this.#death !== undefined) return;
    this.#death = why;
    const orphans = this.#inflight.takeAll();
    // The helper can no longer stop what it started: the host does, so nothing outlives it.
    for (const entry of orphans) if (entry.pid !== undefined) signalTree(entry.pid, 'SIGKILL');
    for (const entry of orphans) entry.events.exited(helperFailure(entry, this.pid, why));
    this.#child.ref(false);
    this.#markGone();
  }

  #syncEnv(): void {
    const changed = this.#env.update();
    if (changed) this.#channel.send(envFrame(changed));
  }
}
