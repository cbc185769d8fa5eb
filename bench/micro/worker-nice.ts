/**
 * `npx tsx bench/micro/worker-nice.ts [batches]`: the main thread's
 * event-loop delay during the cpu-8 batches (8 agents, ~400 KB context cut to
 * 16,000 tokens, `dd` agents), with the build workers at nice 0 and at the
 * Spawner's default `workerNice`. Two spawners, batches interleaved, first 5 of each discarded.
 */
import { resolveAgents, Spawner } from '../../src/index.ts';
import { createContextFixture } from '../lib/context-fixture.ts';
import { measureLoopDelay } from '../lib/event-loop.ts';
import { median } from '../lib/stats.ts';

const batches = Number(process.argv[2] ?? 25);
const WARMUP = 5;
const fixture = await createContextFixture();
const agents = resolveAgents(
  Array.from({ length: 8 }, (_, i) => ({
    name: `cpu-${i + 1}`,
    command: 'dd',
    args: ['of=/dev/null', 'bs=64k', 'status=none'],
    prompt: { template: 'You are {{agent}}. Summarise the design notes below.', context: [fixture.file], maxTokens: 16_000 },
  })),
);
const nices = [0, undefined];
const spawners = nices.map((workerNice) => new Spawner({ root: fixture.root, ...(workerNice === undefined ? {} : { workerNice }) }));
const p99 = nices.map((): number[] => []);
try {
  await Promise.all(spawners.map((s) => s.ready));
  for (let b = 0; b < WARMUP + batches; b++) {
    for (let k = 0; k < spawners.length; k++) {
      const i = (b + k) % spawners.length;
      const { value: results, delay } = await measureLoopDelay(async () => {
        const outcomes = [];
        for await (const o of spawners[i]!.spawnBatch(agents)) outcomes.push(o);
        return outcomes;
      });
      await Promise.all(results.map((o) => o.result));
      if (b >= WARMUP) p99[i]!.push(delay.p99Ms);
    }
  }
  for (const [i, nice] of nices.entries())
    console.log(`workerNice ${nice ?? 'default'}: main-thread event-loop delay p99, median of ${batches} batches: ${median(p99[i]!).toFixed(2)} ms`);
} finally {
  await Promise.all(spawners.map((s) => s.close()));
  await fixture.remove();
}
