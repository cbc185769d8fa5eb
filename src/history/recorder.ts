/**
 * Turns a batch into history rows. Timings come from the records drained
 * from the metrics ring (the same figures every exporter sees); outcomes come
 * from the batch's results, so there is exactly one row per agent even if
 * the ring lost a record (its timings are then NULL, not invented).
 */
import os from 'node:os';
import type { Batch } from '../batch/batch.ts';
import type { AgentResult, BatchSummary } from '../batch/types.ts';
import { wallClockMs } from '../metrics/record.ts';
import type { NamedRecord, QueuedBatch, SpawnerMetrics } from '../metrics/spawner-metrics.ts';
import type { AgentRow, BatchEntry } from './rows.ts';

/** What the ring told us about one agent of a tracked batch. */
interface AgentTimings {
  queueMs?: number;
  buildMs?: number;
  spawned?: boolean;
  spawnMs?: number;
  spawnedAt?: number;
  runMs?: number;
  exitedAt?: number;
}

interface Tracked {
  // When the batch was queued (metrics.beginBatch); until then, the earliest time seen.
  startedAt: number;
  agents: Map<string, AgentTimings>;
}

export class BatchRecorder {
  readonly #runId: string;
  readonly #onBatch: (entry: BatchEntry) => void;
  readonly #unsubscribe: (() => void)[];
  // Batches whose results have not settled yet, by batch id (the spawner's ids, so never reused).
  readonly #tracked = new Map<number, Tracked>();
  // Settle when the matching batch's rows were handed to onBatch.
  readonly #pending = new Set<Promise<void>>();

  constructor(metrics: SpawnerMetrics, onBatch: (entry: BatchEntry) => void) {
    this.#runId = metrics.runId;
    this.#onBatch = onBatch;
    this.#unsubscribe = [metrics.onBatch((b) => this.#onQueued(b)), metrics.subscribe((record) => this.#onRecord(record))];
  }

  /** Records `batch` once every agent has exited. Call right after the batch is created. */
  track(batch: Batch): void {
    const tracked = this.#entry(batch.batchId);
    tracked.startedAt = Math.min(tracked.startedAt, wallClockMs());
    const done = Promise.all([batch.summary, batch.results]).then(([summary, results]) => this.#finish(batch.batchId, summary, results));
    this.#pending.add(done);
    void done.finally(() => this.#pending.delete(done));
  }

  /** Settles when every tracked batch has been handed over. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  close(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
  }

  #onQueued(b: QueuedBatch): void {
    // The batch's own start, before any record or track().
    this.#entry(b.batchId).startedAt = b.queuedAt;
  }

  #onRecord(r: NamedRecord): void {
    // Every batch of the spawner is tracked, but an already-aborted one writes records before track() runs.
    const tracked = this.#entry(r.batchId);
    let t = tracked.agents.get(r.agent);
    if (t === undefined) tracked.agents.set(r.agent, (t = {}));
    switch (r.stage) {
      case 'build':
        t.buildMs = r.buildMs;
        // The SPAWN record's queue wait wins (every agent has one); this one only if that record is lost.
        t.queueMs ??= r.queueMs;
        break;
      case 'spawn':
        t.spawned = r.ok;
        t.spawnMs = r.spawnMs;
        t.queueMs = r.queueMs;
        if (r.ok) t.spawnedAt = r.timestamp;
        break;
      case 'exit':
        t.runMs = r.runMs;
        t.exitedAt = r.timestamp;
        break;
    }
  }

  #entry(batchId: number): Tracked {
    let tracked = this.#tracked.get(batchId);
    if (tracked === undefined) this.#tracked.set(batchId, (tracked = { startedAt: Number.POSITIVE_INFINITY, agents: new Map() }));
    return tracked;
  }

  #finish(batchId: number, summary: BatchSummary, results: AgentResult[]): void {
    const tracked = this.#tracked.get(batchId)!;
    this.#tracked.delete(batchId);
    const startedAt = tracked.startedAt;
    const agents = results.map((r) => agentRow(r, tracked.agents.get(r.name) ?? {}));
    const spawned = agents.filter((a) => a.spawned === true).length;
    const succeeded = agents.filter((a) => a.ok).length;
    const endedAt = Math.max(startedAt + summary.wallMs, ...agents.map((a) => a.exitedAt ?? 0));
    this.#onBatch({
      batch: {
        runId: this.#runId,
        batchSeq: batchId,
        host: os.hostname(),
        pid: process.pid,
        startedAt: Math.round(startedAt),
        endedAt: Math.round(endedAt),
        total: agents.length,
        spawned,
        succeeded,
        failed: agents.length - succeeded,
        wallMs: summary.wallMs,
      },
      agents,
    });
  }
}

function agentRow(r: AgentResult, t: AgentTimings): AgentRow {
  const spawned = t.spawned ?? null;
  return {
    agent: r.name,
    index: r.index,
    ok: r.ok,
    spawned,
    stage: r.stage ?? null,
    errorCode: r.error?.code ?? null,
    pid: r.pid ?? null,
    exitCode: r.exitCode ?? null,
    signal: r.signal ?? null,
    timedOut: r.timedOut,
    queueMs: t.queueMs ?? null,
    buildMs: t.buildMs ?? null,
    launchMs: null,
    spawnMs: t.spawnMs ?? null,
    runMs: t.runMs ?? null,
    spawnedAt: t.spawnedAt === undefined ? null : Math.round(t.spawnedAt),
    exitedAt: t.exitedAt === undefined ? null : Math.round(t.exitedAt),
  };
}
