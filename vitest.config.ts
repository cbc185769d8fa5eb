import { defineConfig } from 'vitest/config';

// Every suite runs as a user's program would, launcher 'auto' (the helper,
// in test processes over its RSS threshold); the core suites (batch,
// reliability) run a second time through the direct launcher, so both
// launchers are held to the same outcomes, errors and clean-up.
export default defineConfig({
  test: {
    testTimeout: 60000,
    projects: [
      { extends: true, test: { name: 'auto', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'direct', include: ['test/batch/**/*.test.ts', 'test/reliability/**/*.test.ts'], env: { SPAWNPOOL_LAUNCHER: 'direct' } } },
    ],
  },
});
