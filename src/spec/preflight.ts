/**
 * Pre-flight: the checks on a batch's agents that need the disk, run before
 * anything spawns. Validation (resolve.ts) sees only the specs; the files they
 * name (template file, context files) and the size of an argument that will
 * hold the prompt are otherwise found out at build or spawn time, when other
 * agents of the batch may already run. Bad input must start nothing.
 */
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Mustache from 'mustache';
import { ConfigError, SpawnpoolError } from '../errors.ts';
import { MAX_ARG_BYTES, MAX_ARGS_TOTAL_BYTES } from '../launch/prompt-delivery.ts';
import { readUnderRoot, resolveUnderRoot } from '../prompt/context.ts';
import type { ResolvedAgent } from './resolve.ts';

/** Options of {@link preflightAgents}. */
export interface PreflightOptions {
  /** Folder that template and context files must stay under: the root the batch will use. */
  root: string;
  /** The agents file the specs came from, named in messages. */
  file?: string | undefined;
  /**
   * True when a custom builder makes the prompts: the template is then not
   * parsed as mustache, and nothing is assumed about the prompt's size.
   * @default false
   */
  customBuilder?: boolean | undefined;
}

/** Length of a `{{promptFile}}` path, as prompt-delivery.ts makes it. */
const PROMPT_FILE_PATH_BYTES = Buffer.byteLength(path.join(os.tmpdir(), 'spawnpool-XXXXXX', 'prompt.txt'));

/**
 * Checks what the agents' specs point at: every `templateFile` and `context`
 * path exists under `root` (symlinks followed, none leading out), templates
 * parse, and the arguments fit the OS limits (with `promptVia: 'arg'`, with
 * at least the part of the prompt known in advance). Throws the first
 * problem, in agent order, as a ConfigError naming the file, the agent and
 * the field; resolves when all is well. Reads files, starts nothing.
 *
 * What it cannot know in advance still fails the agent alone later: a
 * prompt that grows past the argument limit once rendered, a file that
 * vanishes between pre-flight and build.
 *
 * @throws ConfigError
 * @example
 * const agents = resolveAgents(specs);
 * await preflightAgents(agents, { root: spawner.root }); // or: await spawner.preflight(specs)
 * const batch = spawner.spawnBatch(agents);
 */
export async function preflightAgents(agents: readonly ResolvedAgent[], options: PreflightOptions): Promise<void> {
  // All agents at once (it is all I/O); the first failure in agent order is the one reported.
  const problems = await Promise.all(
    agents.map((agent, index) =>
      checkAgent(agent, index, options).then(
        () => undefined,
        (error: unknown) => error,
      ),
    ),
  );
  const first = problems.find((p) => p !== undefined);
  if (first !== undefined) throw first;
}

async function checkAgent(agent: ResolvedAgent, index: number, options: PreflightOptions): Promise<void> {
  const { root, file } = options;
  const custom = options.customBuilder === true;
  const fail = (field: string, message: string, cause?: unknown): ConfigError =>
    new ConfigError(`${file === undefined ? '' : `${file}: `}agent "${agent.name}" (agents[${index}]): field "${field}": ${message}`, {
      agent: agent.name,
      file,
      cause,
    });

  const prompt = agent.prompt;
  let template = prompt?.template ?? '';
  if (prompt?.templateFile !== undefined) {
    template = await readUnderRoot(root, prompt.templateFile, 'template file', agent.name).catch((error: unknown) => {
      throw fail('prompt.templateFile', withoutAgent(error, agent.name), error);
    });
  }
  const contextBytes = await Promise.all(
    (prompt?.context ?? []).map(async (contextPath, i) => {
      try {
        const real = await resolveUnderRoot(root, contextPath, 'context file', agent.name);
        const info = await stat(real);
        if (!info.isFile()) throw new ConfigError(`context file "${contextPath}" is not a regular file`);
        return info.size;
      } catch (error) {
        throw fail(`prompt.context.${i}`, withoutAgent(error, agent.name), error);
      }
    }),
  );

  let fixedText = 0;
  if (!custom && prompt !== undefined) {
    const field = prompt.templateFile === undefined ? 'prompt.template' : 'prompt.templateFile';
    try {
      fixedText = alwaysRenderedBytes(Mustache.parse(template));
    } catch (error) {
      throw fail(field, `template does not parse: ${(error as Error).message}`, error);
    }
  }
  // Context files the template does not place itself are appended whole, unless maxTokens may cut them.
  const appendsContext = !custom && prompt?.maxTokens === undefined && !template.includes('context');
  const promptAtLeast = fixedText + (appendsContext ? contextBytes.reduce((a, b) => a + b, 0) : 0);
  checkArgs(agent, promptAtLeast, fail);
}

/**
 * The argument sizes, with the prompt counted at the least it will be. The
 * per-argument limit is the kernel's, for every agent; the total is the
 * launcher's own limit for promptVia 'arg' (prompt-delivery.ts), which still
 * checks the real prompt at launch.
 */
function checkArgs(agent: ResolvedAgent, promptAtLeast: number, fail: (field: string, message: string) => ConfigError): void {
  const sized = (arg: string): number => {
    let bytes = Buffer.byteLength(arg) + 1;
    if (agent.promptVia === 'arg') bytes += countOf(arg, '{{prompt}}') * (promptAtLeast - Buffer.byteLength('{{prompt}}'));
    if (agent.promptVia === 'file') bytes += countOf(arg, '{{promptFile}}') * (PROMPT_FILE_PATH_BYTES - Buffer.byteLength('{{promptFile}}'));
    return bytes;
  };
  const withPrompt = agent.promptVia === 'arg' ? ` once the prompt (at least ${promptAtLeast} bytes) is substituted` : '';
  let total = Buffer.byteLength(agent.command) + 1;
  for (const [i, arg] of agent.args.entries()) {
    const bytes = sized(arg);
    if (bytes > MAX_ARG_BYTES) {
      const hint = agent.promptVia === 'arg' && arg.includes('{{prompt}}') ? '; use promptVia "stdin" or "file"' : '';
      throw fail(`args.${i}`, `argument is ${bytes} bytes${withPrompt}, over the OS limit of ${MAX_ARG_BYTES} bytes per argument${hint}`);
    }
    total += bytes;
  }
  if (agent.promptVia !== 'arg') return;
  for (const [k, v] of Object.entries(agent.env ?? {})) total += Buffer.byteLength(k) + Buffer.byteLength(v) + 2;
  if (total > MAX_ARGS_TOTAL_BYTES) {
    throw fail('args', `arguments and environment total ${total} bytes${withPrompt}, over the ${MAX_ARGS_TOTAL_BYTES}-byte limit`);
  }
}

/** Bytes of template text outside every section and tag: rendered whatever the variables. */
function alwaysRenderedBytes(spans: ReturnType<typeof Mustache.parse>): number {
  let bytes = 0;
  for (const span of spans) if (span[0] === 'text') bytes += Buffer.byteLength(span[1]);
  return bytes;
}

function countOf(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/** An error's message without its leading `Agent "name": `: the ConfigError names the agent already. */
function withoutAgent(error: unknown, agent: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const prefix = `Agent "${agent}": `;
  const text = message.startsWith(prefix) ? message.slice(prefix.length) : message;
  return error instanceof SpawnpoolError && error.code !== 'E_CONFIG' ? `${text} (${error.code})` : text;
}
