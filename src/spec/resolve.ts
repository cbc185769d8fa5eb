/**
 * Turns user input (an agents file or an array of specs) into validated,
 * normalised agents, or a ConfigError that names the agent and field.
 * Nothing is spawned before every agent of a batch has passed.
 */
import path from 'node:path';
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { fieldIssue } from '../options/parse-options.ts';
import { agentSpecSchema, agentsFileSchema, defaultsSchema, type AgentDefaults, type PromptVia } from './schema.ts';
import type { PromptSpec } from '../prompt/types.ts';

export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
export const DEFAULT_KILL_GRACE_MS = 2000;

/** Brands agents that went through validation, so they are not validated twice. */
export const RESOLVED: unique symbol = Symbol('spawnpool.resolvedAgent');

/**
 * An agent after validation, with defaults applied (see `AgentSpec`
 * for what each field means). `spawnBatch` and `preflight` take these as
 * they are, without validating them again.
 */
export interface ResolvedAgent {
  /** The brand set by validation: an object without it is validated as a spec. */
  readonly [RESOLVED]: true;
  /** Unique within its batch. */
  name: string;
  /** The program, found on PATH unless it is a path. */
  command: string;
  /** Its arguments, before `{{prompt}}` / `{{promptFile}}` are filled in. */
  args: string[];
  /** Variables set on top of this process's environment. */
  env: Record<string, string> | undefined;
  /** Absolute, or undefined for this process's working directory. */
  cwd: string | undefined;
  /** Killed (process tree, after `killGraceMs`) past this many ms; undefined: no limit. */
  timeoutMs: number | undefined;
  /** How its prompt is built; undefined: the agent gets no prompt. */
  prompt: PromptSpec | undefined;
  /** How the prompt reaches it. */
  promptVia: PromptVia;
  /** undefined: the agent counts as spawned at its `spawn` event. */
  ready: RegExp | undefined;
  /** Bytes of each stream kept for the result. */
  maxOutputBytes: number;
  /** SIGTERM to SIGKILL, ms, when it is stopped. */
  killGraceMs: number;
  /** 'open': stdin stays open for `outcome.stdin` after the prompt. */
  stdin: 'close' | 'open';
  /** false: its output is not kept for `result.stdout` / `result.stderr`. */
  buffer: boolean;
  /** Absolute path of the file its whole stdout goes to, when set. */
  stdoutFile: string | undefined;
  /** Absolute path of the file its whole stderr goes to, when set. */
  stderrFile: string | undefined;
  /** Harness runs of this agent in flight at once; undefined: no per-agent limit. Batches ignore it. */
  maxConcurrent: number | undefined;
}

/** Options of {@link resolveAgents}. */
interface ResolveOptions {
  /** Shared defaults. */
  defaults?: AgentDefaults | undefined;
  /** Relative `cwd`s resolve against this (an agents file's folder). */
  baseDir?: string | undefined;
  /** Where the specs came from, for messages. */
  file?: string | undefined;
}

/**
 * Validates a list of agent specs (unknown fields are errors), applies
 * defaults and normalises paths. Names must be unique.
 *
 * @throws ConfigError naming the first bad agent and field.
 * @example
 * const agents = resolveAgents([{ name: 'a', command: 'my-agent', timeoutMs: 60_000 }], { defaults: { killGraceMs: 500 } });
 * const batch = spawner.spawnBatch(agents);
 */
export function resolveAgents(input: unknown, options: ResolveOptions = {}): ResolvedAgent[] {
  const { file } = options;
  if (!Array.isArray(input)) throw new ConfigError(`Expected the agents to be an array, got ${describe(input)}`, { file });
  if (input.length === 0) throw new ConfigError(`${where(file)}the agent list is empty: give at least one agent`, { file });
  const defaults = options.defaults === undefined ? {} : parseOrThrow(defaultsSchema, options.defaults, 'defaults', file);

  const seen = new Map<string, number>();
  return input.map((raw, index) => {
    const label = agentLabel(raw, index);
    const merged = mergeDefaults(defaults, raw, label, file);
    const spec = parseOrThrow(agentSpecSchema, merged, label, file);
    const first = seen.get(spec.name);
    if (first !== undefined) {
      throw new ConfigError(`${where(file)}${label}: duplicate agent name "${spec.name}" (also agents[${first}])`, { agent: spec.name, file });
    }
    seen.set(spec.name, index);
    return normalise(spec, label, options);
  });
}

/** Throws the ConfigError {@link resolveAgentsFile} would for the file's top level (unknown fields, bad defaults, no agents); agents unchecked. */
export function checkAgentsFileTop(input: unknown, file: string | undefined): void {
  parseOrThrow(agentsFileSchema, input, 'agents file', file);
}

/**
 * Validates the object of an agents file, `{ defaults?, agents: [...] }`,
 * already parsed: `loadAgentsFile()` reads one from disk.
 *
 * @throws ConfigError naming the bad agent and field.
 * @example
 * const agents = resolveAgentsFile({ defaults: { timeoutMs: 60_000 }, agents: [{ name: 'a', command: 'my-agent' }] }, { baseDir: process.cwd() });
 */
export function resolveAgentsFile(input: unknown, options: { baseDir?: string; file?: string } = {}): ResolvedAgent[] {
  const file = parseOrThrow(agentsFileSchema, input, 'agents file', options.file);
  return resolveAgents(file.agents, { ...options, defaults: file.defaults });
}

function normalise(spec: z.output<typeof agentSpecSchema>, label: string, options: ResolveOptions): ResolvedAgent {
  const ready = spec.ready === undefined || spec.ready === 'spawn' ? undefined : compileReady(spec.ready, label, options.file);
  const cwd = spec.cwd === undefined ? options.baseDir : path.resolve(options.baseDir ?? process.cwd(), spec.cwd);
  const promptVia = spec.promptVia ?? 'stdin';
  const args = spec.args ?? [];
  if (promptVia === 'arg' && !args.some((a) => a.includes('{{prompt}}'))) {
    throw new ConfigError(`${where(options.file)}${label}: field "args": promptVia is "arg" but no argument contains the {{prompt}} placeholder`, {
      agent: spec.name,
      file: options.file,
    });
  }
  if (promptVia === 'file' && !args.some((a) => a.includes('{{promptFile}}'))) {
    throw new ConfigError(`${where(options.file)}${label}: field "args": promptVia is "file" but no argument contains the {{promptFile}} placeholder`, {
      agent: spec.name,
      file: options.file,
    });
  }
  // A placeholder the chosen delivery does not fill would reach the agent as literal text.
  for (const [placeholder, via] of [
    ['{{prompt}}', 'arg'],
    ['{{promptFile}}', 'file'],
  ] as const) {
    const i = args.findIndex((a) => a.includes(placeholder));
    if (i !== -1 && promptVia !== via) {
      throw new ConfigError(
        `${where(options.file)}${label}: field "args.${i}": ${placeholder} is only filled with promptVia "${via}" (this agent's promptVia is "${promptVia}"${spec.promptVia === undefined ? ', the default' : ''}): set "promptVia": "${via}" or remove the placeholder`,
        { agent: spec.name, file: options.file },
      );
    }
  }
  const base = options.baseDir ?? process.cwd();
  return {
    [RESOLVED]: true,
    name: spec.name,
    command: spec.command,
    args,
    env: spec.env,
    cwd,
    timeoutMs: spec.timeoutMs,
    prompt: spec.prompt,
    promptVia,
    ready,
    maxOutputBytes: spec.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
    killGraceMs: spec.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
    stdin: spec.stdin ?? 'close',
    buffer: spec.buffer ?? true,
    stdoutFile: spec.stdoutFile === undefined ? undefined : path.resolve(base, spec.stdoutFile),
    stderrFile: spec.stderrFile === undefined ? undefined : path.resolve(base, spec.stderrFile),
    maxConcurrent: spec.maxConcurrent,
  };
}

function compileReady(ready: { stdout: string; flags?: string | undefined }, label: string, file: string | undefined): RegExp {
  try {
    return new RegExp(ready.stdout, ready.flags);
  } catch (error) {
    throw new ConfigError(`${where(file)}${label}: field "ready.stdout": not a valid regular expression: ${(error as Error).message}`, { file, cause: error });
  }
}

function mergeDefaults(defaults: z.output<typeof defaultsSchema>, raw: unknown, label: string, file: string | undefined): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${where(file)}${label}: expected an object, got ${describe(raw)}`, { file });
  }
  const agent = raw as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...defaults, ...agent };
  if (isPlainObject(agent.env) && defaults.env) merged.env = { ...defaults.env, ...agent.env };
  if (isPlainObject(agent.prompt) && defaults.prompt) {
    const prompt = agent.prompt;
    merged.prompt = { ...defaults.prompt, ...prompt };
    if (isPlainObject(prompt.vars) && defaults.prompt.vars) merged.prompt = { ...(merged.prompt as object), vars: { ...defaults.prompt.vars, ...prompt.vars } };
    // An agent's own template replaces an inherited templateFile, and the reverse.
    if ('template' in prompt && !('templateFile' in prompt)) delete (merged.prompt as Record<string, unknown>).templateFile;
    if ('templateFile' in prompt && !('template' in prompt)) delete (merged.prompt as Record<string, unknown>).template;
  }
  return merged;
}

function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, label: string, file: string | undefined): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const agent = label.startsWith('agent "') ? label.slice(7, label.indexOf('"', 7)) : undefined;
  throw new ConfigError(`${where(file)}${label}: ${fieldIssue(schema, result.error.issues)}`, { agent, file });
}

function agentLabel(raw: unknown, index: number): string {
  const name = isPlainObject(raw) && typeof raw.name === 'string' && raw.name !== '' ? raw.name : undefined;
  return name === undefined ? `agents[${index}]` : `agent "${name}" (agents[${index}])`;
}

function where(file: string | undefined): string {
  return file === undefined ? '' : `${file}: `;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? `the string ${JSON.stringify(v.slice(0, 40))}` : typeof v;
}

export function isResolvedAgent(agent: unknown): agent is ResolvedAgent {
  return typeof agent === 'object' && agent !== null && RESOLVED in agent;
}
