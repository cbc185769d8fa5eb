/**
 * From dist/ the helper is plain JavaScript and runs on plain node, without
 * tsx (`npm test` builds dist/ first; test/dist checks it is there).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = `${ROOT}dist/src/index.js`;
describe('helper launcher from dist/', () => {
  it('starts the helper on plain node and delivers the prompt through it', async () => {
    const script = `
      import { readFileSync } from 'node:fs';
      import { HelperLauncher, Spawner } from ${JSON.stringify(DIST)};
      const launcher = new HelperLauncher();
      const spawner = new Spawner({ workers: 1, launcher });
      const batch = spawner.spawnBatch([{ name: 'hasher', command: 'sha256sum', prompt: { template: 'hi {{agent}} äö 🚀' } }]);
      const outcomes = [];
      for await (const o of batch) outcomes.push(o);
      const helper = readFileSync('/proc/' + launcher.pids[0] + '/cmdline', 'utf8').split('\\0');
      const [result] = await batch.results;
      await spawner.close();
      console.log(JSON.stringify({ ok: result.ok, sha: outcomes[0].prompt.sha256, echoed: result.stdout.split(' ')[0], helper }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const report = JSON.parse(stdout) as { ok: boolean; sha: string; echoed: string; helper: string[] };
    expect(report.ok).toBe(true);
    expect(report.echoed).toBe(report.sha);
    expect(report.helper.filter((a) => a !== '')).toEqual([process.execPath, `${ROOT}dist/workers/launch-helper.js`]);
  });
});
