/**
 * Running from source (tsx, vitest) or from dist/: the files spawnpool starts
 * on other threads and processes (build worker, launch helper) have the same
 * extension as this one, and a .ts one needs tsx's loader.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/** True when this module is the .ts source rather than its dist/ build. */
export const FROM_SOURCE = import.meta.url.endsWith('.ts');

/** The extension of spawnpool's own modules here: 'ts' from source, 'js' from dist/. */
export const OWN_EXTENSION = FROM_SOURCE ? 'ts' : 'js';

/** tsx's ESM loader as a file URL, so it resolves whatever the host's cwd. */
export function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

/**
 * Code for `new Worker(code, { eval: true })` that loads a .ts entry. On Node
 * 20 a worker's `--import` hooks are not in place yet when its own entry
 * loads (Piscina's workers load theirs later, after a message, and get
 * away with it), so the bootstrap registers tsx itself, then imports.
 */
export function tsxWorkerBootstrap(entry: URL): string {
  const api = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  return `import(${api}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); }).catch((error) => { process.nextTick(() => { throw error; }); });`;
}
