import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { withTempDir } from '../support/fixtures.ts';

const WRITER = fileURLToPath(new URL('./fixtures/history-writer.mjs', import.meta.url));
const BATCHES = 40;

interface WriterReport {
  runId: string;
  batches: number;
  agents: number;
  ok: number;
  spawned: number;
}

/** Starts a writer process; `ready` / `half` settle on those lines, `report` on its JSON line and exit 0. */
function startWriter(file: string, tag: string) {
  const child = spawn(process.execPath, [WRITER, file, String(BATCHES), tag], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const received: string[] = [];
  let onReady!: () => void;
  let onHalf!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const half = new Promise<void>((resolve) => (onHalf = resolve));
  lines.on('line', (line) => {
    received.push(line);
    if (line === 'ready') onReady();
    if (line === 'half') onHalf();
  });
  const report = once(child, 'exit').then(([code]) => {
    if (code !== 0) throw new Error(`writer ${tag} exited with ${String(code)}: ${received.join('\n')}`);
    return JSON.parse(received.at(-1)!) as WriterReport;
  });
  // The last "go" also ends stdin, which the writer would otherwise keep open and never exit.
  return { child, ready, half, report, go: (last = false) => (last ? child.stdin!.end('go\n') : child.stdin!.write('go\n')) };
}

describe('two processes writing one history', () => {
  it('loses nothing (WAL, busy timeout)', { timeout: 300_000 }, async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'shared.db');
      const writers = [startWriter(file, 'a'), startWriter(file, 'b')];
      try {
        await Promise.all(writers.map((w) => w.ready));
        for (const w of writers) w.go();
        // Both commit their first half before either writes its second: the two runs must interleave in the table.
        await Promise.all(writers.map((w) => w.half));
        for (const w of writers) w.go(true);
        const reports = await Promise.all(writers.map((w) => w.report));

        const db = new Database(file, { readonly: true });
        try {
          expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
          const count = (sql: string, ...params: unknown[]) =>
            db
              .prepare(sql)
              .pluck()
              .get(...params) as number;
          for (const r of reports) {
            expect(r.agents).toBe(BATCHES * 3);
            expect(count('SELECT count(*) FROM batches WHERE run_id = ?', r.runId)).toBe(BATCHES);
            const byRun = 'FROM agent_runs a JOIN batches b ON b.id = a.batch_id WHERE b.run_id = ?';
            expect(count(`SELECT count(*) ${byRun}`, r.runId)).toBe(r.agents);
            expect(count(`SELECT count(*) ${byRun} AND a.ok = 1`, r.runId)).toBe(r.ok);
            expect(count(`SELECT count(*) ${byRun} AND a.spawned = 1`, r.runId)).toBe(r.spawned);
          }
          expect(count('SELECT count(*) FROM agent_runs')).toBe(2 * BATCHES * 3);
          const order = db.prepare('SELECT run_id FROM batches ORDER BY id').pluck().all() as string[];
          const switches = order.filter((id, i) => i > 0 && id !== order[i - 1]).length;
          expect(switches).toBeGreaterThan(1);
        } finally {
          db.close();
        }
      } finally {
        for (const w of writers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
      }
    });
  });
});
