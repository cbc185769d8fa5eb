/**
 * Shapes of the prompt-building stage: what an agent spec asks for, what a
 * builder receives, and what comes back to the pool.
 */

/**
 * The `prompt` field of an agent spec. The default builder renders the
 * template with mustache (no HTML escaping; `{{agent}}`, the `vars`, and the
 * context as `{{contextText}}` or a `{{#context}}` section), appending the
 * context files after the text when the template places them nowhere, cut
 * to fit `maxTokens`. With none of `template`, `templateFile` and `context`
 * the prompt is empty.
 *
 * @example
 * const prompt: PromptSpec = { templateFile: 'prompts/fix.md', vars: { issue: 42 }, context: ['src/app.ts'], maxTokens: 8000 };
 */
export interface PromptSpec {
  /** Inline mustache template (give this or `templateFile`, not both). */
  template?: string;
  /** Template file, relative to the root; it must stay under it. */
  templateFile?: string;
  /** Variables for the template. */
  vars?: Record<string, unknown>;
  /** Context files, relative to the root; never outside it. */
  context?: string[];
  /** Token budget of the whole prompt; context is truncated to fit. */
  maxTokens?: number;
}

/** A context file as read from disk, before any budgeting. */
export interface LoadedFile {
  /** The path as given in the spec. */
  path: string;
  /** Its text, UTF-8. */
  content: string;
}

/** A context file handed to a builder. */
export interface ContextFile extends LoadedFile {
  /** Tokens in `content`. */
  tokens: number;
  /** Always false for a custom builder: budgeting `maxTokens` is the builder's job. */
  truncated: boolean;
}

/** Everything a custom builder gets to produce one agent's prompt. */
export interface BuilderInput {
  /** The agent's name. */
  agent: string;
  /** The template text (inline or read from `templateFile`), not rendered: '' when the spec has none. */
  template: string;
  /** The spec's `vars` ({} when none). */
  vars: Record<string, unknown>;
  /** The context files, read (and confined to the root), in spec order. */
  context: ContextFile[];
  /** The spec's token budget, for the builder to honour. */
  maxTokens: number | undefined;
}

/**
 * What the default builder needs: a {@link BuilderInput} whose context files
 * have not been counted yet (counting a large file in full is wasted work
 * when it will be truncated anyway).
 */
export type DefaultBuilderInput = Omit<BuilderInput, 'context'> & { context: readonly LoadedFile[] };

/**
 * A custom builder module's default export (the Spawner option `builder`
 * names the module). It runs on the worker threads: it must not rely on
 * state of the main thread. A throw or a value that is neither a string nor
 * a Uint8Array fails that agent alone, with code `E_BUILD`.
 *
 * @example
 * // builder.mjs, used with new Spawner({ builder: new URL('./builder.mjs', import.meta.url) })
 * export default function build({ agent, template, context }) {
 *   return `${template}\n\nAgent: ${agent}\n${context.map((f) => f.content).join('\n')}`;
 * }
 */
export type PromptBuilder = (input: BuilderInput) => string | Uint8Array | Promise<string | Uint8Array>;

/** Per-file outcome of budgeting. */
export interface ContextReport {
  /** The path as given in the spec. */
  path: string;
  /** Tokens of the file that made it into the prompt. */
  tokens: number;
  /** True when the file was cut or dropped. */
  truncated: boolean;
}

/** The default builder's result. */
export interface BuiltPrompt {
  /** The prompt. */
  text: string;
  /** Token count of `text` itself. */
  tokens: number;
  /** True when any context file was cut or dropped. */
  truncated: boolean;
  /** One report per context file, in spec order. */
  context: ContextReport[];
}
