/**
 * Writes history rows. Batches are queued and written together, one
 * transaction per flush, on a short unref'd timer: never inside the code
 * that spawns agents. A failed flush keeps its rows queued for the next
 * attempt; close() reports the failure instead of dropping them.
 */
import type { Database, Statement } from 'better-sqlite3';
import { toHistoryError } from './database.ts';
import type { BatchEntry } from './rows.ts';

export const DEFAULT_FLUSH_INTERVAL_MS = 200;

export class HistoryWriter {
  readonly #file: string;
  readonly #flushIntervalMs: number;
  readonly #insertBatch: Statement;
  readonly #insertAgent: Statement;
  readonly #writeAll: (entries: BatchEntry[]) => void;
  // Entries not yet committed, oldest first.
  #queue: BatchEntry[] = [];
  #timer: NodeJS.Timeout | undefined;
  #written = { batches: 0, agents: 0 };
  #lastError: Error | undefined;

  constructor(db: Database, file: string, options: { flushIntervalMs?: number } = {}) {
    this.#file = file;
    this.#flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    this.#insertBatch = db.prepare(`INSERT INTO batches (run_id, batch_seq, host, pid, started_at, ended_at, total, spawned, succeeded, failed, wall_ms)
      VALUES (@runId, @batchSeq, @host, @pid, @startedAt, @endedAt, @total, @spawned, @succeeded, @failed, @wallMs)`);
    this.#insertAgent = db.prepare(`INSERT INTO agent_runs (batch_id, agent, idx, started_at, ok, spawned, stage, error_code, pid, exit_code, signal, timed_out,
        queue_ms, build_ms, launch_ms, spawn_ms, run_ms, spawned_at, exited_at, spawn_ms_from)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'build_start')`);
    // Positional parameters, in the column order above: binding named ones from a spread object
    // made a flush of 1000 agent rows take 14.0 ms on the main thread, positional 6.1 ms
    // (median of 15, `npx tsx bench/micro/history-flush.ts` on this and the previous version).
    const tx = db.transaction((entries: BatchEntry[]) => {
      for (const { batch, agents } of entries) {
        const batchId = this.#insertBatch.run(batch).lastInsertRowid;
        for (const a of agents) {
          this.#insertAgent.run(
            batchId,
            a.agent,
            a.index,
            batch.startedAt,
            bit(a.ok),
            a.spawned === null ? null : bit(a.spawned),
            a.stage,
            a.errorCode,
            a.pid,
            a.exitCode,
            a.signal,
            bit(a.timedOut),
            a.queueMs,
            a.buildMs,
            a.launchMs,
            a.spawnMs,
            a.runMs,
            a.spawnedAt,
            a.exitedAt,
          );
        }
      }
    });
    // IMMEDIATE: take the write lock up front; a deferred transaction that must upgrade can fail at once with SQLITE_BUSY.
    this.#writeAll = (entries) => tx.immediate(entries);
  }

  /** Rows committed so far by this writer. */
  get written(): { batches: number; agents: number } {
    return { ...this.#written };
  }

  /** Batches queued, not yet committed. */
  get pending(): number {
    return this.#queue.length;
  }

  /** The error of the last failed background flush, if the queue is still not written. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /** Queues a batch; it is written within the flush interval. */
  add(entry: BatchEntry): void {
    this.#queue.push(entry);
    this.#schedule();
  }

  /** Writes every queued batch in one transaction. Throws HistoryError; the rows then stay queued. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#queue.length === 0) return;
    const entries = this.#queue;
    try {
      this.#writeAll(entries);
    } catch (error) {
      throw (this.#lastError = toHistoryError(error, this.#file, 'write to'));
    }
    this.#lastError = undefined;
    // flush() is synchronous: nothing was queued while it wrote.
    this.#queue = [];
    this.#written.batches += entries.length;
    for (const e of entries) this.#written.agents += e.agents.length;
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      try {
        this.flush();
      } catch (error) {
        // Kept queued; retried with the next batch or at close(), which throws if it still fails.
        process.emitWarning(`spawnpool: history write failed, will retry: ${(error as Error).message}`);
      }
    }, this.#flushIntervalMs);
    // History must not keep the host alive: close() writes what is left.
    this.#timer.unref();
  }
}

function bit(value: boolean): 0 | 1 {
  return value ? 1 : 0;
}
