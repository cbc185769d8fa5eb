import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { HistoryError, Spawner } from '../../src/index.ts';
import { History } from '../../src/history/history.ts';
import { SCHEMA_VERSION } from '../../src/history/schema.ts';
import { withTempDir } from '../support/fixtures.ts';
import { agentRow, entry, writeEntries } from './fixtures.ts';

function sha(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Expects History.open(file) to throw a HistoryError with `code`, and the file's bytes to be unchanged. */
function expectRefused(file: string, code: string, message: RegExp): HistoryError {
  const before = sha(file);
  let error: unknown;
  try {
    History.open(file);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(HistoryError);
  expect(error).toMatchObject({ code, file });
  expect((error as Error).message).toMatch(message);
  expect(sha(file)).toBe(before);
  return error as HistoryError;
}

describe('opening a history database', () => {
  it('creates the folder and the schema, and reopens it', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'nested', 'deeper', 'history.db');
      await History.open(file).close();
      await History.open(file).close();
      const db = new Database(file, { readonly: true });
      try {
        expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
        expect(db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all()).toEqual(
          Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
        );
      } finally {
        db.close();
      }
    });
  });

  it('refuses a database from a newer spawnpool, naming both versions', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'newer.db');
      writeEntries(file, [entry(Date.now(), [agentRow('a', 0, 5)], 1)]);
      const db = new Database(file);
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(SCHEMA_VERSION + 98, 'from the future', Date.now());
      db.close();
      expectRefused(file, 'E_HISTORY_SCHEMA', new RegExp(`schema version ${SCHEMA_VERSION + 98}.*newer spawnpool.*up to version ${SCHEMA_VERSION}`));
      // Its rows are all still there.
      const check = new Database(file, { readonly: true });
      expect(check.prepare('SELECT count(*) FROM agent_runs').pluck().get()).toBe(1);
      check.close();
    });
  });

  it("refuses another application's SQLite file", async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'other.db');
      const db = new Database(file);
      db.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)');
      db.close();
      expectRefused(file, 'E_HISTORY_SCHEMA', /not a spawnpool history database \(it holds tables invoices\)/);
    });
  });

  it('refuses a file that is not SQLite, and one with damaged pages', async () => {
    await withTempDir(async (dir) => {
      const text = path.join(dir, 'notes.db');
      writeFileSync(text, 'these are my notes, not a database\n'.repeat(200));
      const notDb = expectRefused(text, 'E_HISTORY_CORRUPT', /damaged or not SQLite/);
      expect(notDb.sqliteCode).toMatch(/^SQLITE_(NOTADB|CORRUPT)/);

      const damaged = path.join(dir, 'damaged.db');
      writeEntries(
        damaged,
        Array.from({ length: 200 }, (_, i) => entry(Date.now(), [agentRow('a', 0, 5), agentRow('b', 1, 6)], i)),
      );
      const bytes = readFileSync(damaged);
      // Scribble over pages 2..4 (the first table's pages), keeping the header page intact.
      for (let i = 4096; i < 4 * 4096; i++) bytes[i] = (i * 7) & 255;
      writeFileSync(damaged, bytes);
      expectRefused(damaged, 'E_HISTORY_CORRUPT', /damaged or not SQLite/);
    });
  });

  it('reports damage found after opening when reading, checking or cleaning up', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'tail-damage.db');
      writeEntries(
        file,
        Array.from({ length: 200 }, (_, i) => entry(Date.now(), [agentRow('a', 0, 5), agentRow('b', 1, 6)], i)),
      );
      const bytes = readFileSync(file);
      for (let i = bytes.length - 3 * 4096; i < bytes.length; i++) bytes[i] = (i * 13) & 255;
      writeFileSync(file, bytes);
      const history = History.open(file);
      try {
        expect(() => history.stats()).toThrow(expect.objectContaining({ code: 'E_HISTORY_CORRUPT' }));
        expect(() => history.integrityCheck()).toThrow(expect.objectContaining({ code: 'E_HISTORY_CORRUPT' }));
        await expect(history.cleanup({ olderThan: '1ms' })).rejects.toMatchObject({ code: 'E_HISTORY_CORRUPT' });
      } finally {
        await history.close();
      }
    });
  });

  it('with mustExist, says there is no history instead of creating one', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'absent.db');
      expect(() => History.open({ path: file, mustExist: true })).toThrow(
        expect.objectContaining({ code: 'E_HISTORY_IO', message: expect.stringContaining('no history database') }),
      );
      expect(existsSync(file)).toBe(false);
    });
  });

  it('a Spawner given a refused file throws before starting any worker', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'bad.db');
      writeFileSync(file, 'garbage'.repeat(1000));
      let spawner: Spawner | undefined;
      try {
        expect(() => (spawner = new Spawner({ workers: 1, history: { path: file } }))).toThrow(expect.objectContaining({ code: 'E_HISTORY_CORRUPT' }));
      } finally {
        await spawner?.close();
      }
    });
  });
});
