/**
 * The helper as an OS process: spawned detached with the channel on fd 3,
 * given HELPER_START_TIMEOUT_MS to say hello, killed with a reason when the
 * host gives up on it, and described, once it has closed, in words for the
 * agents it leaves behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { HelperCommand } from './helper-command.ts';
import { describeEnd } from './helper-failure.ts';
import { CHANNEL_FD } from './wire.ts';

/**
 * A helper that has not said hello by then is stuck (a broken install, a
 * wedged loader) and is killed, so that neither `Spawner.ready` nor the
 * launches queued on it wait for ever. A start takes ~1 s from source on 2
 * busy cores; 30 s leaves room for a machine far busier than that.
 */
export const HELPER_START_TIMEOUT_MS = 30_000;

export class HelperChild {
  readonly #child: ChildProcess;
  /** The channel; undefined when Node could not make it (EMFILE), and then the child fails to start. */
  readonly socket: Socket | undefined;
  #spawnError: Error | undefined;
  // Set when the host killed the helper, for a message that says why.
  #killedBecause: string | undefined;
  /** Settles true once the helper has said hello (it reads requests), false if it died first. */
  readonly started: Promise<boolean>;
  #markStarted!: (up: boolean) => void;
  #up = false;

  /** `onClosed` hears, once, why the helper is gone, after the last frame it sent has been read. */
  constructor(command: HelperCommand, env: Record<string, string>, startTimeoutMs: number, onClosed: (why: string) => void) {
    this.started = new Promise((resolve) => {
      this.#markStarted = (up) => {
        this.#up = up;
        resolve(up);
      };
    });
    // detached: its own session, so a Ctrl-C meant for the host's terminal group does not kill the
    // helper behind the host's back; the host decides, and the channel tells the helper when it is gone.
    // The helper's stdout and stderr are the host's; the pipe at index CHANNEL_FD (3) is the channel.
    this.#child = spawn(command.file, command.args, { stdio: ['ignore', 'inherit', 'inherit', 'pipe'], detached: true, env });
    this.socket = this.#child.stdio?.[CHANNEL_FD] as Socket | undefined;
    this.#child.on('error', (error) => (this.#spawnError = error));
    // 'close' comes after the exit and after every frame the helper sent has been read.
    this.#child.once('close', (code, signal) => {
      this.#markStarted(false);
      onClosed(this.#killedBecause ?? describeEnd(code, signal, this.#spawnError));
    });
    const startTimer = setTimeout(() => this.kill(`did not start within ${startTimeoutMs} ms`), startTimeoutMs);
    void this.started.then(() => clearTimeout(startTimer));
  }

  /** The helper's pid; undefined if it could not be started. */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Past its hello. */
  get up(): boolean {
    return this.#up;
  }

  /** It said hello. */
  markStarted(): void {
    this.#markStarted(true);
  }

  /** Kills it for misbehaving, with a warning, and says why in the agents' messages. */
  kill(why: string): void {
    process.emitWarning(`spawnpool: the launch helper (pid ${this.pid}) ${why}; killing it`);
    this.#killedBecause ??= `was killed (SIGKILL) because it ${why},`;
    this.forceKill();
  }

  forceKill(): void {
    // A child that was never spawned has pid 0 to libuv: kill() would signal the host's own process group.
    if (this.pid !== undefined) this.#child.kill('SIGKILL');
  }

  /** An idle helper must not keep the host's event loop alive; a busy one must, like a direct child. */
  ref(on: boolean): void {
    if (on) {
      this.#child.ref();
      this.socket?.ref();
    } else {
      this.#child.unref();
      this.socket?.unref();
    }
  }
}
