/** Agents and parsers shared by the export and history tests. */
import type { AgentSpec } from '../../src/index.ts';
import type { AgentResult, Batch, SpawnOutcome } from '../../src/index.ts';

/** One agent per kind of ending: spawned and ok (with and without a prompt), exit 3, binary missing. */
export function mixedAgents(suffix = ''): AgentSpec[] {
  return [
    // cat reads the whole prompt, so delivery on stdin never meets a closed pipe.
    { name: `prompted${suffix}`, command: 'cat', prompt: { template: 'Summarise {{project}}.', vars: { project: 'spawnpool' } } },
    { name: `plain${suffix}`, command: 'true' },
    { name: `exit3${suffix}`, command: 'sh', args: ['-c', 'exit 3'] },
    { name: `missing${suffix}`, command: '/nonexistent/spawnpool-test-agent' },
  ];
}

export interface BatchRun {
  outcomes: SpawnOutcome[];
  results: AgentResult[];
}

/** Iterates the batch and waits for every exit. */
export async function runToEnd(batch: Batch): Promise<BatchRun> {
  const outcomes: SpawnOutcome[] = [];
  for await (const o of batch) outcomes[o.index] = o;
  return { outcomes, results: await batch.results };
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition lines (no escapes needed: our label values are plain). */
export function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: m[1]!, labels, value: m[3] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[3]) });
  }
  return { samples, types };
}

/** The one sample with this name whose labels include `labels`; undefined if none. */
export function sample(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples match ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value;
}
