/**
 * cycles-100, the seed's "zero corruption": 100 cycles of a concurrent
 * 8-agent batch on one spawner, then every ring counter checked against
 * what must have happened.
 */
import { resolveAgents } from '../../src/spec/resolve.ts';
import { num } from '../lib/format.ts';
import { runInterleaved } from '../lib/interleave.ts';
import { variantResults } from '../lib/result.ts';
import { runSpawnpoolBatch } from '../lib/spawnpool-run.ts';
import { benchSpawner, launchProbe } from '../lib/spawner.ts';
import type { MetricDef, Scenario, ScenarioContext, ScenarioResult, Target } from '../lib/types.ts';

const AGENTS = 8;
/** Every agent writes a BUILD, a SPAWN and an EXIT record. */
const RECORDS_PER_AGENT = 3;

const WALL: MetricDef = { key: 'wallMs', label: 'cycle: time to all spawned', unit: 'ms', better: 'lower' };
const SPAWN: MetricDef = { key: 'spawnMs', label: 'spawn latency (per agent)', unit: 'ms', better: 'lower' };

export const cycles100: Scenario = {
  name: 'cycles-100',
  title: 'cycles-100: 100 cycles of a concurrent 8-agent batch, counters exact',
  async run(ctx: ScenarioContext): Promise<ScenarioResult> {
    const started = performance.now();
    const cycles = ctx.runs({ quick: 100, full: 100, tiny: 3 });
    const spawner = benchSpawner(ctx);
    try {
      await spawner.ready;
      const launch = launchProbe(ctx);
      const agents = resolveAgents(
        Array.from({ length: AGENTS }, (_, i) => ({
          name: `c-${i + 1}`,
          command: 'dd',
          args: ['of=/dev/null', 'status=none'],
          prompt: { template: 'Agent {{agent}}: task {{task}} of the cycle.', vars: { task: i + 1 } },
        })),
      );
      const samples = await runInterleaved({
        runs: cycles,
        warmup: ctx.warmup,
        progress: ctx.progress,
        label: 'cycles',
        variants: [
          {
            name: 'spawnpool',
            async run() {
              const batch = await runSpawnpoolBatch(spawner, agents);
              await batch.exited;
              return { wallMs: batch.wallMs, spawnMs: batch.spawnMs };
            },
          },
        ],
      });
      const snap = spawner.metrics.snapshot();
      const counters = spawner.metrics.counters();
      // Warm-up cycles went through the same spawner: they count too.
      const agentsRun = (cycles + ctx.warmup) * AGENTS;
      const expected = agentsRun * RECORDS_PER_AGENT;
      const t = snap.totals;
      const exact = t.build.ok === agentsRun && t.spawn.ok === agentsRun && t.exit.ok === agentsRun && t.build.failed + t.spawn.failed + t.exit.failed === 0;
      const targets: Target[] = [
        {
          kind: 'correctness',
          description: 'zero invalid ring records',
          measured: `${snap.invalid} invalid, ${snap.dropped} dropped`,
          met: snap.invalid === 0,
        },
        {
          kind: 'correctness',
          description: `written == ${expected} (${RECORDS_PER_AGENT} records x ${agentsRun} agents) and read + dropped == written`,
          measured: `written ${counters.written}, read ${counters.read}, dropped ${counters.dropped}, pending ${counters.pending}`,
          met: counters.written === expected && counters.read + counters.dropped === counters.written,
        },
        {
          kind: 'correctness',
          description: `exact per-stage totals: ${agentsRun} ok builds, spawns and exits, 0 failed`,
          measured: `build ${t.build.ok}/${t.build.failed}, spawn ${t.spawn.ok}/${t.spawn.failed}, exit ${t.exit.ok}/${t.exit.failed} (ok/failed)`,
          met: exact,
        },
      ];
      return {
        name: 'cycles-100',
        title: this.title,
        params: { ...launch.params(), cycles, agents: AGENTS, agent: 'dd of=/dev/null (drains stdin)', warmup: ctx.warmup },
        metrics: [WALL, SPAWN],
        variants: variantResults(samples, [
          {
            name: 'spawnpool',
            role: 'candidate',
            description: `spawner.spawnBatch() of ${AGENTS} agents with light prompts, ${cycles} times on one spawner, each cycle waiting for every exit`,
          },
        ]),
        comparisons: [],
        targets,
        facts: [
          {
            label: 'window after the run (metrics.snapshot())',
            value: `${snap.count} outcomes, success rate ${num(snap.successRate)}, spawn p50 ${num(snap.p50Ms)} ms, p95 ${num(snap.p95Ms)} ms`,
          },
          { label: 'build window', value: `${snap.build.count} outcomes, p50 ${num(snap.build.p50Ms)} ms, p95 ${num(snap.build.p95Ms)} ms` },
        ],
        notes: ["Counters are read from the ring's header atomics and the reader's own tallies after the last cycle; nothing is sampled."],
        charts: [{ metric: WALL.key, title: 'cycles-100: per cycle, time to all 8 spawned (ms)' }],
        durationMs: performance.now() - started,
      };
    } finally {
      await spawner.close();
    }
  },
};
