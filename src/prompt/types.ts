/**
 * Shapes of the prompt-building stage: what an agent spec asks for, what a
 * builder receives, and what comes back to the pool.
 */

/** The `prompt` field of an agent spec. */
export interface PromptSpec {
  /** Inline mustache template. */
  template?: string;
  /** Template file, relative to the root. */
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
  content: string;
}

/** A context file handed to a builder. */
export interface ContextFile extends LoadedFile {
  tokens: number;
  truncated: boolean;
}

/** Everything a builder needs to produce one agent's prompt. */
export interface BuilderInput {
  agent: string;
  template: string;
  vars: Record<string, unknown>;
  context: ContextFile[];
  maxTokens: number | undefined;
}

/**
 * What the default builder needs: a {@link BuilderInput} whose context files
 * have not been counted yet (counting a large file in full is wasted work
 * when it will be truncated anyway).
 */
export type DefaultBuilderInput = Omit<BuilderInput, 'context'> & { context: readonly LoadedFile[] };

/** A custom builder module's default export. */
export type PromptBuilder = (input: BuilderInput) => string | Uint8Array | Promise<string | Uint8Array>;

/** Per-file outcome of budgeting. */
export interface ContextReport {
  path: string;
  tokens: number;
  truncated: boolean;
}

/** The default builder's result. */
export interface BuiltPrompt {
  text: string;
  /** Token count of `text` itself. */
  tokens: number;
  /** True when any context file was cut or dropped. */
  truncated: boolean;
  context: ContextReport[];
}
