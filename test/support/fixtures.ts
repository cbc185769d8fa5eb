/** Shared by the tests: fixture paths, temp folders, and spawners that are always closed (one per test, or one per describe block). */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { Spawner, type SpawnerOptions } from '../../src/index.ts';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
export const AGENTS = path.join(FIXTURES, 'agents');
export const NODE = process.execPath;

export function agentScript(name: string): string {
  return path.join(AGENTS, name);
}

/**
 * Runs `fn` with a fresh spawner and closes it whatever happens. It awaits
 * `spawner.ready` first unless `ready: false` (a test of a cold start or of a
 * helper that never comes up).
 */
export async function withSpawner<T>(options: SpawnerOptions, fn: (spawner: Spawner) => Promise<T>, { ready = true } = {}): Promise<T> {
  const spawner = testSpawner(options);
  try {
    if (ready) await spawner.ready;
    return await fn(spawner);
  } finally {
    await spawner.close();
  }
}

/**
 * One ready spawner for the tests of the enclosing describe block, started
 * before the first and closed after the last; call the returned function in
 * a test to get it. Each start costs about 0.7 s of CPU (a launch thread, a
 * helper, a build worker loading the tokenizer). The block's tests run one
 * after another: each must await its agents' results and look only at its
 * own batches' records.
 */
export function sharedSpawner(options: SpawnerOptions = {}): () => Spawner {
  let spawner: Spawner | undefined;
  beforeAll(async () => {
    spawner = testSpawner(options);
    await spawner.ready;
  });
  afterAll(() => spawner?.close());
  return () => {
    if (spawner === undefined) throw new Error('sharedSpawner(): the spawner is only there inside a test');
    return spawner;
  };
}

/**
 * One build worker unless the test asks for more: each one loads the tokenizer (a third of a second of CPU),
 * and on 2 cores the suite's time is its CPU.
 */
function testSpawner(options: SpawnerOptions): Spawner {
  return new Spawner({ workers: 1, ...options });
}

/** A private temp folder, removed after `fn`. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'spawnpool-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
