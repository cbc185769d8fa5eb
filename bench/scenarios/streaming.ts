/**
 * streaming: one agent writes lots of lines (`yes | head`, 100-byte lines:
 * 100 MB with --full, 20 MB in quick mode, 1 MB tiny) and the host takes its
 * output four ways: spawnpool's buffer (cut at maxOutputBytes), spawnpool's
 * live `lines()`, spawnpool to a file (`stdoutFile`, `buffer: false`), and
 * plain execa with `lines: true` (plus execa's own line iterator as a
 * reference). Measured: bytes per second and the host's CPU per MB: the
 * bench process (every thread), plus spawnpool's helper process when the
 * helper launcher forks the agent. The agent's own CPU (sh, yes, head) is
 * the same for all and not counted.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { resolveAgents, type Spawner } from '../../src/index.ts';
import { childrenCpuUs, mainThreadCpuUs } from '../../test/support/procfs.ts';
import { num, ratio } from '../lib/format.ts';
import { runInterleaved, type RunSample, type Variant } from '../lib/interleave.ts';
import { compareAll, summaryOf, variantResults, type VariantInfo } from '../lib/result.ts';
import { benchSpawner } from '../lib/spawner.ts';
import type { BenchLauncher, MetricDef, Scenario, ScenarioContext, ScenarioResult, Target } from '../lib/types.ts';

/** 99 characters and a newline. */
const LINE = `${'streamed output line '.repeat(5)}`.slice(0, 99);
const LINE_BYTES = LINE.length + 1;
const MB = { tiny: 1, quick: 20, full: 100 };
/** spawnpool streamed may cost at most this many times plain execa's host CPU per MB. */
const TARGET_RATIO = 1.5;

const RATE: MetricDef = { key: 'mbPerSec', label: 'throughput', unit: 'MB/s', better: 'higher' };
const CPU: MetricDef = { key: 'cpuMsPerMb', label: 'host CPU per MB (bench process + helper)', unit: 'ms/MB', better: 'lower' };
const PROC_CPU: MetricDef = { key: 'procCpuMsPerMb', label: 'bench-process CPU per MB (all threads)', unit: 'ms/MB', better: 'lower' };
const MAIN_CPU: MetricDef = { key: 'mainCpuMsPerMb', label: 'main-thread CPU per MB', unit: 'ms/MB', better: 'lower' };
const HELPER_CPU: MetricDef = { key: 'helperCpuMsPerMb', label: 'helper-process CPU per MB', unit: 'ms/MB', better: 'lower' };
const DROPPED: MetricDef = { key: 'droppedMb', label: 'output dropped unread', unit: 'MB', better: 'lower' };

type Way = 'buffered' | 'streamed' | 'file';
const WAYS: Record<Way, string> = {
  buffered:
    'spawner.spawnBatch([agent]) with the defaults: the launch side reads every byte and keeps maxOutputBytes (1 MiB) for result.stdout; awaits batch.results',
  streamed: "spawnBatch([agent], { stream: true }), the main thread counting outcome.stdout.lines() as they come (the agent's buffer on, as by default)",
  file: "spawnBatch([{ ...agent, stdoutFile, buffer: false }]): the launch side writes every byte to a file; the file's size checked after",
};

export const streamingScenario: Scenario = {
  name: 'streaming',
  title: 'streaming: one agent writing 100 MB of lines (--full; 20 MB in quick mode), read four ways',
  async run(ctx: ScenarioContext): Promise<ScenarioResult> {
    const started = performance.now();
    const runs = ctx.runs({ quick: 5, full: 10 });
    const mb = ctx.tiny ? MB.tiny : MB[ctx.mode];
    const lines = Math.round((mb * 1e6) / LINE_BYTES);
    const bytes = lines * LINE_BYTES;
    const args = ['-c', 'yes "$1" | head -n "$2"', 'sh', LINE, String(lines)];
    const agent = { name: 'loud', command: 'sh', args };
    // Both launchers unless the run chose one: the helper moves the reading into another process.
    const launchers: BenchLauncher[] = ctx.launcher === undefined ? ['direct', 'helper'] : [ctx.launcher];
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spawnpool-bench-streaming-'));
    const spawners = new Map<BenchLauncher, Spawner>(launchers.map((l) => [l, benchSpawner({ ...ctx, launcher: l }, { workers: 1 })]));
    try {
      await Promise.all([...spawners.values()].map((s) => s.ready));
      const measured = (work: () => Promise<number>) => async (): Promise<RunSample> => {
        const cpu0 = process.cpuUsage();
        const main0 = mainThreadCpuUs() ?? 0;
        const helper0 = childrenCpuUs();
        const t0 = performance.now();
        const dropped = await work();
        const wallMs = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        const procUs = cpu.user + cpu.system;
        // The agent has been reaped by now: what is left of this process's children is the helpers (and the direct launcher's watchdog).
        const helperUs = Math.max(0, childrenCpuUs() - helper0);
        const perMb = (us: number) => us / 1000 / (bytes / 1e6);
        return {
          mbPerSec: bytes / 1e6 / (wallMs / 1000),
          cpuMsPerMb: perMb(procUs + helperUs),
          procCpuMsPerMb: perMb(procUs),
          mainCpuMsPerMb: perMb((mainThreadCpuUs() ?? 0) - main0),
          helperCpuMsPerMb: perMb(helperUs),
          droppedMb: dropped / 1e6,
        };
      };

      const spawnpoolRun = (spawner: Spawner, way: Way) => async (): Promise<number> => {
        const file = path.join(dir, `out-${way}`);
        const [resolved] = resolveAgents([way === 'file' ? { ...agent, stdoutFile: file, buffer: false } : agent]);
        const batch = spawner.spawnBatch([resolved!], { stream: way === 'streamed' });
        let dropped = 0;
        let seen = 0;
        for await (const o of batch) {
          if (way !== 'streamed') continue;
          for await (const _ of o.stdout.lines()) seen++;
          dropped = o.stdout.droppedBytes;
        }
        const [result] = await batch.results;
        if (!result?.ok) throw new Error(`spawnpool ${way}: the agent failed: ${result?.error?.message ?? ''}`);
        if (way === 'buffered' && Buffer.byteLength(result.stdout) !== Math.min(bytes, resolved!.maxOutputBytes))
          throw new Error(`spawnpool buffered: kept ${Buffer.byteLength(result.stdout)} bytes`);
        // A consumer that fell behind sees fewer lines: only the dropped bytes may account for them.
        if (way === 'streamed' && (dropped === 0 ? seen !== lines : seen > lines))
          throw new Error(`spawnpool streamed: ${seen} of ${lines} lines, ${dropped} bytes dropped`);
        if (way === 'file') {
          const size = (await stat(file)).size;
          await rm(file, { force: true });
          if (size !== bytes) throw new Error(`spawnpool to file: ${size} of ${bytes} bytes`);
        }
        return dropped;
      };

      const execaLines = async (): Promise<number> => {
        const result = await execa('sh', args, { lines: true, stdin: 'ignore' });
        if (result.stdout.length !== lines) throw new Error(`execa lines: ${result.stdout.length} of ${lines} lines`);
        return 0;
      };
      const execaIterate = async (): Promise<number> => {
        const subprocess = execa('sh', args, { buffer: false, stdin: 'ignore' });
        let seen = 0;
        for await (const _ of subprocess) seen++;
        await subprocess;
        if (seen !== lines) throw new Error(`execa iterate: ${seen} of ${lines} lines`);
        return 0;
      };

      const name = (way: Way, launcher: BenchLauncher) => `spawnpool ${way === 'file' ? 'to file' : way} (${launcher})`;
      const infos: VariantInfo[] = [
        { name: 'execa lines', role: 'baseline', description: "plain execa('sh', args, { lines: true }): every line kept in result.stdout, counted at exit" },
        {
          name: 'execa iterate',
          role: 'reference',
          description: 'plain execa with buffer: false, `for await (const line of subprocess)` counting lines as they come: the streaming equivalent',
        },
        ...launchers.flatMap((l) =>
          (Object.keys(WAYS) as Way[]).map((way): VariantInfo => ({ name: name(way, l), role: 'candidate', description: `${WAYS[way]}; launcher ${l}` })),
        ),
      ];
      const variantsToRun: Variant[] = [
        { name: 'execa lines', run: measured(execaLines) },
        { name: 'execa iterate', run: measured(execaIterate) },
        ...launchers.flatMap((l) =>
          (Object.keys(WAYS) as Way[]).map((way): Variant => ({ name: name(way, l), run: measured(spawnpoolRun(spawners.get(l)!, way)) })),
        ),
      ];
      const samples = await runInterleaved({ runs, warmup: ctx.warmup, progress: ctx.progress, label: 'streaming', variants: variantsToRun });
      const variants = variantResults(samples, infos);
      const median = (v: string, m: MetricDef) => summaryOf(variants, v, m.key).median;
      const baseline = median('execa lines', CPU);

      const targets: Target[] = launchers.map((l) => {
        const v = name('streamed', l);
        const r = median(v, CPU) / baseline;
        const met = r <= TARGET_RATIO;
        return {
          kind: 'timing',
          description: `spawnpool streamed (${l}): host CPU per MB <= ${TARGET_RATIO}x plain execa lines: true`,
          measured: `${ratio(r)} (${num(median(v, CPU))} vs ${num(baseline)} ms/MB; ${num(median(v, RATE))} vs ${num(median('execa lines', RATE))} MB/s)`,
          met,
          ...(met
            ? {}
            : {
                bound: `spawnpool streamed (${l}) spends ${num(median(v, CPU))} ms of host CPU per MB: ${num(median(v, MAIN_CPU))} on the main thread (receiving the chunks from the launch thread, splitting lines), ${num(median(v, PROC_CPU) - median(v, MAIN_CPU))} on its other threads (launch thread, reading the pipe${l === 'helper' ? ' from the helper' : ''}), ${num(median(v, HELPER_CPU))} in the helper process; plain execa lines: true spends ${num(baseline)} and execa's line iterator ${num(median('execa iterate', CPU))} ms/MB, all on the main thread. The measured bound is ${ratio(r)} execa's CPU per MB.`,
              }),
        };
      });
      // No backpressure by design: a reader more than streamBufferBytes behind loses the oldest output (counted).
      for (const l of launchers) {
        const dropped = variants.find((v) => v.name === name('streamed', l))!.samples[DROPPED.key] ?? [];
        const runsDropping = dropped.filter((d) => d > 0).length;
        const met = runsDropping === 0;
        targets.push({
          kind: 'timing',
          description: `spawnpool streamed (${l}): the lines() reader kept up, nothing dropped past the 8 MiB stream buffer, in every run`,
          measured: `${runsDropping} of ${dropped.length} runs dropped output${met ? '' : `, at most ${num(Math.max(...dropped))} MB`}`,
          met,
          ...(met
            ? {}
            : {
                bound: `the main thread, only counting lines, fell more than 8 MiB behind an agent writing ${num(median(name('streamed', l), RATE))} MB/s (median) in ${runsDropping} of ${dropped.length} runs on this machine (load average ${os
                  .loadavg()
                  .map((x) => x.toFixed(1))
                  .join(
                    ' / ',
                  )} at the end); output streams have no backpressure, so the oldest unread bytes went, counted in droppedBytes. stdoutFile or resultsDir keep every byte.`,
              }),
        });
      }

      return {
        name: 'streaming',
        title: this.title,
        params: { agentMb: mb, lines, lineBytes: LINE_BYTES, launchers: launchers.join(', '), runs, warmup: ctx.warmup },
        metrics: [RATE, CPU, PROC_CPU, MAIN_CPU, HELPER_CPU, DROPPED],
        variants,
        comparisons: launchers.flatMap((l) => compareAll(variants, CPU, name('streamed', l), ['execa lines', 'execa iterate'], ctx.seed)),
        targets,
        facts: launchers.flatMap((l) => [
          {
            label: `host CPU per MB of spawnpool streamed (${l}), in multiples of execa lines: true's`,
            value: ratio(median(name('streamed', l), CPU) / baseline),
          },
          {
            label: `host CPU per MB of spawnpool streamed (${l}), in multiples of execa's line iterator's`,
            value: ratio(median(name('streamed', l), CPU) / median('execa iterate', CPU)),
          },
          {
            label: `host CPU per MB of spawnpool buffered (${l}), in multiples of execa lines: true's`,
            value: ratio(median(name('buffered', l), CPU) / baseline),
          },
          { label: `host CPU per MB of spawnpool to file (${l}), in multiples of execa lines: true's`, value: ratio(median(name('file', l), CPU) / baseline) },
        ]),
        notes: [
          `The agent is \`sh -c 'yes "$1" | head -n "$2"'\`: ${lines.toLocaleString('en-US')} lines of ${LINE_BYTES} bytes (${num(bytes / 1e6)} MB) per run, ${ctx.mode === 'full' ? 'the full size' : ctx.tiny ? 'tiny (wiring check)' : 'quick mode; --full writes 100 MB per run'}. Its own CPU is the same for every variant and is not counted.`,
          'Every run checks what it got: every line (execa, and spawnpool streamed unless it dropped bytes, when it may see no more lines than were written), every byte in the file, maxOutputBytes kept in the buffer; a failed check fails the scenario.',
          "Host CPU: the bench process's process.cpuUsage() (every thread: main, launch thread, build worker) plus, for the helper launcher, the CPU of the helper process (from /proc: this process's live children once the agent is reaped). Main-thread CPU from /proc/self/task/<pid>/schedstat.",
          "The targets and facts give spawnpool's CPU per MB over execa's (ratio of medians: above 1, spawnpool costs more); the comparison table, like every other scenario's, gives execa's over spawnpool's (above 1 favours spawnpool), with its bootstrap interval.",
        ],
        charts: [{ metric: CPU.key, title: 'streaming: host CPU per MB of agent output (ms/MB, lower is better)' }],
        durationMs: performance.now() - started,
      };
    } finally {
      await Promise.all([...spawners.values()].map((s) => s.close()));
      await rm(dir, { recursive: true, force: true });
    }
  },
};
