import { defineConfig } from 'vitest/config';

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

export default defineConfig({
  test: {
    testTimeout: 60000,
    projects: [
      { extends: true, test: { name: 'auto', include: ['test/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'direct',
          include: ['test/batch/**/*.test.ts', 'test/reliability/**/*.test.ts'],
          exclude: BOTH_LAUNCHERS_INSIDE,
          env: { SPAWNPOOL_LAUNCHER: 'direct' },
        },
      },
    ],
  },
});
