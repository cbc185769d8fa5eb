import { Spawner, resolveAgents } from '/work/main/src/index.ts';
const spawner = new Spawner({ workers: 1, launcher: (process.argv[2] ?? 'helper') as 'helper' });
await spawner.ready;
const agents = resolveAgents(Array.from({ length: 8 }, (_, i) => ({ name: `t${i}`, command: '/bin/true' })));
const sync: number[] = [], turn: number[] = [];
for (let r = 0; r < 30; r++) {
  await new Promise((r) => setTimeout(r, 30));
  const t0 = performance.now();
  const b = spawner.spawnBatch(agents);
  const t1 = performance.now();
  await new Promise((r) => setImmediate(r));
  const t2 = performance.now();
  await b.results;
  if (r >= 5) { sync.push(t1 - t0); turn.push(t2 - t0); }
}
const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1].toFixed(2);
console.log(process.argv[2] ?? 'helper', 'spawnBatch() sync ms', med(sync), ' first turn (to setImmediate) ms', med(turn), 'max', Math.max(...turn).toFixed(2));
await spawner.close();
