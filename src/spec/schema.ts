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
  command: z.string().min(1),
  args: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  cwd: z.string().min(1),
  timeoutMs: positiveInt,
  prompt: promptSpecSchema,
  promptVia: z.enum(['stdin', 'arg', 'file']),
  ready: readySchema,
  maxOutputBytes: positiveInt,
  killGraceMs: z.number().int().nonnegative(),
  /** 'close' (default): the prompt (or nothing), then end of file. 'open': stdin stays open for `outcome.stdin`. */
  stdin: z.enum(['close', 'open']),
  /** Keep stdout and stderr for `result.stdout` / `result.stderr` (up to maxOutputBytes). Default true. */
  buffer: z.boolean(),
  /** Write the agent's whole stdout (no cap) to this file as it comes; relative to the agents file's folder. */
  stdoutFile: z.string().min(1),
  stderrFile: z.string().min(1),
  /** Runs of this agent in flight at once under a harness (an API's per-key limit). Batches ignore it. */
  maxConcurrent: positiveInt,
};

export const defaultsSchema = z.strictObject(agentFields).partial();

export const agentSpecSchema = z.strictObject({
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

/** One agent as a user writes it. */
export type AgentSpec = z.input<typeof agentSpecSchema>;
/** Shared defaults of an agents file. */
export type AgentDefaults = z.input<typeof defaultsSchema>;
export type PromptVia = z.infer<typeof agentFields.promptVia>;
