// The raw baseline of the fan-out, on plain node (no tsx: the smallest host
// Node can be): N `/bin/true` with `child_process.spawn` from the main
// thread, C in flight, stdio 'ignore'. A warm-up round, then one timed run;
// prints { name, rate, hostRssMb, hostCpuMsPerAgent, helperCpuMsPerAgent } as JSON.
import { spawn } from 'node:child_process';

const [n, concurrency] = process.argv.slice(2).map(Number);

function run(count) {
  const started = performance.now();
  let launched = 0;
  let running = 0;
  return new Promise((resolve, reject) => {
    const next = () => {
      if (launched === count) {
        if (running === 0) resolve(performance.now() - started);
        return;
      }
      launched++;
      running++;
      const child = spawn('/bin/true', [], { stdio: 'ignore' });
      child.once('error', reject);
      child.once('exit', () => {
        running--;
        next();
      });
    };
    for (let i = 0; i < concurrency; i++) next();
  });
}

await run(Math.min(n, concurrency * 2));
const hostRssMb = process.memoryUsage.rss() / 2 ** 20;
const cpu = process.cpuUsage();
const ms = await run(n);
const { user, system } = process.cpuUsage(cpu);
const hostCpuMsPerAgent = (user + system) / 1000 / n;
process.stdout.write(
  `${JSON.stringify({ name: 'raw Node spawn (main thread, plain node)', rate: (n / ms) * 1000, hostRssMb, hostCpuMsPerAgent, helperCpuMsPerAgent: 0 })}\n`,
);
