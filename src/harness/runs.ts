/**
 * The runs a harness takes: agents × tasks (src/tasks does the expansion),
 * each run with its task attached so messages can name its file and line.
 */
import { ConfigError } from '../errors.ts';
import { isResolvedAgent } from '../spec/resolve.ts';
import { expandRuns } from '../tasks/expand.ts';
import type { Task } from '../tasks/load-tasks.ts';
import type { HarnessRun } from './types.ts';

/**
 * Every agent of an agents file for every task (task-major), or every agent
 * once without tasks: `expandRuns()`, with each run's task attached.
 *
 * @throws ConfigError for the first bad agent or agent run (file, agent, field, task line).
 * @example
 * const runs = harnessRuns(JSON.parse(await readFile('agents.json', 'utf8')), await loadTasks('tasks.jsonl'), { baseDir: '.' });
 * const harness = await runHarness(spawner, runs, { concurrency: 16, retry: { retries: 2 } });
 */
export function harnessRuns(
  agentsFile: { defaults?: unknown; agents: readonly unknown[] },
  tasks: readonly Task[] | undefined,
  options: { baseDir?: string; file?: string } = {},
): HarnessRun[] {
  const byId = new Map(tasks?.map((t) => [t.id, t]));
  return expandRuns(agentsFile, tasks, options).map((run) => ({ ...run, task: run.taskId === undefined ? undefined : byId.get(run.taskId) }));
}

/** Checks runs given to the harness: a non-empty list, validated specs named as the runs, unique names, one maxConcurrent per agent. */
export function checkRuns(runs: readonly HarnessRun[]): Map<string, number | undefined> {
  if (!Array.isArray(runs) || runs.length === 0) throw new ConfigError('Expected the harness runs to be a non-empty array (see harnessRuns() or expandRuns())');
  const names = new Set<string>();
  const agents = new Map<string, number | undefined>();
  runs.forEach((run, i) => {
    if (typeof run !== 'object' || run === null || typeof run.agent !== 'string' || typeof run.name !== 'string' || !isResolvedAgent(run.spec)) {
      throw new ConfigError(`runs[${i}]: expected { agent, taskId, name, spec } with a spec validated by expandRuns() or resolveAgents()`);
    }
    if (run.spec.name !== run.name) throw new ConfigError(`runs[${i}]: the run is named "${run.name}" but its spec "${run.spec.name}"`, { agent: run.name });
    if (names.has(run.name)) throw new ConfigError(`runs[${i}]: duplicate run "${run.name}" (each agent runs once per task)`, { agent: run.name });
    names.add(run.name);
    const max = run.spec.maxConcurrent;
    if (!agents.has(run.agent)) agents.set(run.agent, max);
    else if (agents.get(run.agent) !== max) {
      throw new ConfigError(
        `runs[${i}]: agent "${run.agent}": field "maxConcurrent" is ${String(max)} here but ${String(agents.get(run.agent))} in its earlier runs: one value per agent`,
        { agent: run.name },
      );
    }
  });
  return agents;
}
