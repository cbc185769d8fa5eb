/**
 * Reading a history without writing to it, and refusing to write one that
 * cannot be written, checked through the OS: file listings before and after,
 * and, when the tests run as root, real other users (setpriv) so that file
 * permissions and owners apply as they do on a shared machine.
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HistoryError, Spawner } from '../../src/index.ts';
import { History } from '../../src/history/history.ts';
import { withSpawner, withTempDir } from '../support/fixtures.ts';
import { agentRow, entry, sha256, sqlite3, writeEntries } from './fixtures.ts';

const AS_USER = fileURLToPath(new URL('./fixtures/as-user.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OWNER = 1000;
const OTHER = 65534;
const isRoot = process.getuid?.() === 0;

/** Every file of `dir` with its size, mode, owner and mtime: any file created, removed or touched shows. */
function listing(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .map((name) => {
      const s = statSync(path.join(dir, name));
      return `${name} ${s.size} ${(s.mode & 0o7777).toString(8)} ${s.uid} ${s.mtimeMs}`;
    });
}

/** Runs fixtures/as-user.mjs as `uid` (setpriv), and parses its JSON line. */
function asUser(
  uid: number,
  mode: 'stats' | 'spawner' | 'write',
  file: string,
  dir = '',
): Promise<{ ok: boolean; code?: string; message?: string; total?: number; written?: { batches: number } }> {
  return new Promise((resolve, reject) => {
    execFile(
      'setpriv',
      [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, AS_USER, mode, file, dir],
      { cwd: ROOT },
      (error, stdout, stderr) => {
        const line = stdout.trim().split('\n').at(-1) ?? '';
        try {
          resolve(JSON.parse(line));
        } catch {
          reject(new Error(`as-user ${mode} as uid ${uid} printed no result (${error?.message ?? ''}): ${stdout}${stderr}`));
        }
      },
    );
  });
}

/** A folder anyone may create files in (like /tmp: mode 1777), holding a history owned by OWNER, mode 0644. */
function sharedHistory(dir: string): { shared: string; file: string } {
  chmodSync(dir, 0o755);
  const shared = path.join(dir, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o1777);
  const file = path.join(shared, 'history.db');
  writeEntries(file, [entry(Date.now(), [agentRow('a', 0, 5), agentRow('b', 1, 6)], 1)]);
  chownSync(file, OWNER, OWNER);
  chmodSync(file, 0o644);
  return { shared, file };
}

describe('a history opened read-only', () => {
  it('reads a closed history from a copy and creates no file', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'h.db');
      writeEntries(file, [entry(Date.now(), [agentRow('a', 0, 5)], 1), entry(Date.now(), [agentRow('b', 0, 6)], 2)]);
      const before = listing(dir);
      expect(before).toHaveLength(1);
      const history = History.open({ path: file, readonly: true });
      try {
        expect(history.readonly).toBe(true);
        expect(history.stats()).toMatchObject({ batches: 2, total: 2 });
        expect(listing(dir)).toEqual(before);
        await expect(history.cleanup({ olderThan: '1d' })).rejects.toMatchObject({ code: 'E_HISTORY_IO', message: expect.stringContaining('read-only') });
      } finally {
        await history.close();
      }
      expect(listing(dir)).toEqual(before);
    });
  });

  it("reads a history a spawner is writing, through the spawner's own -wal and -shm, creating nothing", async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'live.db');
      await withSpawner({ workers: 1, prometheus: false, history: { path: file, flushIntervalMs: 3_600_000 } }, async (spawner) => {
        await spawner.spawnBatch([{ name: 'one', command: 'true' }]).results;
        // The batch's rows are queued by a callback on the same settled promises: after the microtasks, before any timer.
        await new Promise((resolve) => setImmediate(resolve));
        spawner.history!.flush();
        expect(spawner.history!.written.batches).toBe(1);
        const before = listing(dir);
        expect(before.map((l) => l.split(' ')[0])).toEqual(['live.db', 'live.db-shm', 'live.db-wal']);
        const reader = History.open({ path: file, readonly: true });
        try {
          expect(reader.stats()).toMatchObject({ batches: 1, total: 1 });
        } finally {
          await reader.close();
        }
        expect(listing(dir).map((l) => l.split(' ')[0])).toEqual(['live.db', 'live.db-shm', 'live.db-wal']);
      });
    });
  });

  it('says there is no history instead of creating one, and refuses a file that is not SQLite', async () => {
    await withTempDir(async (dir) => {
      expect(() => History.open({ path: path.join(dir, 'absent.db'), readonly: true })).toThrow(
        expect.objectContaining({ code: 'E_HISTORY_IO', message: expect.stringContaining('no history database') }),
      );
      const notes = path.join(dir, 'notes.db');
      writeFileSync(notes, 'not a database\n'.repeat(100));
      expect(() => History.open({ path: notes, readonly: true })).toThrow(expect.objectContaining({ code: 'E_HISTORY_CORRUPT' }));
      expect(readdirSync(dir)).toEqual(['notes.db']);
    });
  });
});

describe('a history this process cannot write', () => {
  it('refuses the Spawner at construction, naming the file, before any worker starts', async () => {
    await withTempDir(async (dir) => {
      // A folder that cannot be created: its parent is a file (root or not, mkdir fails).
      const blocker = path.join(dir, 'blocker');
      writeFileSync(blocker, '');
      const file = path.join(blocker, 'history.db');
      let spawner: Spawner | undefined;
      let error: unknown;
      try {
        spawner = new Spawner({ workers: 1, history: { path: file } });
      } catch (e) {
        error = e;
      } finally {
        await spawner?.close();
      }
      expect(error).toBeInstanceOf(HistoryError);
      expect(error).toMatchObject({ code: 'E_HISTORY_IO', file });
      expect((error as Error).message).toContain(file);
    });
  });
});

describe.skipIf(!isRoot)('a history shared between users (as uids 1000 and 65534, through setpriv)', () => {
  it("stats by a user who can only read creates no -wal/-shm, and the owner's next run still writes", { timeout: 120_000 }, async () => {
    await withTempDir(async (dir) => {
      const { shared, file } = sharedHistory(dir);
      const before = listing(shared);
      const read = await asUser(OTHER, 'stats', file);
      expect(read).toMatchObject({ ok: true, total: 2 });
      expect(listing(shared)).toEqual(before);
      // The owner records a run: nothing left behind by the reader is in its way.
      expect(await asUser(OWNER, 'write', file)).toMatchObject({ ok: true, written: { batches: 1 } });
      expect(await sqlite3(file, 'SELECT count(*) FROM batches')).toBe('2');
      expect(await sqlite3(file, 'PRAGMA integrity_check')).toBe('ok');
    });
  });

  it('a Spawner run by a user who cannot write the file is refused before anything spawns, and leaves no file', { timeout: 120_000 }, async () => {
    await withTempDir(async (dir) => {
      const { shared, file } = sharedHistory(dir);
      const marks = path.join(dir, 'marks');
      mkdirSync(marks);
      chmodSync(marks, 0o777);
      const before = listing(shared);
      const shaBefore = sha256(file);
      const result = await asUser(OTHER, 'spawner', file, marks);
      expect(result).toMatchObject({ ok: false, code: 'E_HISTORY_IO' });
      expect(result.message).toContain(file);
      expect(result.message).toMatch(/not writable by this user \(owner uid 1000/);
      // No agent ran, no -wal or -shm of another owner was left for the owner to trip on.
      expect(readdirSync(marks)).toEqual([]);
      expect(listing(shared)).toEqual(before);
      expect(sha256(file)).toBe(shaBefore);
      expect(await asUser(OWNER, 'write', file)).toMatchObject({ ok: true });
    });
  });
});
