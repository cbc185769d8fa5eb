/**
 * Per-batch figures for the exporters, from what the metrics already say: a
 * batch is queued with its agents, and it has ended once each of them has
 * its last record (a failed SPAWN, or an EXIT). A batch one of whose records
 * the ring lost never ends here (the ring's dropped counter says so).
 */
import type { NamedRecord, QueuedBatch, SpawnerMetrics } from '../metrics/spawner-metrics.ts';
import type { LastBatchKey } from './instruments.ts';

/** The figures of one ended batch. */
export interface BatchFigures {
  batchId: number;
  agents: number;
  spawned: number;
  /** Spawned and exited with code 0. */
  succeeded: number;
  /** Wall-clock ms: queued, and its last agent's last record. */
  startedAt: number;
  endedAt: number;
}

interface Open {
  figures: BatchFigures;
  ended: number;
}

export class BatchTally {
  /** The last batch that ended, if any. */
  last: BatchFigures | undefined;
  readonly #open = new Map<number, Open>();
  readonly #unsubscribe: (() => void)[];
  readonly #onEnd: ((figures: BatchFigures) => void) | undefined;

  constructor(metrics: SpawnerMetrics, onEnd?: (figures: BatchFigures) => void) {
    this.#onEnd = onEnd;
    this.#unsubscribe = [metrics.onBatch((b) => this.#queued(b)), metrics.subscribe((r) => this.#record(r))];
  }

  close(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
  }

  #queued(b: QueuedBatch): void {
    const figures: BatchFigures = { batchId: b.batchId, agents: b.agents.length, spawned: 0, succeeded: 0, startedAt: b.queuedAt, endedAt: b.queuedAt };
    if (figures.agents === 0) this.#end(figures);
    else this.#open.set(b.batchId, { figures, ended: 0 });
  }

  #record(r: NamedRecord): void {
    const open = this.#open.get(r.batchId);
    if (open === undefined || r.stage === 'build') return;
    const f = open.figures;
    f.endedAt = Math.max(f.endedAt, r.timestamp);
    if (r.stage === 'spawn') {
      if (r.ok) f.spawned++;
      else open.ended++;
    } else {
      if (r.ok) f.succeeded++;
      open.ended++;
    }
    if (open.ended === f.agents) {
      this.#open.delete(r.batchId);
      this.#end(f);
    }
  }

  #end(figures: BatchFigures): void {
    this.last = figures;
    this.#onEnd?.(figures);
  }
}

/** A last-batch gauge's value: 0 until a batch has ended. */
export function lastBatchValue(tally: BatchTally, key: LastBatchKey): number {
  const last = tally.last;
  if (last === undefined) return 0;
  switch (key) {
    case 'agents':
      return last.agents;
    case 'spawned':
      return last.spawned;
    case 'succeeded':
      return last.succeeded;
    case 'duration':
      return Math.max(0, last.endedAt - last.startedAt) / 1000;
    case 'end':
      return last.endedAt / 1000;
  }
}
