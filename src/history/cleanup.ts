/**
 * Retention: deletes batches (and their agent runs) older than a cutoff, in
 * bounded chunks, one short transaction each, yielding to the event loop
 * between chunks so a cleanup inside a busy spawner does not stall it. Then
 * checks the file and, if asked, VACUUMs it.
 */
import { statSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Database } from 'better-sqlite3';
import { toHistoryError } from './database.ts';
import { parseDuration } from './duration.ts';
import type { CleanupOptions, CleanupReport } from './types.ts';

/** Runs one cleanup. Throws HistoryError on SQLite failures. */
export async function cleanupHistory(db: Database, file: string, options: CleanupOptions): Promise<CleanupReport> {
  const olderThan = parseDuration(options.olderThan, 'the `olderThan` option');
  const chunkSize = options.chunkSize ?? 1000;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`Expected the \`chunkSize\` option to be a positive integer, got \`${String(options.chunkSize)}\``);
  const cutoff = (options.now ?? Date.now()) - olderThan;
  try {
    const bytesBefore = diskBytes(file);
    // Agent runs first (they carry their batch's start time), then the batches: a chunk never exceeds chunkSize rows.
    const agentRuns = await deleteInChunks(db, 'agent_runs', cutoff, chunkSize, options.signal);
    const batches = agentRuns.complete ? await deleteInChunks(db, 'batches', cutoff, chunkSize, options.signal) : { removed: 0, chunks: 0, complete: false };
    const complete = agentRuns.complete && batches.complete;
    const vacuumed = complete && options.vacuum === true;
    if (vacuumed) db.exec('VACUUM');
    // Folds the WAL back into the file and truncates it; a reader in another process may keep it from finishing, which is harmless.
    db.pragma('wal_checkpoint(TRUNCATE)');
    const check = options.check ?? 'integrity';
    const integrity = complete && check !== false ? runCheck(db, check) : 'skipped';
    const bytesAfter = diskBytes(file);
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const freePages = db.pragma('freelist_count', { simple: true }) as number;
    return {
      cutoff: new Date(cutoff).toISOString(),
      batchesRemoved: batches.removed,
      agentRunsRemoved: agentRuns.removed,
      chunks: agentRuns.chunks + batches.chunks,
      complete,
      bytesBefore,
      bytesAfter,
      bytesReclaimed: Math.max(0, bytesBefore - bytesAfter),
      freeBytes: pageSize * freePages,
      integrity,
      vacuumed,
    };
  } catch (error) {
    throw toHistoryError(error, file, 'clean up');
  }
}

async function deleteInChunks(db: Database, table: 'agent_runs' | 'batches', cutoff: number, chunkSize: number, signal: AbortSignal | undefined): Promise<{ removed: number; chunks: number; complete: boolean }> {
  const remove = db.prepare(`DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE started_at < ? LIMIT ?)`);
  // IMMEDIATE, like the writer: no lock upgrade that could fail without waiting.
  const chunk = db.transaction(() => remove.run(cutoff, chunkSize).changes);
  let removed = 0;
  let chunks = 0;
  for (;;) {
    if (signal?.aborted) return { removed, chunks, complete: false };
    const n = chunk.immediate();
    if (n === 0) return { removed, chunks, complete: true };
    removed += n;
    chunks++;
    await yieldToLoop();
  }
}

function runCheck(db: Database, check: 'integrity' | 'quick'): 'ok' | string[] {
  const problems = db.pragma(check === 'quick' ? 'quick_check' : 'integrity_check', { simple: false }) as Record<string, string>[];
  const lines = problems.map((row) => Object.values(row)[0] ?? '');
  const fk = db.pragma('foreign_key_check') as unknown[];
  if (fk.length > 0) lines.push(`${fk.length} agent run(s) point at a missing batch`);
  return lines.length === 1 && lines[0] === 'ok' ? 'ok' : lines.filter((l) => l !== 'ok');
}

function diskBytes(file: string): number {
  let total = 0;
  for (const f of [file, `${file}-wal`]) {
    try {
      total += statSync(f).size;
    } catch {
      // No WAL file (yet): it counts as 0.
    }
  }
  return total;
}
