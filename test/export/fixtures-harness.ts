/** A harness-like batch (a unique agent name per task) and what spawnpool itself counted of it, for the tests against real Prometheus. */
import type { AgentResult, AgentSpec, Batch, SpawnOutcome, Spawner } from '../../src/index.ts';

/**
 * 40 agents, every name unique (`<tag>-<kind>-<i>`): 30 spawn and exit 0 (15
 * with a prompt built on a worker), 5 exit 1, 3 name a missing binary, 2
 * have a template longer than their token budget (their build fails with
 * E_BUILD, on the worker: the CLI's pre-flight cannot see it).
 */
export function harnessAgents(tag: string): AgentSpec[] {
  return [
    ...Array.from(
      { length: 30 },
      (_, i): AgentSpec =>
        i % 2 === 0
          ? { name: `${tag}-ok-${i}`, command: 'true' }
          : { name: `${tag}-ok-${i}`, command: 'cat', prompt: { template: 'Task {{n}}: summarise.', vars: { n: i } } },
    ),
    ...Array.from({ length: 5 }, (_, i): AgentSpec => ({ name: `${tag}-exit1-${i}`, command: 'false' })),
    ...Array.from({ length: 3 }, (_, i): AgentSpec => ({ name: `${tag}-missing-${i}`, command: '/nonexistent/spawnpool-test-agent' })),
    ...Array.from(
      { length: 2 },
      (_, i): AgentSpec => ({
        name: `${tag}-overbudget-${i}`,
        command: 'cat',
        prompt: { template: 'This template alone is more than one token long.', maxTokens: 1 },
      }),
    ),
  ];
}

export interface Counted {
  builds: { ok: number; failed: number };
  spawns: { ok: number; failed: number };
  runs: { ok: number; failed: number };
  /** `${stage} ${code}` -> failed agents. */
  errors: Map<string, number>;
  batches: number;
}

/** What spawnpool says happened, from the outcomes and results it returned. */
export function countedFrom(runs: { outcomes: SpawnOutcome[]; results: AgentResult[]; agents: AgentSpec[] }[]): Counted {
  const c: Counted = { builds: { ok: 0, failed: 0 }, spawns: { ok: 0, failed: 0 }, runs: { ok: 0, failed: 0 }, errors: new Map(), batches: runs.length };
  for (const { outcomes, results, agents } of runs) {
    outcomes.forEach((o, i) => {
      const r = results[i]!;
      if (agents[i]!.prompt !== undefined && o.stage !== 'aborted') c.builds[o.stage === 'build' ? 'failed' : 'ok']++;
      c.spawns[o.ok ? 'ok' : 'failed']++;
      if (o.ok) c.runs[r.ok ? 'ok' : 'failed']++;
      if (!r.ok) {
        const key = `${r.stage} ${r.error?.code}`;
        c.errors.set(key, (c.errors.get(key) ?? 0) + 1);
      }
    });
  }
  return c;
}

/** Runs a batch to its end. */
export async function runAll(
  spawner: Spawner,
  agents: AgentSpec[],
  options: { concurrency?: number } = {},
  start: (batch: Batch) => void = () => {},
): Promise<{ outcomes: SpawnOutcome[]; results: AgentResult[]; agents: AgentSpec[] }> {
  const batch = spawner.spawnBatch(agents, options);
  start(batch);
  const outcomes: SpawnOutcome[] = [];
  for await (const o of batch) outcomes[o.index] = o;
  return { outcomes, results: await batch.results, agents };
}
