/**
 * Before a harness starts anything: every run's files exist and fit
 * (`spawner.preflight`, in chunks so ten thousand runs never hold ten
 * thousand files open), and every `{{task.<field>}}` a template file names
 * is a field of the run's task. expandRuns() checks inline templates; a
 * template file is otherwise read on a worker at build time, where a
 * missing field silently renders as "", after other runs have started.
 */
import path from 'node:path';
import Mustache from 'mustache';
import { ConfigError, SpawnpoolError } from '../errors.ts';
import { readUnderRoot } from '../prompt/context.ts';
import type { ResolvedAgent } from '../spec/resolve.ts';
import type { HarnessRun } from './types.ts';

const CHUNK = 256;

/**
 * `preflight` is `spawner.preflight` (or `preflightAgents`) for a chunk of specs.
 *
 * @throws ConfigError naming the run (and its task's file and line), the field and the missing task field.
 */
export async function preflightRuns(runs: readonly HarnessRun[], root: string, preflight: (specs: ResolvedAgent[]) => Promise<unknown>): Promise<void> {
  await checkTemplateFiles(runs, root);
  for (let i = 0; i < runs.length; i += CHUNK) await preflight(runs.slice(i, i + CHUNK).map((r) => r.spec));
}

/** The task fields each template file names, read once per file. */
export async function checkTemplateFiles(runs: readonly HarnessRun[], root: string): Promise<void> {
  const names = new Map<string, Promise<string[] | undefined>>();
  for (const run of runs) {
    const prompt = run.spec.prompt;
    const task = prompt?.vars?.task;
    if (prompt?.templateFile === undefined || !isPlainObject(task)) continue;
    const file = prompt.templateFile;
    const key = path.resolve(root, file);
    let used = names.get(key);
    if (used === undefined) {
      used = taskFieldsOf(root, file, run.name);
      names.set(key, used);
    }
    const fields = await used;
    // Unreadable or unparsable: preflight and the build report it with their own words.
    if (fields === undefined) continue;
    for (const field of fields) {
      if (lookup(task, field)) continue;
      const where = run.task === undefined ? `run "${run.name}"` : `${run.task.file}:${run.task.line}: task "${run.task.id}": agent "${run.agent}"`;
      throw new ConfigError(
        `${where}: field "prompt.templateFile" (${file}): {{task.${field}}} names no field of the task (its fields: ${Object.keys(task).join(', ')})`,
        { agent: run.name, file: run.task?.file },
      );
    }
  }
}

async function taskFieldsOf(root: string, file: string, agent: string): Promise<string[] | undefined> {
  let template: string;
  try {
    template = await readUnderRoot(root, file, 'template file', agent);
  } catch (error) {
    if (error instanceof SpawnpoolError) return undefined;
    throw error;
  }
  let spans: ReturnType<typeof Mustache.parse>;
  try {
    spans = Mustache.parse(template);
  } catch {
    return undefined;
  }
  const fields = new Set<string>();
  const walk = (list: typeof spans): void => {
    for (const span of list) {
      const [type, name] = span;
      if ((type === 'name' || type === '&' || type === '#' || type === '^') && name.startsWith('task.')) fields.add(name.slice('task.'.length));
      const children = span[4];
      if (Array.isArray(children)) walk(children);
    }
  };
  walk(spans);
  return [...fields];
}

function lookup(vars: Record<string, unknown>, dotted: string): boolean {
  let value: unknown = vars;
  for (const key of dotted.split('.')) {
    if (!isPlainObject(value) || !Object.hasOwn(value, key)) return false;
    value = value[key];
  }
  return true;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
