/**
 * Running from source (tsx, vitest) or from dist/: where the files spawnpool
 * starts on other threads and processes (build worker, launch thread, launch
 * helper) are, and whether they need tsx's loader. An entry has the extension
 * of this module: .ts from source, .js from dist/.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { packageRoot } from './package-root.ts';

/** The files under workers/ that run off the main thread (see workers/README.md). */
export type OwnEntry = 'build-worker' | 'launch-thread' | 'launch-helper';

const FROM_SOURCE = import.meta.url.endsWith('.ts');
let entries: URL | undefined;

/** An off-main entry's file URL, from this module's own build: workers/*.ts from source, dist/workers/*.js built. */
export function ownEntry(name: OwnEntry): URL {
  entries ??= new URL(FROM_SOURCE ? 'workers/' : 'dist/workers/', packageRoot(import.meta.url).url);
  return new URL(`${name}.${FROM_SOURCE ? 'ts' : 'js'}`, entries);
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
