/**
 * The main thread's end of a spawner's launch side: a launch thread for the
 * built-in launchers, or the launch side itself on the main thread for a
 * Launcher instance (an object cannot move to another thread). Batches see
 * one interface either way.
 */
import { SHARE_ENV, Worker } from 'node:worker_threads';
import type { Launcher } from '../launch/types.ts';
import type { AgentEvent, BatchStart, FromLaunchSide, StdinRequest, StopRequest, ToLaunchSide } from '../pipeline/messages.ts';
import { LaunchSide } from '../pipeline/launch-side.ts';
import type { LaunchThreadData } from '../pipeline/thread-data.ts';
import type { BuildPoolOptions } from '../pool/build-pool.ts';
import { isTypeScript, ownEntry, tsxWorkerBootstrap } from '../ts-loader.ts';

const THREAD_URL = ownEntry('launch-thread');

/** Receives the events of one batch, in the order they happened. */
export interface BatchSink {
  event(event: AgentEvent): void;
  /** The launch side is gone: every agent not yet reported ends with this reason. */
  lost(why: string): void;
}

export interface LaunchClient {
  start(message: BatchStart, sink: BatchSink): void;
  stop(request: StopRequest): void;
  stdin(request: StdinRequest): void;
  /** The batch's agents have all exited: it gets no more events. */
  finished(batchId: number): void;
  warmUp(): Promise<void>;
  /** Stops every batch (agents fail as closed), waits for them, frees everything. */
  close(): Promise<void>;
}

/**
 * The launch thread. Referenced (keeps the host alive) only while a batch
 * has agents not yet exited, as a direct child process would; an idle
 * spawner does not keep a host from exiting.
 */
export class ThreadLaunchClient implements LaunchClient {
  readonly #worker: Worker;
  readonly #sinks = new Map<number, BatchSink>();
  readonly #waiters: { ready: (() => void)[]; closed: (() => void)[] } = { ready: [], closed: [] };
  readonly #onEvents: (events: AgentEvent[]) => void;
  #exited: Error | undefined;

  /** `onEvents` runs before the sinks, once per message (the spawner drains the ring there). */
  constructor(data: LaunchThreadData, onEvents: (events: AgentEvent[]) => void) {
    this.#onEvents = onEvents;
    this.#worker = new Worker(isTypeScript(THREAD_URL) ? tsxWorkerBootstrap(THREAD_URL) : THREAD_URL, {
      eval: isTypeScript(THREAD_URL),
      workerData: data,
      // The agents inherit this thread's environment: it must be the host's, as it changes.
      env: SHARE_ENV,
      // The host's flags are not the thread's business.
      execArgv: [],
      // Its warnings and a helper's messages are the host's, as before.
      stdout: false,
      stderr: false,
    });
    this.#worker.unref();
    this.#worker.on('message', (message: FromLaunchSide) => this.#onMessage(message));
    this.#worker.on('error', (error) => this.#fail(error));
    this.#worker.on('exit', (code) => this.#fail(new Error(`the launch thread exited with code ${code}`)));
  }

  start(message: BatchStart, sink: BatchSink): void {
    if (this.#exited) {
      const why = this.#exited.message;
      queueMicrotask(() => sink.lost(why));
      return;
    }
    this.#sinks.set(message.batchId, sink);
    this.#worker.ref();
    this.#post(message);
  }

  stop(request: StopRequest): void {
    this.#post(request);
  }

  stdin(request: StdinRequest): void {
    this.#post(request);
  }

  finished(batchId: number): void {
    this.#sinks.delete(batchId);
    if (this.#sinks.size === 0) this.#worker.unref();
  }

  warmUp(): Promise<void> {
    if (this.#exited) return Promise.resolve();
    this.#worker.ref();
    return new Promise<void>((resolve) => {
      this.#waiters.ready.push(resolve);
      this.#post({ type: 'warmUp' });
    }).then(() => {
      if (this.#sinks.size === 0) this.#worker.unref();
    });
  }

  async close(): Promise<void> {
    if (!this.#exited) {
      this.#worker.ref();
      await new Promise<void>((resolve) => {
        this.#waiters.closed.push(resolve);
        this.#post({ type: 'close' });
      });
    }
    this.#exited ??= new Error('the spawner was closed');
    await this.#worker.terminate();
  }

  #post(message: ToLaunchSide): void {
    if (!this.#exited) this.#worker.postMessage(message);
  }

  #onMessage(message: FromLaunchSide): void {
    switch (message.type) {
      case 'events':
        this.#onEvents(message.events);
        for (const event of message.events) this.#sinks.get(event.batchId)?.event(event);
        return;
      case 'ready':
        for (const resolve of this.#waiters.ready.splice(0)) resolve();
        return;
      case 'closed':
        for (const resolve of this.#waiters.closed.splice(0)) resolve();
        return;
    }
  }

  /** The thread died (a bug, or out of memory): its agents died with it (the watchdog or helper killed them). */
  #fail(error: Error): void {
    if (this.#exited) return;
    this.#exited = error;
    for (const sink of this.#sinks.values()) sink.lost(error.message);
    this.#sinks.clear();
    for (const resolve of [...this.#waiters.ready.splice(0), ...this.#waiters.closed.splice(0)]) resolve();
  }
}

/** A Launcher instance: the launch side runs here, on the main thread. */
export class LocalLaunchClient implements LaunchClient {
  readonly #side: LaunchSide;
  readonly #sinks = new Map<number, BatchSink>();

  constructor(pool: BuildPoolOptions, launcher: Launcher, onEvents: (events: AgentEvent[]) => void) {
    this.#side = new LaunchSide({
      pool,
      launcher,
      threadId: 0,
      // Deferred: a batch's first events must not reach it before spawnBatch() has returned it.
      emit: (event) =>
        queueMicrotask(() => {
          onEvents([event]);
          this.#sinks.get(event.batchId)?.event(event);
        }),
    });
  }

  start(message: BatchStart, sink: BatchSink): void {
    this.#sinks.set(message.batchId, sink);
    this.#side.start(message);
  }

  stop(request: StopRequest): void {
    this.#side.stop(request);
  }

  stdin(request: StdinRequest): void {
    this.#side.stdin(request);
  }

  finished(batchId: number): void {
    this.#sinks.delete(batchId);
  }

  warmUp(): Promise<void> {
    return this.#side.warmUp();
  }

  close(): Promise<void> {
    return this.#side.close();
  }
}
