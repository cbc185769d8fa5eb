import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Spawner, resolveAgents } from '/work/main/src/index.ts';
import { createContextFixture } from '/work/main/bench/lib/context-fixture.ts';
const fixture = await createContextFixture();
const spawner = new Spawner({ root: fixture.root, launcher: (process.argv[2] ?? 'auto') as 'auto' });
await spawner.ready;
const agents = resolveAgents(Array.from({ length: 8 }, (_, i) => ({ name: `cpu-${i + 1}`, command: 'dd', args: ['of=/dev/null', 'bs=64k', 'status=none'], prompt: { template: 'You are {{agent}}. Summarise.', context: [fixture.file], maxTokens: 16000 } })));
const out: string[] = [];
for (let r = 0; r < 25; r++) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const res = [];
  for await (const o of spawner.spawnBatch(agents)) res.push(o);
  h.disable();
  await Promise.all(res.map((o) => o.result));
  if (r >= 5) out.push(`p99 ${(h.percentile(99) / 1e6 - 1).toFixed(1)} max ${(h.max / 1e6 - 1).toFixed(1)}`);
}
console.log(out.join(' | '));
await spawner.close();
