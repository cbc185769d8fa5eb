/**
 * CPU of Spawner start-ups from the built dist/: N times, a Spawner with one
 * build worker is made ready, runs one agent (`true`) and is closed. Plain JS
 * on plain node, so that no loader adds to what is measured; time it whole,
 * helper children included:
 *
 *   npm run build && /usr/bin/time -f '%U+%S s' node bench/micro/spawner-start.mjs 5 direct
 *
 * Against unbundled entries: `npx tsc -p tsconfig.build.json` (tsc alone) first.
 */
import { Spawner } from '../../dist/src/index.js';

const n = Number(process.argv[2] ?? 5);
const launcher = process.argv[3] ?? 'direct';
for (let i = 0; i < n; i++) {
  const spawner = new Spawner({ workers: 1, launcher });
  await spawner.ready;
  await spawner.spawnBatch([{ name: 'a', command: 'true' }]).summary;
  await spawner.close();
}
