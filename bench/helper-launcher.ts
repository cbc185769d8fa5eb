/**
 * `npx tsx bench/helper-launcher.ts [--quick] [--only SECTIONS] [--helpers N] [--out FILE]`:
 * the helper launcher against the direct one, ratios in one run. Prints
 * Markdown tables and writes them to bench/results/helper-launcher.md.
 *
 *   transport  what a 1 MB prompt costs on its way to the helper
 *   fanout     N `/bin/true`, C in flight: raw Node, xargs, spawnpool direct and helper (1, 2, 4 helpers)
 *   crossover  launch latency vs host RSS without a Spawner (smallest hosts): the 'auto' threshold
 *   levels     8 agents per batch at host RSS ~bare, ..., 1 GB, 4 GB (real, touched allocations),
 *              direct vs helper: spawn latency p50/p95, main-thread event-loop delay max
 *
 * Every section runs in fresh host processes (section.ts), so each host
 * starts small and carries nothing from the one before.
 * --quick: fewer runs and sizes (checks the wiring; the figures are rough).
 * --helpers N: helpers of the helper launcher in transport, crossover and levels (default DEFAULT_HELPERS).
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { AUTO_HELPER_RSS_BYTES } from '../src/index.ts';
// The library's default helper count, reported beside the figures; not part of the public API.
import { DEFAULT_HELPERS } from '../src/launch/helper/helper-launcher.ts';
import type { CrossoverResult } from './helper-launcher/crossover.ts';
import { mb, type LevelResult } from './helper-launcher/latency.ts';
import type { FanoutRun } from './helper-launcher/section.ts';
import { median, quantile } from 'simple-statistics';
import { fmt, ratio } from './helper-launcher/stats.ts';
import type { EndToEnd, RoundTrips } from './helper-launcher/transport.ts';

const SECTIONS = ['transport', 'fanout', 'crossover', 'levels'] as const;
const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, helpers: { type: 'string' }, out: { type: 'string' } },
  strict: true,
});
const quick = values.quick;
const only = new Set(values.only === undefined ? SECTIONS : values.only.split(','));
for (const s of only) if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`Expected --only to list ${SECTIONS.join(', ')}, got \`${s}\``);

// The latency sections' helper count reaches their processes through the environment.
if (values.helpers !== undefined) process.env.SPAWNPOOL_BENCH_HELPERS = values.helpers;
const helpers = values.helpers ?? String(DEFAULT_HELPERS);

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const config = quick
  ? { transportRuns: 10, fanoutAgents: 500, fanoutRuns: 1, crossover: [0, 256 * MiB], levels: [0, GiB], runs: 3 }
  : {
      transportRuns: 30,
      fanoutAgents: 2000,
      fanoutRuns: 3,
      crossover: [0, 64 * MiB, 128 * MiB, 192 * MiB, 256 * MiB, 384 * MiB, 512 * MiB],
      levels: [0, 256 * MiB, 512 * MiB, GiB, 2 * GiB, 4 * GiB],
      runs: 10,
    };
const CONCURRENCY = 64;
const AGENTS_PER_BATCH = 8;

const SECTION = fileURLToPath(new URL('./helper-launcher/section.ts', import.meta.url));
const RAW = fileURLToPath(new URL('./helper-launcher/raw-fanout.mjs', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Runs one section in a fresh host process and returns its JSON result. */
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
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const p95 = (s: number[]) => quantile(s, 0.95);
const targets: string[] = [];

print(`# Helper launcher benchmark${quick ? ' (--quick)' : ''}`);
print();
print(
  `${new Date().toISOString()} · node ${process.version} · ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}) · load average at start ${load()} · from source: hosts and helpers run under tsx (a helper from dist/ is smaller) · 'helper' in the transport, crossover and host-size sections: ${helpers} helper(s)${values.helpers === undefined ? ' (the default)' : ''}`,
);
print();

if (only.has('transport')) await transport();
if (only.has('fanout')) await fanout();
if (only.has('crossover')) await crossover();
if (only.has('levels')) await levels();

print('## Targets');
print();
for (const t of targets) print(`- ${t}`);
print();
print(`Load average at the end: ${load()} (the machine may be shared; figures from a busy machine are not comparable with an idle one).`);

const file = values.out ?? fileURLToPath(new URL('./results/helper-launcher.md', import.meta.url));
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(file, `${out.join('\n')}\n`);
console.error(`written to ${file}`);

async function transport(): Promise<void> {
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
  print();
  print(
    `Medians of ${config.transportRuns} runs each. Round trips: one message echoed by a peer process. End to end: \`sh -c 'cat > /dev/null'\` given the prompt on stdin.`,
  );
  print();
}

async function fanout(): Promise<void> {
  print(`## Fan-out: ${config.fanoutAgents} × /bin/true, ${CONCURRENCY} in flight`);
  print();
  const runs = new Map<string, FanoutRun[]>();
  for (let r = 0; r < config.fanoutRuns; r++) {
    for (const variant of ['raw', 'xargs', 'direct', 'helper-1', 'helper-2', 'helper-4']) {
      const run = await section<FanoutRun>('fanout', variant, config.fanoutAgents, CONCURRENCY);
      runs.set(run.name, [...(runs.get(run.name) ?? []), run]);
    }
  }
  const rate = (name: string) => median(runs.get(name)!.map((r) => r.rate));
  const [rawName, xargsName] = [...runs.keys()];
  print('| launcher | agents/s (median) | runs | vs raw Node | vs xargs | CPU ms/agent: host | helpers |');
  print('|---|---|---|---|---|---|---|');
  for (const [name, rs] of runs) {
    const cpu = (pick: (r: FanoutRun) => number) => fmt(median(rs.map(pick)), 2);
    print(
      `| ${name} | ${fmt(rate(name), 0)} | ${rs.map((r) => fmt(r.rate, 0)).join(', ')} | ${ratio(rate(name), rate(rawName!))} | ${ratio(rate(name), rate(xargsName!))} | ${cpu((r) => r.hostCpuMsPerAgent)} | ${cpu((r) => r.helperCpuMsPerAgent)} |`,
    );
  }
  const rss = [...runs.values()].flat().map((r) => r.hostRssMb);
  print();
  print(
    `Each run in a fresh host process (RSS ${fmt(Math.min(...rss), 0)}–${fmt(Math.max(...rss), 0)} MB) after a warm-up batch; variants interleaved run by run. Raw Node: plain node, stdio 'ignore'. spawnpool: under tsx, pipes stdout and stderr of every agent. CPU: user + system of the launching processes (host: all its threads; helpers: from /proc, 10 ms ticks), agents' own CPU excluded; the sum bounds the rate on a saturated machine.`,
  );
  print();
  const best = Math.max(...[1, 2, 4].map((h) => rate(`spawnpool helper, helpers ${h}`)));
  const xargsVsRaw = rate(xargsName!) / rate(rawName!);
  const ceiling =
    xargsVsRaw < 1.5
      ? `; xargs, a C program that does nothing else, reaches ${xargsVsRaw.toFixed(2)}x raw Node on this machine, so 1.5x is above what any launcher reached here`
      : '';
  targets.push(`fan-out, best helper count vs raw Node: ${ratio(best, rate(rawName!))} (target >= 1.5x); vs xargs: ${ratio(best, rate(xargsName!))}${ceiling}`);
}

async function crossover(): Promise<void> {
  print(`## Crossover: ${AGENTS_PER_BATCH} launches at once, no Spawner (smallest hosts)`);
  print();
  const rows: CrossoverResult[] = [];
  for (const target of config.crossover) rows.push(await section<CrossoverResult>('crossover', target, config.runs, AGENTS_PER_BATCH));
  print('| host RSS (MB) | direct p50 (ms) | direct p95 | helper p50 | helper p95 | helper/direct p50 |');
  print('|---|---|---|---|---|---|');
  for (const r of rows)
    print(
      `| ${fmt(r.hostRssMb, 0)} | ${fmt(median(r.directMs))} | ${fmt(p95(r.directMs))} | ${fmt(median(r.helperMs))} | ${fmt(p95(r.helperMs))} | ${ratio(median(r.helperMs), median(r.directMs))} |`,
    );
  print();
  print(
    `launch() to the spawn event of each of ${AGENTS_PER_BATCH} launches issued together; ${config.runs} runs per launcher and size (interleaved, warm-up discarded). The host is a bare tsx process plus ballast.`,
  );
  print();
  // Targets are grown to, not hit exactly: order by the RSS each host really had.
  const bySize = [...rows].sort((a, b) => a.hostRssMb - b.hostRssMb);
  const first = bySize.find((r) => median(r.helperMs) <= median(r.directMs));
  const where =
    first === undefined
      ? 'not within the sizes measured'
      : first === bySize[0]
        ? `at or below the smallest host measured (${fmt(first.hostRssMb, 0)} MB): the crossover itself is not measured here`
        : `between ${fmt(bySize[bySize.indexOf(first) - 1]!.hostRssMb, 0)} and ${fmt(first.hostRssMb, 0)} MB`;
  targets.push(`'auto' threshold: the helper's p50 first matches direct ${where}; AUTO_HELPER_RSS_BYTES is ${fmt(mb(AUTO_HELPER_RSS_BYTES), 0)} MB`);
}

async function levels(): Promise<void> {
  print(`## Host size: ${AGENTS_PER_BATCH} × /bin/true per batch, direct vs helper`);
  print();
  const rows: LevelResult[] = [];
  for (const target of config.levels) {
    rows.push(await section<LevelResult>('level', target, config.runs, AGENTS_PER_BATCH));
    console.error(`  measured at host RSS ${fmt(rows.at(-1)!.hostRssMb, 0)} MB`);
  }
  print(
    '| host RSS (MB) | helper RSS (MB) | direct p50 (ms) | direct p95 | helper p50 | helper p95 | helper/direct p50 | ELD max direct (median / worst, ms) | ELD max helper (median / worst) | ELD max idle (median / worst) | ELD max while another process launches them (median / worst) | main thread busy per batch, direct / helper (ms, median) | helper cold start (ms) |',
  );
  print('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const l of rows) {
    const [d, h] = [l.direct, l.helper];
    const eld = (s: number[]) => `${fmt(median(s))} / ${fmt(Math.max(...s))}`;
    print(
      `| ${fmt(l.hostRssMb, 0)} | ${fmt(l.helperRssMb, 0)} | ${fmt(median(d.spawnMs))} | ${fmt(p95(d.spawnMs))} | ${fmt(median(h.spawnMs))} | ${fmt(p95(h.spawnMs))} | ${ratio(median(h.spawnMs), median(d.spawnMs))} | ${eld(d.eldMaxMs)} | ${eld(h.eldMaxMs)} | ${eld(l.idleEldMaxMs)} | ${eld(l.externalEldMaxMs)} | ${fmt(median(d.busyMs))} / ${fmt(median(h.busyMs))} | ${fmt(l.helperColdMs)} |`,
    );
  }
  print();
  print(
    `${config.runs} measured runs per launcher and size (${config.runs * AGENTS_PER_BATCH} spawns each), after one warm-up run each, interleaved (direct, helper, direct, ...). One spawner (one build worker) per size, its launcher switched run by run. Spawn latency: batch start to the spawn event. ELD: monitorEventLoopDelay (resolution 1 ms) over each batch until its last exit; 'idle': the same monitor over an idle wait as long as the helper batch, the machine's noise floor; 'another process': the same monitor while a shell started before the measurements runs \`xargs -P ${AGENTS_PER_BATCH}\` on the same agents and this thread only waits for its answer on a pipe: what starting that many processes at once costs this thread on this machine, with no launcher work of its own. Busy: event-loop utilisation, active ms (a delay far above it is a stall outside the thread's own work). Helper cold start: the first batch, the helper's own start (a fork of the host at that size) included.`,
  );
  print();
  const [first, last] = [rows[0]!, rows.at(-1)!];
  targets.push(
    `helper p95 at ${fmt(last.hostRssMb, 0)} MB vs at ${fmt(first.hostRssMb, 0)} MB: ${ratio(p95(last.helper.spawnMs), p95(first.helper.spawnMs))} (target <= 1.5x)`,
  );
  targets.push(
    `ELD max at ${fmt(last.hostRssMb, 0)} MB: helper median ${fmt(median(last.helper.eldMaxMs))} ms, worst ${fmt(Math.max(...last.helper.eldMaxMs))} ms (idle noise floor: median ${fmt(median(last.idleEldMaxMs))}, worst ${fmt(Math.max(...last.idleEldMaxMs))}; while another process launches the same agents: median ${fmt(median(last.externalEldMaxMs))}, worst ${fmt(Math.max(...last.externalEldMaxMs))}); direct median ${fmt(median(last.direct.eldMaxMs))} ms (target: helper < 5 ms where direct > 100 ms)`,
  );
}
