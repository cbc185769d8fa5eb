/** Shared by the harness tests: runs from specs and task rows, sh agents that leave proof of when they ran, the history's rows. */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { harnessRuns } from '../../src/harness/runs.ts';
import type { HarnessRun } from '../../src/harness/types.ts';
import type { Harness } from '../../src/harness/harness.ts';
import type { AttemptOutcome, HarnessSummary } from '../../src/harness/types.ts';
import { parseTasks } from '../../src/tasks/load-tasks.ts';

/** Runs of `agents` over task rows given as objects (JSON lines, as a tasks file would hold them). */
export function runsOf(agents: unknown[], rows?: Record<string, unknown>[], defaults?: unknown): HarnessRun[] {
  const tasks = rows === undefined ? undefined : parseTasks(rows.map((r) => JSON.stringify(r)).join('\n'), { file: 'tasks.jsonl', format: 'jsonl' });
  return harnessRuns({ agents, ...(defaults === undefined ? {} : { defaults }) }, tasks);
}

/** Iterates the harness to its end. */
export async function drain(harness: Harness): Promise<{ attempts: AttemptOutcome[]; summary: HarnessSummary }> {
  const attempts: AttemptOutcome[] = [];
  for await (const a of harness) attempts.push(a);
  return { attempts, summary: await harness.summary };
}

/**
 * An sh agent that writes its start and end times (ns, wall clock) to
 * `<dir>/<name>` after sleeping `seconds`: when the process really ran, as
 * the OS saw it, not as the harness believes.
 */
export function spanAgent(name: string, dir: string, seconds: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    command: '/bin/sh',
    args: ['-c', 'date +%s%N > "$1"; sleep "$2"; date +%s%N >> "$1"', 'sh', path.join(dir, `${name}-{{task.id}}`), String(seconds)],
    ...extra,
  };
}

export interface Span {
  file: string;
  start: number;
  end: number;
}

/** Every span written under `dir`, in ms. */
export async function spans(dir: string): Promise<Span[]> {
  const out: Span[] = [];
  for (const file of await readdir(dir)) {
    const [start, end] = (await readFile(path.join(dir, file), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => Number(l) / 1e6);
    if (start !== undefined && end !== undefined) out.push({ file, start, end });
  }
  return out;
}

/** Most spans alive at the same instant. */
export function maxOverlap(list: readonly Span[]): number {
  const events = list.flatMap((s) => [[s.start, 1] as const, [s.end, -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, d] of events) max = Math.max(max, (now += d));
  return max;
}

/** Reads the history file with its own connection. */
export function query<T = Record<string, unknown>>(db: string, sql: string, ...params: unknown[]): T[] {
  const conn = new Database(db, { readonly: true });
  try {
    return conn.prepare(sql).all(...params) as T[];
  } finally {
    conn.close();
  }
}
