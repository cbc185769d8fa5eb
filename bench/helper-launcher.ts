/**
 * `npx tsx bench/helper-launcher.ts [--quick]`: the helper launcher against
 * the direct one. Prints Markdown tables and writes them to
 * bench/results/helper-launcher.md.
 *
 * 1. Transport: what a 1 MB prompt costs on its way to the helper.
 * 2. Fan-out: N `/bin/true`, C in flight: raw Node, xargs, spawnpool direct and helper (1, 2, 4 helpers).
 * 3. Host size: 8 agents per batch at growing host RSS (real, touched allocations),
 *    direct vs helper, interleaved (A B A B), warm-up discarded: spawn latency p50/p95
 *    and main-thread event-loop delay max; the crossover gives the 'auto' threshold.
 *
 * --quick: fewer runs and sizes (checks the wiring; the figures are rough).
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { AUTO_HELPER_RSS_BYTES } from '../src/launch/auto-launcher.ts';
import { mb, type LevelResult } from './helper-launcher/latency.ts';
import { fmt, median, quantile, ratio } from './helper-launcher/stats.ts';
import type { EndToEnd, RoundTrips } from './helper-launcher/transport.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' } }, strict: true });
const quick = values.quick;
const GB = 2 ** 30;
const MBYTES = 2 ** 20;
const config = quick
  ? { transportRuns: 10, fanoutAgents: 500, fanoutRuns: 1, levels: [0, 256 * MBYTES, GB], runs: 3 }
  : { transportRuns: 30, fanoutAgents: 2000, fanoutRuns: 3, levels: [0, 128 * MBYTES, 256 * MBYTES, 512 * MBYTES, GB, 2 * GB, 4 * GB], runs: 10 };
const CONCURRENCY = 64;
const AGENTS_PER_BATCH = 8;

const SECTION = fileURLToPath(new URL('./helper-launcher/section.ts', import.meta.url));
const RAW = fileURLToPath(new URL('./helper-launcher/raw-fanout.mjs', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Runs one section in a fresh host process (see section.ts) and returns its JSON result. */
async function section<T>(...args: (string | number)[]): Promise<T> {
  // The raw baseline runs on plain node: the smallest host, the hardest baseline.
  const argv = args[0] === 'fanout' && args[1] === 'raw' ? [RAW, ...args.slice(2).map(String)] : ['--import', TSX, SECTION, ...args.map(String)];
  const { stdout } = await promisify(execFile)(process.execPath, argv, { maxBuffer: 64 << 20 });
  return JSON.parse(stdout) as T;
}

const out: string[] = [];
const print = (line = '') => {
  out.push(line);
  console.log(line);
};

print(`# Helper launcher benchmark${quick ? ' (--quick)' : ''}`);
print();
print(`${new Date().toISOString()} · node ${process.version} · ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}) · load average at start ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} · from source (tsx): the helper runs under tsx too (bigger than from dist/) · each section in a fresh host process`);
print();

// 1. Transport
print('## 1 MB prompt: transport overhead');
print();
const { trips, e2e } = await section<{ trips: RoundTrips[]; e2e: EndToEnd[] }>('transport', config.transportRuns);
print('| transport | round trip, empty (ms) | round trip, 1 MB (ms) | 1 MB one way, over empty (ms) |');
print('|---|---|---|---|');
for (const t of trips) print(`| ${t.name} | ${fmt(t.emptyMs, 2)} | ${fmt(t.oneMbMs, 2)} | ${fmt((t.oneMbMs - t.emptyMs) / 2, 2)} |`);
print();
print('| launcher | launch() → spawned, empty prompt (ms) | same, 1 MB stdin prompt (ms) | 1 MB minus empty (ms) |');
print('|---|---|---|---|');
for (const e of e2e) print(`| ${e.mode} | ${fmt(e.emptyMs, 2)} | ${fmt(e.oneMbMs, 2)} | ${fmt(e.oneMbMs - e.emptyMs, 2)} |`);
print(`\nMedians of ${config.transportRuns} runs each. Direct writes stdin after the spawn event, so its 1 MB − empty is ~0; the helper's is the prompt's trip to the helper.`);
print();

// 2. Fan-out
print(`## Fan-out: ${config.fanoutAgents} × /bin/true, ${CONCURRENCY} in flight`);
print();
// Each run of each variant in a fresh, small host; variants interleaved run by run.
const VARIANTS = ['raw', 'xargs', 'direct', 'helper-1', 'helper-2', 'helper-4'];
const rates = new Map<string, number[]>();
const fanoutRss: number[] = [];
for (let r = 0; r < config.fanoutRuns; r++) {
  for (const variant of VARIANTS) {
    const res = await section<{ name: string; rate: number; hostRssMb: number }>('fanout', variant, config.fanoutAgents, CONCURRENCY);
    rates.set(res.name, [...(rates.get(res.name) ?? []), res.rate]);
    fanoutRss.push(res.hostRssMb);
  }
}
const names = [...rates.keys()];
const rawRate = median(rates.get(names[0]!)!);
const xargsRate = median(rates.get(names[1]!)!);
print('| launcher | agents/s (median) | runs | vs raw Node | vs xargs |');
print('|---|---|---|---|---|');
for (const [name, rs] of rates) print(`| ${name} | ${fmt(median(rs), 0)} | ${rs.map((x) => fmt(x, 0)).join(', ')} | ${ratio(median(rs), rawRate)} | ${ratio(median(rs), xargsRate)} |`);
print(`\nEach run in a fresh host process (RSS ${fmt(Math.min(...fanoutRss), 0)}–${fmt(Math.max(...fanoutRss), 0)} MB), after a warm-up batch; variants interleaved run by run. Raw Node runs on plain node (no tsx) with stdio 'ignore'; spawnpool (under tsx) pipes stdout and stderr of every agent.`);
print();

// 3. Host size
print(`## Host size: ${AGENTS_PER_BATCH} × /bin/true per batch, direct vs helper`);
print();
const levels: LevelResult[] = [];
for (const target of config.levels) {
  const level = await section<LevelResult>('level', target, config.runs, AGENTS_PER_BATCH);
  levels.push(level);
  console.error(`  measured at host RSS ${fmt(level.hostRssMb, 0)} MB`);
}
print('| host RSS (MB) | helper RSS (MB) | direct p50 (ms) | direct p95 | helper p50 | helper p95 | helper/direct p50 | ELD max direct (median / worst, ms) | ELD max helper (median / worst, ms) | ELD max idle (median / worst, ms) | helper cold start (ms) |');
print('|---|---|---|---|---|---|---|---|---|---|---|');
for (const l of levels) {
  const d = l.direct;
  const h = l.helper;
  print(`| ${fmt(l.hostRssMb, 0)} | ${fmt(l.helperRssMb, 0)} | ${fmt(quantile(d.spawnMs, 0.5))} | ${fmt(quantile(d.spawnMs, 0.95))} | ${fmt(quantile(h.spawnMs, 0.5))} | ${fmt(quantile(h.spawnMs, 0.95))} | ${ratio(quantile(h.spawnMs, 0.5), quantile(d.spawnMs, 0.5))} | ${fmt(median(d.eldMaxMs))} / ${fmt(Math.max(...d.eldMaxMs))} | ${fmt(median(h.eldMaxMs))} / ${fmt(Math.max(...h.eldMaxMs))} | ${fmt(median(l.idleEldMaxMs))} / ${fmt(Math.max(...l.idleEldMaxMs))} | ${fmt(l.helperColdMs)} |`);
}
print(`\n${config.runs} measured runs per mode and size (${config.runs * AGENTS_PER_BATCH} spawns), after one warm-up run each. Spawn latency: batch start to the spawn event (the ${AGENTS_PER_BATCH} forks queue behind each other). ELD: monitorEventLoopDelay, resolution 1 ms, over each batch until its last exit; 'idle' is the same monitor over an idle wait as long as the helper batch (the machine's noise floor). One spawner per size, its launcher switched between direct and helper run by run.`);
print();

// Targets and the 'auto' threshold
const first = levels[0]!;
const last = levels.at(-1)!;
const p95 = (s: number[]) => quantile(s, 0.95);
print('## Targets');
print();
print(`- helper p95 at ${fmt(last.hostRssMb, 0)} MB vs at ${fmt(first.hostRssMb, 0)} MB: ${ratio(p95(last.helper.spawnMs), p95(first.helper.spawnMs))} (target <= 1.5x)`);
print(`- ELD max at ${fmt(last.hostRssMb, 0)} MB: helper worst ${fmt(Math.max(...last.helper.eldMaxMs))} ms, direct median ${fmt(median(last.direct.eldMaxMs))} ms (target: helper < 5 ms where direct > 100 ms)`);
const bestHelper = Math.max(...[1, 2, 4].map((h) => median(rates.get(`spawnpool helper, helpers ${h}`)!)));
print(`- fan-out, best helper count vs raw Node: ${ratio(bestHelper, rawRate)} (target >= 1.5x); vs xargs: ${ratio(bestHelper, xargsRate)}`);
const crossover = levels.find((l) => quantile(l.helper.spawnMs, 0.5) <= quantile(l.direct.spawnMs, 0.5));
print(`- crossover (smallest host size measured where helper p50 <= direct p50): ${crossover ? `${fmt(crossover.hostRssMb, 0)} MB` : 'none measured'}; AUTO_HELPER_RSS_BYTES is ${fmt(mb(AUTO_HELPER_RSS_BYTES), 0)} MB`);
print();
print(`The machine may be shared: load average at the end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}.`);

const file = values.out ?? new URL('./results/helper-launcher.md', import.meta.url).pathname;
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(file, `${out.join('\n')}\n`);
console.error(`written to ${file}`);
