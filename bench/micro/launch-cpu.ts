/**
 * `npx tsx bench/micro/launch-cpu.ts [auto|direct|helper]`: where the CPU of
 * the busy-host scenario's batch goes (8 agents, `sh -c 'date; cat'`, 24 KB
 * prompts, 2 build workers), per batch, median of 12 after 3 warm-ups: this
 * process's threads other than the main one (build workers, launch thread),
 * the main thread (/proc schedstat), and the helper processes (this
 * process's live children, /proc), beside the batch's wall time to the last
 * agent spawned.
 */
import { Spawner } from '../../src/index.ts';
import { childrenCpuUs, mainThreadCpuUs } from '../../test/support/procfs.ts';
import { median } from '../lib/stats.ts';

const launcher = (process.argv[2] ?? 'auto') as 'auto' | 'direct' | 'helper';
const agents = Array.from({ length: 8 }, (_, i) => ({
  name: `a${i}`,
  command: 'sh',
  args: ['-c', 'date +%s%3N; cat > /dev/null'],
  prompt: { template: 'Review part {{part}} of the change.\n{{body}}', vars: { part: i + 1, body: 'lorem ipsum dolor '.repeat(1350) } },
}));
const spawner = new Spawner({ workers: 2, launcher });
await spawner.ready;
const figures = { offMain: [] as number[], main: [] as number[], helpers: [] as number[], lastSpawned: [] as number[] };
for (let round = 0; round < 15; round++) {
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuUs() ?? 0;
  const helpers0 = childrenCpuUs();
  const batch = spawner.spawnBatch(agents);
  const outcomes = [];
  for await (const o of batch) outcomes.push(o);
  await batch.results;
  const cpu = process.cpuUsage(cpu0);
  const main = (mainThreadCpuUs() ?? 0) - main0;
  if (round < 3) continue;
  figures.offMain.push((cpu.user + cpu.system - main) / 1000);
  figures.main.push(main / 1000);
  figures.helpers.push((childrenCpuUs() - helpers0) / 1000);
  figures.lastSpawned.push(Math.max(...outcomes.map((o) => o.timings.sinceBatchStartMs)));
}
await spawner.close();
const ms = (xs: number[]) => `${median(xs).toFixed(1)} ms`;
console.log(
  `launcher ${launcher}, per batch of 8: threads off the main thread ${ms(figures.offMain)}, main thread ${ms(figures.main)}, helper processes ${ms(figures.helpers)}; last agent spawned at ${ms(figures.lastSpawned)}`,
);
