/**
 * The folder of spawnpool's own package.json, found from a module's URL up.
 * Where a module sits depends on how it runs (src/ under tsx, dist/src/
 * built, or inlined into a bundle such as dist/src/cli/main.js), so files
 * that ship beside it are found from the package root, never from `../`.
 */
import { readFileSync } from 'node:fs';

export interface PackageRoot {
  /** The folder, as a URL ending in `/`. */
  url: URL;
  version: string;
}

/** Throws when no folder above `from` holds spawnpool's package.json. */
export function packageRoot(from: URL | string): PackageRoot {
  for (let dir = new URL('.', from); ; dir = new URL('..', dir)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'spawnpool' && typeof pkg.version === 'string') return { url: dir, version: pkg.version };
    } catch {
      // not here: one folder up
    }
    if (dir.pathname === '/') throw new Error(`spawnpool's package.json is in no folder above ${String(from)}`);
  }
}
