import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Spawner, resolveAgents } from '/work/main/src/index.ts';
const spawner = new Spawner({ workers: 1, launcher: 'helper' });
await spawner.ready;
const agents = resolveAgents(Array.from({ length: 8 }, (_, i) => ({ name: `t${i}`, command: '/bin/true' })));
const out: string[] = [];
for (let r = 0; r < 30; r++) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const res = await spawner.spawnBatch(agents).results;
  h.disable();
  if (r >= 5) out.push((h.max / 1e6).toFixed(1));
  await new Promise((r) => setTimeout(r, 50));
}
console.log('ELD max per batch', out.join(' '));
await spawner.close();
