/**
 * Agents that cannot start: the command is missing or not executable, or the
 * working directory does not exist. Each fails alone at `spawn`, with a code
 * and a message naming the agent; the rest of the batch runs.
 */
import { chmod, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode, SpawnError } from '../../src/errors.ts';
import { Spawner } from '../../src/spawner.ts';
import { agent, finish, nodeAgent, tempDir } from './helpers.ts';

describe('spawn faults', () => {
  let spawner: Spawner;
  let dir: string;

  beforeAll(async () => {
    spawner = new Spawner({ workers: 1 });
    dir = await tempDir();
  });
  afterAll(async () => {
    await spawner.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('fails only the agent that cannot start, naming the cause', async () => {
    const notExecutable = path.join(dir, 'not-executable.sh');
    await writeFile(notExecutable, '#!/bin/sh\necho should not run\n');
    await chmod(notExecutable, 0o644);

    const done = await finish(
      spawner.spawnBatch([
        { name: 'good-1', ...nodeAgent('echo-sha256.mjs'), prompt: { template: 'one' } },
        { name: 'missing-path', command: path.join(dir, 'no-such-binary') },
        { name: 'missing-on-path', command: 'spawnpool-no-such-command-on-path' },
        { name: 'not-executable', command: notExecutable },
        { name: 'no-cwd', command: '/bin/true', cwd: path.join(dir, 'no-such-folder') },
        { name: 'good-2', command: '/bin/true' },
      ]),
    );

    const expectFailure = (name: string, code: ErrorCode, text: string, errno: string) => {
      const { outcome, result } = agent(done, name);
      expect(outcome.ok, name).toBe(false);
      expect(outcome.stage).toBe('spawn');
      expect(outcome.error?.code).toBe(code);
      expect((outcome.error as SpawnError).errno, name).toBe(errno);
      expect(outcome.error?.agent).toBe(name);
      expect(outcome.error?.message).toContain(`"${name}"`);
      expect(outcome.error?.message).toContain(text);
      expect(outcome.pid).toBeUndefined();
      expect(result.ok).toBe(false);
      expect(result.error?.code).toBe(code);
    };
    expectFailure('missing-path', 'E_ENOENT', 'command not found', 'ENOENT');
    expectFailure('missing-on-path', 'E_ENOENT', 'spawnpool-no-such-command-on-path', 'ENOENT');
    expectFailure('not-executable', 'E_EACCES', 'not executable', 'EACCES');
    // Node reports a missing working directory as ENOENT too; the code tells the two apart.
    expectFailure('no-cwd', 'E_CWD', 'no-such-folder', 'ENOENT');

    for (const name of ['good-1', 'good-2']) {
      const { outcome, result } = agent(done, name);
      expect(outcome.ok, name).toBe(true);
      expect(result.ok, name).toBe(true);
      expect(result.exitCode).toBe(0);
    }
    const { outcome, result } = agent(done, 'good-1');
    expect(result.stdout.split(' ')[0]).toBe(outcome.prompt?.sha256);

    const after = await spawner.spawnBatch([{ name: 'after', command: '/bin/true' }]).done;
    expect([after.spawned, after.succeeded, after.ok]).toEqual([1, 1, true]);
  });

  it('counts each failure in the ring with its code', async () => {
    const before = spawner.metrics.snapshot().totals.spawn;
    await finish(
      spawner.spawnBatch([
        { name: 'gone', command: path.join(dir, 'nothing-here') },
        { name: 'fine', command: '/bin/true' },
      ]),
    );
    const after = spawner.metrics.snapshot();
    expect(after.totals.spawn.failed - before.failed).toBe(1);
    expect(after.totals.spawn.ok - before.ok).toBe(1);
    expect(after.invalid).toBe(0);
  });
});
