/**
 * Running from source (tsx, vitest) or from dist/: where the files spawnpool
 * starts on other threads and processes (build worker, launch thread, launch
 * helper) are, and whether they need tsx's loader. An entry has the extension
 * of this module: .ts from source, .js from dist/.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/** The files under workers/ that run off the main thread (see workers/README.md). */
export type OwnEntry = 'build-worker' | 'launch-thread' | 'launch-helper';

const OWN_EXTENSION = import.meta.url.endsWith('.ts') ? 'ts' : 'js';

/** An off-main entry's file URL, beside this module's own build. */
export function ownEntry(name: OwnEntry): URL {
  return new URL(`../workers/${name}.${OWN_EXTENSION}`, import.meta.url);
}

/** True when a module needs tsx's loader to run: a .ts file. */
export function isTypeScript(file: URL | string): boolean {
  return (typeof file === 'string' ? file : file.pathname).endsWith('.ts');
}

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
