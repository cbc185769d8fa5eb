/**
 * One agent's prompt, from spec to bytes: load the files, run the builder
 * (custom or default), count and hash the result. Called on a worker thread.
 */
import { createHash } from 'node:crypto';
import { BuildError } from '../errors.ts';
import { loadContext, loadTemplate } from './context.ts';
import { buildPrompt } from './default-builder.ts';
import { countTokens } from './tokens.ts';
import type { ContextReport, LoadedFile, PromptBuilder, PromptSpec } from './types.ts';

/** Options of {@link buildFromSpec}. */
export interface BuildOptions {
  /** Agent name, for error messages. */
  agent: string;
  /** Folder that `templateFile` and `context` paths resolve against and must stay under. */
  root: string;
  /** A custom builder; the default builder is used when absent. */
  builder?: PromptBuilder;
}

/** A finished prompt. */
export interface BuildResult {
  /** The prompt, UTF-8. */
  bytes: Uint8Array;
  /** Hex SHA-256 of `bytes`. */
  sha256: string;
  /** Token count of the prompt text. */
  tokens: number;
  /** True when the default builder cut or dropped context; always false for a custom builder. */
  truncated: boolean;
  context: ContextReport[];
}

/**
 * Builds one agent's prompt. A spec with no template, no templateFile and no
 * context gives an empty prompt (0 bytes) with the default builder.
 *
 * @throws BuildError `E_CONTEXT_ESCAPE` / `E_CONTEXT_READ` for a bad file,
 *   `E_TEMPLATE` for a bad template, `E_BUILD` when the prompt cannot fit
 *   `maxTokens` or a custom builder throws or returns something other than a
 *   string or Uint8Array.
 * @example
 * const { bytes, sha256 } = await buildFromSpec({ template: 'Hi {{agent}}' }, { agent: 'a', root: '/work/x' });
 */
export async function buildFromSpec(spec: PromptSpec, opts: BuildOptions): Promise<BuildResult> {
  const { agent, root, builder } = opts;
  const [template, files] = await Promise.all([loadTemplate(spec, root, agent), loadContext(root, spec.context ?? [], agent)]);
  const vars = spec.vars ?? {};
  if (builder !== undefined) return runCustom(builder, { agent, template, vars, files, maxTokens: spec.maxTokens });

  const built = buildPrompt({ agent, template, vars, context: files, maxTokens: spec.maxTokens });
  const bytes = new TextEncoder().encode(built.text);
  return { bytes, sha256: sha256(bytes), tokens: built.tokens, truncated: built.truncated, context: built.context };
}

interface CustomRun {
  agent: string;
  template: string;
  vars: Record<string, unknown>;
  files: LoadedFile[];
  maxTokens: number | undefined;
}

async function runCustom(builder: PromptBuilder, run: CustomRun): Promise<BuildResult> {
  const { agent, template, vars, maxTokens } = run;
  const context = run.files.map((f) => ({ ...f, tokens: countTokens(f.content), truncated: false }));
  let out: unknown;
  try {
    out = await builder({ agent, template, vars, context, maxTokens });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new BuildError('E_BUILD', `Agent "${agent}": custom prompt builder threw: ${reason}`, { agent, cause: err });
  }
  let bytes: Uint8Array;
  let text: string;
  if (typeof out === 'string') {
    text = out;
    bytes = new TextEncoder().encode(out);
  } else if (out instanceof Uint8Array) {
    // Copied: the worker transfers the buffer, which would detach it under a
    // builder that returns the same array again (a cached prompt, say).
    bytes = new Uint8Array(out);
    text = new TextDecoder().decode(out);
  } else {
    throw new BuildError('E_BUILD', `Agent "${agent}": custom prompt builder returned ${typeName(out)}, expected a string or Uint8Array`, { agent });
  }
  const report = context.map(({ path, tokens }) => ({ path, tokens, truncated: false }));
  return { bytes, sha256: sha256(bytes), tokens: countTokens(text), truncated: false, context: report };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? `an object (${value.constructor?.name ?? 'no prototype'})` : typeof value;
}
