/**
 * Runs the spawnpool CLI in a child process, as a user would (the built one: `npx spawnpool`
 * runs dist/, and test/support/global-setup.ts keeps it as new as the sources), and collects what
 * it printed. From source, tsx cost every run a second of CPU.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
// The CLI's default history database is ./.spawnpool/history.db: the tests' runs go to a temp file, not the checkout.
const TEST_DB = path.join(mkdtempSync(path.join(os.tmpdir(), 'spawnpool-cli-db-')), 'history.db');
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** node arguments that start the built CLI. */
export const CLI = [`${ROOT}dist/src/cli/main.js`];

/**
 * Runs the CLI with `args`. A `run` gets one build worker unless the test sets `--workers`, as the tests'
 * own spawners do (test/support/fixtures.ts): each one loads the tokenizer, a third of a second of CPU.
 */
export async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = args[0] === 'run' && !args.some((a) => a === '--workers' || a.startsWith('--workers=')) ? [...args, '--workers', '1'] : args;
  try {
    const { stdout, stderr } = await run(process.execPath, [...CLI, ...argv], { cwd: ROOT, env: { SPAWNPOOL_DB: TEST_DB, ...process.env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
