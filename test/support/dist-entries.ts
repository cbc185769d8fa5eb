/**
 * Stands in for src/ts-loader.ts in the test projects `auto` and `direct`
 * (vitest.config.ts swaps it in): the library runs from source on the test's
 * own thread, and the files it starts elsewhere (build workers, launch
 * thread, launch helper) run from dist/ on plain node, as a user's do. tsx
 * in every thread and helper cost a second of CPU per Spawner, most of the
 * suite's time on 2 cores. Project `source` keeps the real module: there
 * the entries load from source through tsx. global-setup.ts rebuilds dist/
 * when a source file is newer, so these entries never run stale code.
 */
import type { OwnEntry } from '../../src/ts-loader.ts';

export { isTypeScript, type OwnEntry, tsxLoader, tsxWorkerBootstrap } from '../../src/ts-loader.ts';

export function ownEntry(name: OwnEntry): URL {
  return new URL(`../../dist/workers/${name}.js`, import.meta.url);
}
