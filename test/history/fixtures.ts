/** Synthetic history rows with chosen times, written through the real writer. */
import { openHistoryDatabase } from '../../src/history/database.ts';
import type { AgentRow, BatchEntry } from '../../src/history/rows.ts';
import { HistoryWriter } from '../../src/history/store.ts';

export const DAY_MS = 86_400_000;

export function agentRow(agent: string, index: number, spawnMs: number | null, ok = true): AgentRow {
  const spawned = spawnMs !== null;
  return {
    agent, index, ok: ok && spawned, spawned, stage: !spawned ? 'spawn' : ok ? null : 'run', errorCode: !spawned ? 'E_ENOENT' : ok ? null : 'E_EXIT',
    pid: spawned ? 1000 + index : null, exitCode: spawned ? (ok ? 0 : 1) : null, signal: null, timedOut: false,
    queueMs: 0.5, buildMs: 1, launchMs: spawned ? 2 : null, spawnMs, runMs: spawned ? 10 : null,
    spawnedAt: null, exitedAt: null,
  };
}

export function entry(startedAt: number, agents: AgentRow[], batchSeq: number, runId = 'fixture'): BatchEntry {
  const succeeded = agents.filter((a) => a.ok).length;
  return {
    batch: { runId, batchSeq, host: 'test', pid: 1, startedAt, endedAt: startedAt + 100, total: agents.length, spawned: agents.filter((a) => a.spawned).length, succeeded, failed: agents.length - succeeded, wallMs: 50 },
    agents,
  };
}

/** Writes the entries into `file` (created if needed) in one transaction. */
export function writeEntries(file: string, entries: BatchEntry[]): void {
  const db = openHistoryDatabase(file);
  try {
    const writer = new HistoryWriter(db, file);
    for (const e of entries) writer.add(e);
    writer.flush();
  } finally {
    db.close();
  }
}
