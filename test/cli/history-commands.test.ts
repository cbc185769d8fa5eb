import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, cli, ROOT } from './run-cli.ts';
import { withTempDir } from '../support/fixtures.ts';
import { agentRow, damageIndex, DAY_MS, entry, sha256, sqlite3, writeEntries } from '../history/fixtures.ts';

/** 10 batches 40 days old, 25 from the last two days (so today and yesterday both have >= 20 spawns of "fast"). */
function seed(file: string): void {
  const now = Date.now();
  writeEntries(file, [
    ...Array.from({ length: 10 }, (_, i) => entry(now - 40 * DAY_MS - i, [agentRow('ancient', 0, 9)], i)),
    ...Array.from({ length: 25 }, (_, i) => entry(now - DAY_MS - i, [agentRow('fast', 0, 10 + i), agentRow('slow', 1, 200)], 100 + i)),
    ...Array.from({ length: 25 }, (_, i) => entry(now - i, [agentRow('fast', 0, 20 + i), agentRow('broken', 1, null)], 200 + i)),
  ]);
}

describe('spawnpool stats / cleanup', () => {
  it('stats prints quantiles per agent and a chart of p95 per day; --json gives the figures', { timeout: 60_000 }, async () => {
    await withTempDir(async (dir) => {
      const db = path.join(dir, 'h.db');
      seed(db);
      const text = await cli(['stats', '--db', db]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/60 batches, 110 agent runs: 85 spawned/);
      expect(text.stdout).toMatch(/^fast\s+50\s+50\s+50\s+0\s+100\.0%\s+100\.0%\s+[\d.]+\s+[\d.]+\s+[\d.]+$/m);
      // 25 samples of "slow": enough for p95, and all 200.
      expect(text.stdout).toMatch(/^slow\s+25\s+25\s+25\s+0\s+100\.0%\s+100\.0%\s+200\s+200\s+200$/m);
      expect(text.stdout).toMatch(/^ancient\s+10\s+10\s+10\s+0\s+100\.0%\s+100\.0%\s+9\.0\s+n\/a\s+n\/a$/m);
      expect(text.stdout).toMatch(/^broken\s+25\s+0\s+0\s+25\s+0\.0%\s+0\.0%\s+n\/a\s+n\/a\s+n\/a$/m);
      expect(text.stdout).toContain('p95 spawn latency per day (UTC)');
      expect(text.stdout).toMatch(/^\d{4}-\d{2}-\d{2} {2}█+/m);

      const json = await cli(['stats', '--db', db, '--since', '7d', '--agent', 'fast', '--json']);
      expect(json.code).toBe(0);
      const stats = JSON.parse(json.stdout) as { total: number; agent: string; latency: { samples: number; p95Ms: number | null }; agents: unknown[] };
      expect(stats).toMatchObject({ agent: 'fast', total: 50, latency: { samples: 50 } });
      expect(stats.latency.p95Ms).toBeTypeOf('number');
      expect(stats.agents).toHaveLength(1);

      const few = JSON.parse((await cli(['stats', '--db', db, '--agent', 'ancient', '--json'])).stdout) as {
        latency: { p95Ms: number | null; p99Ms: number | null };
      };
      expect(few.latency).toMatchObject({ p95Ms: null, p99Ms: null });
    });
  });

  it('cleanup removes exactly the old batches and reports rows, bytes and integrity', { timeout: 60_000 }, async () => {
    await withTempDir(async (dir) => {
      const db = path.join(dir, 'h.db');
      seed(db);
      const res = await cli(['cleanup', '--db', db, '--older-than', '30d', '--json']);
      expect(res.code).toBe(0);
      expect(JSON.parse(res.stdout)).toMatchObject({ batchesRemoved: 10, agentRunsRemoved: 10, integrity: 'ok', complete: true });
      const text = await cli(['cleanup', '--db', db, '--older-than', '30d', '--vacuum']);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/removed 0 batches and 0 agent runs in 0 chunks, then vacuumed/);
      expect(text.stdout).toMatch(/integrity_check: ok/);
      expect(JSON.parse((await cli(['stats', '--db', db, '--json'])).stdout)).toMatchObject({ batches: 50, total: 100 });
    });
  });

  it('says what is wrong: no database, a missing flag, a bad duration', { timeout: 60_000 }, async () => {
    await withTempDir(async (dir) => {
      const missing = await cli(['stats', '--db', path.join(dir, 'none.db')]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/no history database there/);
      const noFlag = await cli(['cleanup', '--db', path.join(dir, 'none.db')]);
      expect(noFlag.code).toBe(2);
      expect(noFlag.stderr).toMatch(/Expected --older-than/);
      const bad = await cli(['stats', '--since', 'last week']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/Expected --since to be a duration/);
    });
  });
});

const isRoot = process.getuid?.() === 0;

/** The CLI as another user (setpriv), from the source tree. */
function cliAs(uid: number, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, ...CLI, ...args], { cwd: ROOT }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

function listing(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .map((name) => {
      const s = statSync(path.join(dir, name));
      return `${name} ${s.size} ${s.uid} ${s.mtimeMs}`;
    });
}

describe('spawnpool cleanup on a damaged file', () => {
  it('changes nothing, lists the damage and exits 1 (the file checked with the sqlite3 CLI)', { timeout: 60_000 }, async () => {
    await withTempDir(async (dir) => {
      const db = path.join(dir, 'h.db');
      const rows = Array.from({ length: 20 }, (_, i) => agentRow(`agent-${i}`, i, 5));
      writeEntries(
        db,
        Array.from({ length: 60 }, (_, i) => entry(Date.now() - 40 * DAY_MS + i, rows, i)),
      );
      await damageIndex(db, 'agent_runs_started_at');
      const before = sha256(db);
      const res = await cli(['cleanup', '--db', db, '--older-than', '30d']);
      expect(res.code).toBe(1);
      expect(res.stdout).toMatch(/integrity_check FAILED, nothing was removed/);
      expect(res.stdout).toMatch(/missing from index agent_runs_started_at/);
      expect(sha256(db)).toBe(before);
      expect(await sqlite3(db, 'SELECT count(*) FROM agent_runs NOT INDEXED')).toBe('1200');
      expect(await sqlite3(db, 'SELECT count(*) FROM batches')).toBe('60');
    });
  });
});

describe.skipIf(!isRoot)('a history shared between users (the CLI as uids 1000 and 65534, through setpriv)', () => {
  /** A folder anyone may create files in (mode 1777, like /tmp) with a history owned by uid 1000, mode 0644. */
  async function shared(dir: string): Promise<{ folder: string; db: string; agentsFile: string; ran: string }> {
    chmodSync(dir, 0o755);
    const folder = path.join(dir, 'shared');
    mkdirSync(folder);
    chmodSync(folder, 0o1777);
    const db = path.join(folder, 'history.db');
    writeEntries(db, [entry(Date.now(), [agentRow('a', 0, 5)], 1)]);
    chownSync(db, 1000, 1000);
    chmodSync(db, 0o644);
    const ran = path.join(dir, 'ran');
    const agentsFile = path.join(dir, 'agents.json');
    await writeFile(agentsFile, JSON.stringify({ agents: [{ name: 'toucher', command: 'sh', args: ['-c', `echo ran >> '${ran}'`] }] }));
    chmodSync(agentsFile, 0o644);
    // Anyone may run the agent (it appends to `ran`), so both users' runs can be told apart from refusals.
    await writeFile(ran, '');
    chmodSync(ran, 0o666);
    return { folder, db, agentsFile, ran };
  }

  it("spawnpool stats by a user who can only read creates no file, and the owner's next run records", { timeout: 120_000 }, async () => {
    await withTempDir(async (dir) => {
      const { folder, db, agentsFile, ran } = await shared(dir);
      const before = listing(folder);
      const stats = await cliAs(65534, ['stats', '--db', db, '--json']);
      expect(stats.code, stats.stderr).toBe(0);
      expect(JSON.parse(stats.stdout)).toMatchObject({ batches: 1, total: 1 });
      expect(listing(folder)).toEqual(before);
      const run = await cliAs(1000, ['run', agentsFile, '--db', db]);
      expect(run.code, run.stderr).toBe(0);
      expect(await readFile(ran, 'utf8')).toBe('ran\n');
      expect(await sqlite3(db, 'SELECT count(*) FROM batches')).toBe('2');
    });
  });

  it('spawnpool run by a user who cannot write the history exits 2 naming the file, before the agent runs, leaving no file', { timeout: 120_000 }, async () => {
    await withTempDir(async (dir) => {
      const { folder, db, agentsFile, ran } = await shared(dir);
      const before = listing(folder);
      const run = await cliAs(65534, ['run', agentsFile, '--db', db]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(db);
      expect(run.stderr).toMatch(/cannot be written: the file .* is not writable by this user/);
      expect(await readFile(ran, 'utf8')).toBe('');
      expect(listing(folder)).toEqual(before);
      // The owner is not in the way of anything the refused run left.
      expect((await cliAs(1000, ['run', agentsFile, '--db', db])).code).toBe(0);
    });
  });
});
