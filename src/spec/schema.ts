/**
 * The agent spec and the agents file, as zod schemas. Unknown fields are
 * errors (a typo such as `timeoutMS` must not be silently ignored).
 */
import { z } from 'zod';

const positiveInt = z.number().int().positive();

export const promptSpecSchema = z
  .strictObject({
    /** Inline mustache template. */
    template: z.string().optional(),
    /** Template file, relative to the root. */
    templateFile: z.string().min(1).optional(),
    /** Variables for the template. */
    vars: z.record(z.string(), z.unknown()).optional(),
    /** Context files, relative to the root; never outside it. */
    context: z.array(z.string().min(1)).optional(),
    /** Token budget of the whole prompt; context is truncated to fit. */
    maxTokens: positiveInt.optional(),
  })
  .refine((p) => !(p.template !== undefined && p.templateFile !== undefined), {
    message: 'give either `template` or `templateFile`, not both',
  });

export const readySchema = z.union([
  z.literal('spawn'),
  z.strictObject({
    /** A regular expression (source text) matched against each stdout line. */
    stdout: z.string().min(1),
    /** RegExp flags, e.g. "i". */
    flags: z
      .string()
      .regex(/^[imsu]*$/, 'flags may only be i, m, s, u')
      .optional(),
  }),
]);

/** Fields an agent may take from the file's `defaults`. */
const agentFields = {
  /** The program to run, found on PATH unless it is a path. Never run through a shell. */
  command: z.string().min(1),
  /**
   * Its arguments; `{{prompt}}` (promptVia 'arg') or `{{promptFile}}` (promptVia 'file') is filled in.
   * @default []
   */
  args: z.array(z.string()),
  /** Variables set on top of this process's environment (merged with the defaults' `env`). */
  env: z.record(z.string(), z.string()),
  /**
   * Working directory, relative to the agents file's folder.
   * @default this process's
   */
  cwd: z.string().min(1),
  /**
   * Past this many ms the agent's process tree is stopped and its result is `timedOut`.
   * @default no limit
   */
  timeoutMs: positiveInt,
  /** How its prompt is built; without one the agent gets no prompt. */
  prompt: promptSpecSchema,
  /**
   * How the prompt reaches the agent: on stdin, as an argument (`{{prompt}}`) or as a file whose path is an argument (`{{promptFile}}`).
   * @default 'stdin'
   */
  promptVia: z.enum(['stdin', 'arg', 'file']),
  /**
   * When the agent counts as spawned: at its `spawn` event, or when a stdout line matches `stdout`.
   * @default 'spawn'
   */
  ready: readySchema,
  /**
   * Bytes of each stream kept for `result.stdout` / `result.stderr`; the rest is read and discarded.
   * @default 1048576 (1 MiB)
   */
  maxOutputBytes: positiveInt,
  /**
   * When the agent is stopped: ms between SIGTERM and SIGKILL to its process tree.
   * @default 2000
   */
  killGraceMs: z.number().int().nonnegative(),
  /**
   * 'close': the prompt (or nothing), then end of file. 'open': stdin stays open for `outcome.stdin`.
   * @default 'close'
   */
  stdin: z.enum(['close', 'open']),
  /**
   * Keep stdout and stderr for `result.stdout` / `result.stderr` (up to maxOutputBytes).
   * @default true
   */
  buffer: z.boolean(),
  /** Write the agent's whole stdout (no cap) to this file as it comes; relative to the agents file's folder. */
  stdoutFile: z.string().min(1),
  /** Write the agent's whole stderr (no cap) to this file as it comes; relative to the agents file's folder. */
  stderrFile: z.string().min(1),
  /**
   * Runs of this agent in flight at once under a harness (an API's per-key limit). Batches ignore it.
   * @default no limit
   */
  maxConcurrent: positiveInt,
};

export const defaultsSchema = z.strictObject(agentFields).partial();

export const agentSpecSchema = z.strictObject({
  /** Unique within a batch; names the agent in every outcome, error, metric and history row. */
  name: z.string().min(1).max(200),
  ...agentFields,
  args: agentFields.args.optional(),
  env: agentFields.env.optional(),
  cwd: agentFields.cwd.optional(),
  timeoutMs: agentFields.timeoutMs.optional(),
  prompt: agentFields.prompt.optional(),
  promptVia: agentFields.promptVia.optional(),
  ready: agentFields.ready.optional(),
  maxOutputBytes: agentFields.maxOutputBytes.optional(),
  killGraceMs: agentFields.killGraceMs.optional(),
  stdin: agentFields.stdin.optional(),
  buffer: agentFields.buffer.optional(),
  stdoutFile: agentFields.stdoutFile.optional(),
  stderrFile: agentFields.stderrFile.optional(),
  maxConcurrent: agentFields.maxConcurrent.optional(),
});

export const agentsFileSchema = z.strictObject({
  /** Values every agent takes unless it sets its own (env and prompt.vars are merged). */
  defaults: defaultsSchema.optional(),
  agents: z.array(z.unknown()).min(1, 'the agent list is empty: give at least one agent'),
});

/**
 * One agent as a user writes it (in code or in an agents file). Only `name`
 * and `command` are required; unknown fields are a ConfigError, so a typo
 * such as `timeoutMS` is never silently ignored.
 *
 * @example
 * const spec: AgentSpec = {
 *   name: 'reviewer',
 *   command: 'my-agent',
 *   args: ['--prompt-file', '{{promptFile}}'],
 *   promptVia: 'file',
 *   prompt: { templateFile: 'prompts/review.md', context: ['README.md'], maxTokens: 8000 },
 *   timeoutMs: 120_000,
 * };
 */
export type AgentSpec = z.input<typeof agentSpecSchema>;
/** Shared defaults of an agents file: any agent field but `name`; an agent's own fields win (`env` and `prompt.vars` are merged). */
export type AgentDefaults = z.input<typeof defaultsSchema>;
/** How the prompt reaches an agent: `'stdin'`, `'arg'` (`{{prompt}}` in its args) or `'file'` (`{{promptFile}}` in its args). */
export type PromptVia = z.infer<typeof agentFields.promptVia>;
