/**
 * dist/ as new as the sources: the test projects run the off-main entries
 * and the CLI from dist/, and so do the bench's fleet workers. `npm ci`
 * builds it (`prepare`); a developer who edits a file and runs `npm test`,
 * `npx vitest` or the bench gets a rebuild here instead of stale code.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) t = Math.max(t, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return t;
}

function builtAt(): number {
  try {
    // The bundling of the entries comes last in the build: a build it did not finish is not a build.
    return Math.min(...['dist/src/index.js', 'dist/workers/launch-thread.js'].map((f) => statSync(path.join(ROOT, f)).mtimeMs));
  } catch {
    return 0;
  }
}

/** Rebuilds dist/ when a file of src/ or workers/ is newer than it; says so on stdout. */
export function ensureBuiltDist(): void {
  const sources = Math.max(newest(path.join(ROOT, 'src')), newest(path.join(ROOT, 'workers')), statSync(path.join(ROOT, 'tsconfig.build.json')).mtimeMs);
  if (builtAt() >= sources) return;
  console.log('dist/ is older than src/ or workers/: rebuilding it');
  // In place (no rm -rf) and one at a time: another vitest run on this checkout may be using dist/ now.
  execFileSync('flock', [path.join(os.tmpdir(), 'spawnpool-dist-build.lock'), 'npm', 'run', '--silent', 'build:dist'], { cwd: ROOT, stdio: 'inherit' });
}
