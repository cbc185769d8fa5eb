import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vitest/config';

const DIST_ENTRIES = fileURLToPath(new URL('./test/support/dist-entries.ts', import.meta.url));

/**
 * Projects `auto` and `direct` import the library from source but run its
 * off-main entries from dist/ (see test/support/dist-entries.ts); project
 * `source` runs them from source through tsx, as `npm start` does.
 */
const entriesFromDist: Plugin = {
  name: 'spawnpool-entries-from-dist',
  enforce: 'pre',
  resolveId(source, importer) {
    if (importer === undefined || importer === DIST_ENTRIES || !/(^|\/)ts-loader\.ts$/.test(source)) return null;
    return DIST_ENTRIES;
  },
};

// Every suite runs as a user's program would, launcher 'auto' (the helper,
// in test processes over its RSS threshold). The core suites run a second
// time through the direct launcher (project 'direct'), so both launchers are
// held to the same outcomes, errors and clean-up, except the files that
// already run each case under both launchers themselves.
const BOTH_LAUNCHERS_INSIDE = [
  'test/batch/busy-host.test.ts',
  'test/batch/streaming.test.ts',
  'test/reliability/abort.test.ts',
  'test/reliability/host-signals.test.ts',
  'test/reliability/timeouts-and-trees.test.ts',
];

/**
 * Files whose subject is not the launcher, which the direct project would only repeat: bad input is refused
 * before any launcher starts; a failed build or a dead build worker fails its agent before it reaches one;
 * the ring's SPAWN and EXIT records are written by the launch thread's one writer whatever launcher fed it
 * events. What the launcher does for the agents beside them (prompt bytes delivered intact, records that
 * match the batch summary) batch.test.ts holds each launcher to.
 */
const LAUNCHER_BLIND = [
  'test/reliability/bad-input.test.ts',
  'test/reliability/build-faults.test.ts',
  'test/reliability/worker-death.test.ts',
  'test/reliability/ring-stress.test.ts',
];

/**
 * Files that start every off-main entry under both launchers: project `source` reruns them with the entries from
 * source. Not test/pool/thread-priority: from source a clean-clone run counted 4 niced threads for 2 workers
 * (most likely tsx's loader thread in each worker, niced with it when it starts after the nice).
 */
const FROM_SOURCE = ['test/batch/busy-host.test.ts', 'test/dist/entries.test.ts'];

export default defineConfig({
  test: {
    // Most tests wait on processes, not on the CPU: three files at once keep both cores busy.
    maxWorkers: 3,
    // One module graph per worker, not per file: vitest and the library are imported once per worker
    // instead of once per file. The tests share no state (each owns its Spawner), and vitest never
    // shares a worker between projects, so one project's env (SPAWNPOOL_LAUNCHER=direct) stays its own.
    isolate: false,
    testTimeout: 60000,
    hookTimeout: 60000,
    globalSetup: ['test/support/global-setup.ts'],
    projects: [
      {
        extends: true,
        plugins: [entriesFromDist],
        test: { name: 'auto', include: ['test/**/*.test.ts'] },
      },
      {
        extends: true,
        plugins: [entriesFromDist],
        test: {
          name: 'direct',
          include: ['test/batch/**/*.test.ts', 'test/reliability/**/*.test.ts'],
          exclude: [...BOTH_LAUNCHERS_INSIDE, ...LAUNCHER_BLIND],
          env: { SPAWNPOOL_LAUNCHER: 'direct' },
        },
      },
      { extends: true, test: { name: 'source', include: FROM_SOURCE, env: { SPAWNPOOL_TEST_ENTRIES: 'source' } } },
    ],
  },
});
