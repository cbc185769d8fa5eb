/**
 * Which build of the off-main entries a test project runs: `auto` and
 * `direct` run dist/ (test/support/dist-entries.ts), `source` runs the .ts
 * files through tsx. Read from the OS: the launch helper's
 * command line, not from a variable of ours.
 */
import { describe, expect, it } from 'vitest';
import { ownEntry } from '../../src/ts-loader.ts';
import { withSpawner } from '../support/fixtures.ts';

// Set by vitest.config.ts for project `source`.
const FROM_SOURCE = process.env.SPAWNPOOL_TEST_ENTRIES === 'source';

describe('off-main entries', () => {
  it(FROM_SOURCE ? 'come from source, through tsx' : 'come from dist/, on plain node', async () => {
    expect(ownEntry('launch-helper').pathname).toMatch(FROM_SOURCE ? /\/workers\/launch-helper\.ts$/ : /\/dist\/workers\/launch-helper\.js$/);
    await withSpawner({ launcher: 'helper' }, async (spawner) => {
      // The agent's parent is the helper: its command line names the entry it runs.
      const batch = spawner.spawnBatch([
        { name: 'who', command: 'sh', args: ['-c', 'tr "\\0" " " < /proc/$PPID/cmdline'], prompt: { template: 'x' }, buffer: true },
      ]);
      const [result] = await batch.results;
      expect(result?.ok).toBe(true);
      expect(result?.stdout).toMatch(FROM_SOURCE ? /--import \S*tsx\S* \S*\/workers\/launch-helper\.ts/ : /^\S+ \S*\/dist\/workers\/launch-helper\.js $/);
    });
  });
});
