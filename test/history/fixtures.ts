/** Synthetic history rows with chosen times, written through the real writer; the sqlite3 CLI and file damage for the checks. */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { openHistoryDatabase } from '../../src/history/database.ts';
import type { AgentRow, BatchEntry } from '../../src/history/rows.ts';
import { HistoryWriter } from '../../src/history/store.ts';

export const DAY_MS = 86_400_000;

export function agentRow(agent: string, index: number, spawnMs: number | null, ok = true): AgentRow {
  const spawned = spawnMs !== null;
  return {
    agent,
    index,
    ok: ok && spawned,
    spawned,
    stage: !spawned ? 'spawn' : ok ? null : 'run',
    errorCode: !spawned ? 'E_ENOENT' : ok ? null : 'E_EXIT',
    pid: spawned ? 1000 + index : null,
    exitCode: spawned ? (ok ? 0 : 1) : null,
    signal: null,
    timedOut: false,
    queueMs: 0.5,
    buildMs: 1,
    launchMs: spawned ? 2 : null,
    spawnMs,
    runMs: spawned ? 10 : null,
    spawnedAt: null,
    exitedAt: null,
  };
}

export function entry(startedAt: number, agents: AgentRow[], batchSeq: number, runId = 'fixture'): BatchEntry {
  const succeeded = agents.filter((a) => a.ok).length;
  return {
    batch: {
      runId,
      batchSeq,
      host: 'test',
      pid: 1,
      startedAt,
      endedAt: startedAt + 100,
      total: agents.length,
      spawned: agents.filter((a) => a.spawned).length,
      succeeded,
      failed: agents.length - succeeded,
      wallMs: 50,
    },
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

/** The real sqlite3 CLI (Debian package sqlite3; .ci/run installs it when missing), read-only unless `write`. Resolves with stdout, trimmed. */
export function sqlite3(file: string, sql: string, { json = false, write = false } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const args = [...(write ? [] : ['-readonly']), ...(json ? ['-json'] : []), file, sql];
    execFile(process.env.SQLITE3 ?? 'sqlite3', args, (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT')
        reject(new Error('sqlite3 not found on PATH: install the sqlite3 package (.ci/run does when it is missing)'));
      else if (error) reject(new Error(`sqlite3 ${args.join(' ')}: ${stderr || error.message}`));
      else resolve(stdout.trim());
    });
  });
}

/** sha256 of a file's bytes. */
export function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * Damages one leaf page of index `index` (the sqlite3 CLI's dbstat table says which): its last quarter, where the
 * cells are, gets every byte changed. The file opens and its tables read; its integrity check lists rows missing
 * from the index. Returns the page number.
 */
export async function damageIndex(file: string, index: string): Promise<number> {
  const page = Number(await sqlite3(file, `SELECT pageno FROM dbstat WHERE name = '${index}' AND pagetype = 'leaf' ORDER BY pageno LIMIT 1 OFFSET 1`));
  if (!(page > 1)) throw new Error(`${file}: index ${index} has fewer than two leaf pages`);
  const pageSize = Number(await sqlite3(file, 'PRAGMA page_size'));
  const bytes = readFileSync(file);
  for (let i = (page - 1) * pageSize + (pageSize * 3) / 4; i < page * pageSize; i++) bytes[i] = (bytes[i]! + 1) & 255;
  writeFileSync(file, bytes);
  return page;
}
