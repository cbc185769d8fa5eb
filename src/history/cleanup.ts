/**
 * Retention: checks the file first and changes nothing if it is damaged;
 * then deletes batches older than a cutoff together with their agent runs,
 * whole batches per short transaction (a batch never loses its runs without
 * going itself), yielding to the event loop between chunks so a cleanup
 * inside a busy spawner does not stall it; then, if asked, VACUUMs it.
 */
import { statSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Database } from 'better-sqlite3';
import { toHistoryError } from './database.ts';
import { parseDuration } from './duration.ts';
import type { CleanupOptions, CleanupReport } from './types.ts';

/**
 * Runs one cleanup. `beforeWrite` runs once the check has passed, before the
 * first write (the deferred schema migration). Throws HistoryError on SQLite
 * failures; damage found by a read throws E_HISTORY_CORRUPT, also before
 * anything was written.
 */
export async function cleanupHistory(db: Database, file: string, options: CleanupOptions, beforeWrite: () => void = () => {}): Promise<CleanupReport> {
  const olderThan = parseDuration(options.olderThan, 'the `olderThan` option');
  const chunkSize = options.chunkSize ?? 1000;
  if (!Number.isInteger(chunkSize) || chunkSize < 1)
    throw new RangeError(`Expected the \`chunkSize\` option to be a positive integer, got \`${String(options.chunkSize)}\``);
  const cutoff = (options.now ?? Date.now()) - olderThan;
  try {
    const bytesBefore = diskBytes(file);
    const check = options.check ?? 'integrity';
    // First: deleting through a damaged index can remove rows it should not, or stop half-way.
    const integrity = check === false ? 'skipped' : runCheck(db, check);
    if (integrity !== 'ok' && integrity !== 'skipped') {
      return {
        cutoff: new Date(cutoff).toISOString(),
        batchesRemoved: 0,
        agentRunsRemoved: 0,
        chunks: 0,
        complete: false,
        bytesBefore,
        bytesAfter: bytesBefore,
        bytesReclaimed: 0,
        freeBytes: freeBytes(db),
        integrity,
        vacuumed: false,
      };
    }
    beforeWrite();
    const removed = await deleteInChunks(db, cutoff, chunkSize, options.signal);
    const vacuumed = removed.complete && options.vacuum === true;
    if (vacuumed) db.exec('VACUUM');
    // Folds the WAL back into the file and truncates it; a reader in another process may keep it from finishing, which is harmless.
    db.pragma('wal_checkpoint(TRUNCATE)');
    const bytesAfter = diskBytes(file);
    return {
      cutoff: new Date(cutoff).toISOString(),
      batchesRemoved: removed.batches,
      agentRunsRemoved: removed.agentRuns,
      chunks: removed.chunks,
      complete: removed.complete,
      bytesBefore,
      bytesAfter,
      bytesReclaimed: Math.max(0, bytesBefore - bytesAfter),
      freeBytes: freeBytes(db),
      integrity: removed.complete ? integrity : 'skipped',
      vacuumed,
    };
  } catch (error) {
    throw toHistoryError(error, file, 'clean up');
  }
}

interface Removed {
  batches: number;
  agentRuns: number;
  chunks: number;
  complete: boolean;
}

/** Whole batches per transaction, as many as fit in `chunkSize` agent runs (at least one). */
async function deleteInChunks(db: Database, cutoff: number, chunkSize: number, signal: AbortSignal | undefined): Promise<Removed> {
  const pick = db
    .prepare('SELECT b.id, (SELECT count(*) FROM agent_runs a WHERE a.batch_id = b.id) FROM batches b WHERE b.started_at < ? ORDER BY b.id LIMIT ?')
    .raw();
  const removeRuns = db.prepare('DELETE FROM agent_runs WHERE batch_id IN (SELECT value FROM json_each(?))');
  const removeBatches = db.prepare('DELETE FROM batches WHERE id IN (SELECT value FROM json_each(?))');
  // IMMEDIATE, like the writer: no lock upgrade that could fail without waiting.
  const chunk = db.transaction((): { batches: number; agentRuns: number } => {
    const ids: number[] = [];
    let rows = 0;
    for (const [id, runs] of pick.all(cutoff, chunkSize) as [number, number][]) {
      if (ids.length > 0 && rows + runs > chunkSize) break;
      ids.push(id);
      rows += runs;
    }
    if (ids.length === 0) return { batches: 0, agentRuns: 0 };
    const list = JSON.stringify(ids);
    const agentRuns = removeRuns.run(list).changes;
    return { batches: removeBatches.run(list).changes, agentRuns };
  });
  const removed: Removed = { batches: 0, agentRuns: 0, chunks: 0, complete: false };
  for (;;) {
    if (signal?.aborted) return removed;
    const n = chunk.immediate();
    if (n.batches === 0) return { ...removed, complete: true };
    removed.batches += n.batches;
    removed.agentRuns += n.agentRuns;
    removed.chunks++;
    await yieldToLoop();
  }
}

function freeBytes(db: Database): number {
  return (db.pragma('page_size', { simple: true }) as number) * (db.pragma('freelist_count', { simple: true }) as number);
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
