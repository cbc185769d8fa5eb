/** Agents × tasks → agent runs; the substitution rules are on {@link expandRun}. */
import Mustache from 'mustache';
import { ConfigError } from '../errors.ts';
import { resolveAgents, type ResolvedAgent } from '../spec/resolve.ts';
import type { AgentDefaults } from '../spec/schema.ts';
import type { Task } from './load-tasks.ts';

/** One agent for one task, as written, before validation. */
export interface RunInput {
  /** The agent as written in an agents file (or an AgentSpec). */
  agent: unknown;
  /** The agents file's `defaults`, if any. */
  defaults?: unknown;
  /** Without a task the agent runs once, under its own name. */
  task?: Task | undefined;
  /** Relative `cwd`s resolve against this (the agents file's folder). */
  baseDir?: string | undefined;
  /** The agents file, named in messages. */
  file?: string | undefined;
}

/** One agent run of {@link expandRuns}. */
export interface AgentRun {
  /** The agent's own name. */
  agent: string;
  /** undefined without a task list. */
  taskId: string | undefined;
  /** `<agent>/<task id>` (the agent's name without a task list): the name of `spec`. */
  name: string;
  /** Validated, for `spawner.spawnBatch([spec])`. */
  spec: ResolvedAgent;
}

/**
 * The agent of `input` for its task: fields substituted, `task` added to the
 * prompt's vars, named `<agent>/<task id>`, validated with the defaults.
 *
 * Where `{{task.<field>}}` is replaced:
 * - in `command`, every `args` entry, every `env` value, `cwd`,
 *   `prompt.templateFile`, every `prompt.context` path and every string
 *   value of `prompt.vars`: replaced here, textually, before validation
 *   (`{{prompt}}` and `{{promptFile}}` are left for the launcher). A field
 *   the task does not have is an error; a field holding an object or array
 *   is an error there (only strings, numbers and booleans fit in a string);
 * - in the prompt template: by mustache itself when the prompt is built, as
 *   `task` is added to `prompt.vars` (so sections over a JSON array work).
 *   An inline `prompt.template` naming a field the task lacks is an error;
 *   a `templateFile` is read later, on a worker, where a missing field
 *   renders as "" (mustache's rule).
 * A value is never rendered again, so a task field holding `{{...}}` stays
 * literal text.
 *
 * @throws ConfigError naming the agents file, the agent, the field, and the task's file and line.
 * @example
 * const [task] = parseTasks('{"id":"t1","file":"a.ts"}', { file: 'tasks.jsonl', format: 'jsonl' });
 * const spec = expandRun({ agent: { name: 'lint', command: 'eslint', args: ['{{task.file}}'] }, task });
 * // spec.name === 'lint/t1', spec.args === ['a.ts']
 */
export function expandRun(input: RunInput): ResolvedAgent {
  const { task, file } = input;
  const agent = task === undefined ? input.agent : substituteAgent(input.agent, task, agentLabel(input.agent, file), file);
  const defaults = task === undefined || input.defaults === undefined ? input.defaults : substituteAgent(input.defaults, task, `${where(file)}defaults`, file);
  // resolveAgents validates the defaults as it does an agents file's.
  const [spec] = resolveAgents([agent], { defaults: defaults as AgentDefaults | undefined, baseDir: input.baseDir, file });
  return spec!;
}

/**
 * Every agent of an agents file for every task (task-major: all agents of
 * the first task, then the second...), or every agent once without tasks.
 *
 * @throws ConfigError for the first bad agent run.
 * @example
 * const tasks = await loadTasks('tasks.jsonl');
 * const runs = expandRuns({ agents: [{ name: 'fix', command: 'my-agent', args: ['{{task.repo}}'] }] }, tasks);
 * for (const run of runs) await spawner.spawnBatch([run.spec]).done;
 */
export function expandRuns(
  agentsFile: { defaults?: unknown; agents: readonly unknown[] },
  tasks: readonly Task[] | undefined,
  options: { baseDir?: string; file?: string } = {},
): AgentRun[] {
  // The agents alone first: a bad agent is reported once, as in `spawnpool run`, not once per task.
  const plain = resolveAgents([...agentsFile.agents], {
    defaults: agentsFile.defaults as AgentDefaults | undefined,
    baseDir: options.baseDir,
    file: options.file,
  });
  if (tasks === undefined) return plain.map((spec) => ({ agent: spec.name, taskId: undefined, name: spec.name, spec }));
  const runs: AgentRun[] = [];
  for (const task of tasks) {
    agentsFile.agents.forEach((agent, index) => {
      const spec = expandRun({ agent, defaults: agentsFile.defaults, task, ...options });
      runs.push({ agent: plain[index]!.name, taskId: task.id, name: spec.name, spec });
    });
  }
  return runs;
}

/** The name of an agent run: `<agent>/<task id>`, or the agent's name without a task. */
export function runName(agent: string, taskId: string | undefined): string {
  return taskId === undefined ? agent : `${agent}/${taskId}`;
}

function substituteAgent(raw: unknown, task: Task, label: string, file: string | undefined): unknown {
  if (!isPlainObject(raw)) return raw; // resolveAgents reports it
  const at = (field: string) => ({ task, label, field });
  const out: Record<string, unknown> = { ...raw };
  if (typeof raw.name === 'string') out.name = runName(raw.name, task.id);
  if (typeof raw.command === 'string') out.command = substitute(raw.command, at('command'));
  if (Array.isArray(raw.args)) out.args = raw.args.map((a, i) => (typeof a === 'string' ? substitute(a, at(`args[${i}]`)) : a));
  if (isPlainObject(raw.env))
    out.env = Object.fromEntries(Object.entries(raw.env).map(([k, v]) => [k, typeof v === 'string' ? substitute(v, at(`env.${k}`)) : v]));
  if (typeof raw.cwd === 'string') out.cwd = substitute(raw.cwd, at('cwd'));
  if (isPlainObject(raw.prompt)) {
    const prompt: Record<string, unknown> = { ...raw.prompt };
    if (typeof prompt.templateFile === 'string') prompt.templateFile = substitute(prompt.templateFile, at('prompt.templateFile'));
    if (Array.isArray(prompt.context)) prompt.context = prompt.context.map((c, i) => (typeof c === 'string' ? substitute(c, at(`prompt.context[${i}]`)) : c));
    if (typeof prompt.template === 'string') checkTemplate(prompt.template, at('prompt.template'));
    const vars = prompt.vars;
    if (vars === undefined || isPlainObject(vars)) {
      if (vars !== undefined && Object.hasOwn(vars, 'task')) {
        throw new ConfigError(`${label}: field "prompt.vars.task": with a task list, {{task}} is the task's row; rename this variable`, { file });
      }
      const own = Object.fromEntries(Object.entries(vars ?? {}).map(([k, v]) => [k, typeof v === 'string' ? substitute(v, at(`prompt.vars.${k}`)) : v]));
      prompt.vars = { ...own, task: task.vars };
    }
    out.prompt = prompt;
  }
  return out;
}

interface Site {
  task: Task;
  label: string;
  field: string;
}

const TASK_TAG = /\{\{\s*task\.([^\s{}]+)\s*\}\}/g;

function substitute(text: string, site: Site): string {
  return text.replace(TASK_TAG, (_tag, field: string) => {
    const value = lookup(site.task.vars, field);
    if (value === MISSING) throw missingField(site, field);
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    throw new ConfigError(
      `${taskWhere(site.task)}${site.label}: field "${site.field}": {{task.${field}}} is ${kind}, which does not fit in a string (only strings, numbers and booleans do)`,
      { file: site.task.file },
    );
  });
}

/** Fields an inline template names under `task.`, each checked against the task. */
function checkTemplate(template: string, site: Site): void {
  let spans: ReturnType<typeof Mustache.parse>;
  try {
    spans = Mustache.parse(template);
  } catch {
    return; // an unparsable template is reported by pre-flight and the build, with mustache's own message
  }
  const walk = (list: typeof spans): void => {
    for (const span of list) {
      const [type, name] = span;
      if ((type === 'name' || type === '&' || type === '#' || type === '^') && name.startsWith('task.')) {
        const field = name.slice('task.'.length);
        if (lookup(site.task.vars, field) === MISSING) throw missingField(site, field);
      }
      const children = span[4];
      if (Array.isArray(children)) walk(children);
    }
  };
  walk(spans);
}

const MISSING = Symbol('missing');

function lookup(vars: Readonly<Record<string, unknown>>, dotted: string): unknown {
  let value: unknown = vars;
  for (const key of dotted.split('.')) {
    if (!isPlainObject(value) || !Object.hasOwn(value, key)) return MISSING;
    value = value[key];
  }
  return value;
}

function missingField(site: Site, field: string): ConfigError {
  const fields = Object.keys(site.task.vars);
  return new ConfigError(
    `${taskWhere(site.task)}${site.label}: field "${site.field}": {{task.${field}}} names no field of the task (its fields: ${fields.join(', ')})`,
    { file: site.task.file },
  );
}

function taskWhere(task: Task): string {
  return `${task.file}:${task.line}: task "${task.id}": `;
}

function agentLabel(raw: unknown, file: string | undefined): string {
  const name = isPlainObject(raw) && typeof raw.name === 'string' ? `agent "${raw.name}"` : 'agent';
  return `${where(file)}${name}`;
}

function where(file: string | undefined): string {
  return file === undefined ? '' : `${file}: `;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
