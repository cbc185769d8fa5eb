/**
 * JSON lines export: one line per ring record, appended to a file. Records
 * are only queued while the ring drains (that happens on the spawn path);
 * serialising and writing happen later, on a short unref'd timer, through an
 * async file stream.
 */
import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { ConfigError } from '../errors.ts';
import type { NamedRecord, SpawnerMetrics } from '../metrics/spawner-metrics.ts';

/** One line of the file. Times are ms; which durations are set depends on `stage`. */
export interface JsonlLine {
  /** ISO time of the event. */
  time: string;
  /** The spawner's run id: the same in the history (`batches.run_id`), `--json` and `spawnpool_spawner_info`. */
  runId: string;
  /** pid of the process that ran the spawner (not the agent's: see `pid`). */
  hostPid: number;
  /** The spawner's batch id (`batches.batch_seq` in the history); (runId, batchId) names one batch. */
  batchId: number;
  /** Ring record stage: build (prompt built), spawn (agent spawned, or failed to), exit (agent exited). */
  stage: 'build' | 'spawn' | 'exit';
  agent: string;
  ok: boolean;
  /** Error code when !ok. */
  error: string | null;
  /** The agent's pid (spawn and exit lines). */
  pid: number | null;
  /** build and spawn: queue wait, the batch start to the build starting (spawn lines carry it for every agent). */
  queueMs?: number;
  /** build: prompt build time. */
  buildMs?: number;
  /** spawn: spawn latency, the build starting to spawned (queue wait not included). */
  spawnMs?: number;
  /** exit: spawned to exit. */
  runMs?: number;
  /** exit: exit code, null when killed by a signal. */
  exitCode?: number | null;
  /** Thread that wrote the record: 0 is the main thread. */
  thread: number;
}

export interface JsonlOptions {
  /** Longest a record waits before it is written. Default 100 ms. */
  flushIntervalMs?: number;
  /** Queued records that trigger a write at once. Default 1000. */
  maxQueued?: number;
}

/** Converts a decoded record to its line. */
export function jsonlLine(r: NamedRecord, runId: string, hostPid = process.pid): JsonlLine {
  const base = {
    time: new Date(r.timestamp).toISOString(),
    runId,
    hostPid,
    batchId: r.batchId,
    stage: r.stage,
    agent: r.agent,
    ok: r.ok,
    error: r.error ?? (r.ok ? null : `#${r.errorCode}`),
    pid: r.pid === 0 ? null : r.pid,
  };
  switch (r.stage) {
    case 'build':
      return { ...base, queueMs: r.queueMs, buildMs: r.buildMs, thread: r.writerThreadId };
    case 'spawn':
      return { ...base, queueMs: r.queueMs, spawnMs: r.spawnMs, thread: r.writerThreadId };
    case 'exit':
      return { ...base, runMs: r.runMs, exitCode: r.exitCode, thread: r.writerThreadId };
  }
}

/**
 * Appends every record of a spawner to a JSON lines file until `close()`.
 *
 * @example
 * const out = new JsonlWriter(spawner.metrics, 'spawns.jsonl');
 * // ... run batches ...
 * await spawner.close();
 * await out.close(); // writes what is still queued
 */
export class JsonlWriter {
  readonly file: string;
  readonly #runId: string;
  readonly #stream: WriteStream;
  readonly #unsubscribe: () => void;
  readonly #flushIntervalMs: number;
  readonly #maxQueued: number;
  // Records drained but not yet handed to the stream.
  #queue: NamedRecord[] = [];
  #timer: NodeJS.Timeout | undefined;
  #lines = 0;
  #error: Error | undefined;
  #closed: Promise<void> | undefined;

  constructor(metrics: SpawnerMetrics, file: string, options: JsonlOptions = {}) {
    this.file = file;
    this.#runId = metrics.runId;
    this.#flushIntervalMs = options.flushIntervalMs ?? 100;
    this.#maxQueued = options.maxQueued ?? 1000;
    let fd: number;
    try {
      // Opened at once, so a bad path fails here and not after the batch.
      fd = openSync(file, 'a');
    } catch (error) {
      throw new ConfigError(`Cannot open the JSON lines file "${file}": ${(error as Error).message}`, { file, cause: error });
    }
    this.#stream = createWriteStream(file, { fd });
    // Kept for close(): a stream error must not crash the host, nor be lost.
    this.#stream.on('error', (error) => (this.#error ??= error));
    this.#unsubscribe = metrics.subscribe((record) => this.#enqueue(record));
  }

  /** Lines handed to the file so far. */
  get lines(): number {
    return this.#lines;
  }

  /** Hands every queued record to the file stream. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#queue.length === 0) return;
    const batch = this.#queue;
    this.#queue = [];
    let text = '';
    for (const record of batch) text += `${JSON.stringify(jsonlLine(record, this.#runId))}\n`;
    this.#lines += batch.length;
    this.#stream.write(text);
  }

  /** Stops listening, writes what is queued and closes the file. Rejects if a write failed. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#unsubscribe();
      this.flush();
      if (!this.#stream.destroyed) {
        this.#stream.end();
        await once(this.#stream, 'close').catch(() => {});
      }
      if (this.#error) throw this.#error;
    })();
    return this.#closed;
  }

  #enqueue(record: NamedRecord): void {
    this.#queue.push(record);
    if (this.#queue.length === this.#maxQueued) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    // The file must not keep the host alive; close() writes what is left.
    this.#timer ??= setTimeout(() => this.flush(), this.#queue.length >= this.#maxQueued ? 0 : this.#flushIntervalMs).unref();
  }
}
