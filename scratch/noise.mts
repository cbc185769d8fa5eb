import { monitorEventLoopDelay } from 'node:perf_hooks';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
// Started once, before any measurement: the host forks nothing while measured.
const launcher = spawn('sh', ['-c', 'while read x; do seq 8 | xargs -P 8 -n 1 /bin/true; echo done; done'], { stdio: ['pipe', 'pipe', 'ignore'] });
const lines = createInterface({ input: launcher.stdout! })[Symbol.asyncIterator]();
const out: string[] = [];
for (let r = 0; r < 30; r++) {
  await new Promise((r) => setTimeout(r, 30));
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  launcher.stdin!.write('go\n');
  await lines.next();
  h.disable();
  if (r >= 5) out.push((h.max / 1e6).toFixed(1));
}
launcher.stdin!.end();
const sorted = out.map(Number).sort((a, b) => a - b);
console.log('ELD max, 8 agents launched by another process:', out.join(' '), ' median', sorted[sorted.length >> 1]);
