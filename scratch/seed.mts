import { Spawner, resolveAgents } from '/work/main/src/index.ts';
const launcher = (process.argv[2] ?? 'auto') as 'auto';
const spawner = new Spawner({ launcher, workers: 2, ...(process.argv[3] ? { helpers: Number(process.argv[3]) } : {}) });
await spawner.ready;
const agents = resolveAgents(Array.from({ length: 3 }, (_, i) => ({ name: `io-${i}`, command: '/work/main/bench/agents/io-ready.sh', ready: { stdout: '^READY' }, prompt: { template: 'You are {{agent}}.' } })));
const rows: string[] = [];
for (let r = 0; r < 12; r++) {
  const t0 = performance.now();
  const res = [];
  for await (const o of spawner.spawnBatch(agents)) res.push(o);
  await Promise.all(res.map((o) => o.result));
  if (r < 2) continue;
  rows.push(res.map((x) => `${x.timings.queueMs?.toFixed(1)}/${x.timings.buildMs?.toFixed(1)}/${x.timings.launchMs?.toFixed(1)}/${x.timings.spawnMs?.toFixed(1)}`).join('  ') + `   wall ${(performance.now() - t0).toFixed(0)}`);
}
console.log(launcher, 'rss', Math.round(process.memoryUsage.rss() / 2 ** 20), 'MB  queue/build/launch/spawn ms');
console.log(rows.join('\n'));
await spawner.close();
