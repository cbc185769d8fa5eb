/**
 * Piscina worker: builds one agent's prompt off the main thread, writes a
 * BUILD record into the spawner's metrics ring, and moves the prompt bytes
 * back (transfer, not copy). Failures are returned as data, not thrown, so
 * their code survives the trip to the main thread.
 */
import { threadId } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import { ERROR_CODES, errorCodeNumber, type ErrorCode } from '../src/errors.ts';
import { MetricsRing } from '../src/metrics/ring.ts';
import { buildRecord, wallClockMs } from '../src/metrics/record.ts';
import { buildFromSpec } from '../src/prompt/build.ts';
import { countTokens } from '../src/prompt/tokens.ts';
import type { PromptBuilder } from '../src/prompt/types.ts';
import type { BuildReply, BuildTask, BuildWorkerData } from '../src/pool/build-task.ts';

const data = workerData as BuildWorkerData;
const ring = MetricsRing.attach(data.ring);
// Loaded on first use, once per worker; a module that fails to load fails each build with a clear error.
let builder: Promise<PromptBuilder> | undefined;

export default async function build(task: BuildTask): Promise<BuildReply | object> {
  const startedAt = wallClockMs();
  const queueMs = Math.max(0, startedAt - task.queuedAt);
  try {
    const custom = data.builder === undefined ? undefined : await loadBuilder(data.builder);
    const built = await buildFromSpec(task.spec, { agent: task.agent, root: task.root, ...(custom ? { builder: custom } : {}) });
    const builtAt = wallClockMs();
    record(task, true, undefined, startedAt, builtAt - startedAt, queueMs);
    return transfer({
      ok: true,
      bytes: ownBuffer(built.bytes),
      sha256: built.sha256,
      tokens: built.tokens,
      truncated: built.truncated,
      queueMs,
      buildMs: builtAt - startedAt,
      builtAt,
      threadId,
    });
  } catch (error) {
    const buildMs = wallClockMs() - startedAt;
    const { code, message } = describeFailure(error, task.agent);
    record(task, false, code, startedAt, buildMs, queueMs);
    return { ok: false, error: { code, message }, queueMs, buildMs, threadId };
  }
}

/** Pays the one-time costs (tokenizer tables, custom builder import) before the first batch does. */
export async function warmUp(): Promise<number> {
  countTokens('warm up');
  if (data.builder !== undefined) await loadBuilder(data.builder).catch(() => undefined);
  return threadId;
}

function record(task: BuildTask, ok: boolean, code: ErrorCode | undefined, at: number, buildMs: number, queueMs: number): void {
  ring.write(
    buildRecord({
      ok,
      errorCode: errorCodeNumber(code),
      agentId: task.agentId,
      batchId: task.batchId,
      writerThreadId: threadId,
      pid: 0,
      timestamp: at,
      buildMs,
      queueMs,
    }),
  );
}

/** Piscina sends the reply with the prompt's buffer in the transfer list: moved, not copied. */
function transfer(reply: BuildReply & { ok: true }): object {
  return move({ [transferableSymbol]: reply.bytes.buffer, [valueSymbol]: reply });
}

/** A view of part of a larger buffer (Node's Buffer pool) cannot be moved alone: give it its own. */
function ownBuffer(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

async function loadBuilder(url: string): Promise<PromptBuilder> {
  builder ??= import(url).then(
    (mod: { default?: unknown }) => {
      if (typeof mod.default !== 'function') throw new TypeError(`builder module ${url} has no default export function`);
      return mod.default as PromptBuilder;
    },
    (error: unknown) => {
      throw new Error(`builder module ${url} failed to load: ${(error as Error).message}`);
    },
  );
  return builder;
}

function describeFailure(error: unknown, agent: string): { code: ErrorCode; message: string } {
  const raw = error as { code?: unknown; message?: unknown };
  const message = typeof raw?.message === 'string' ? raw.message : String(error);
  if (typeof raw?.code === 'string' && raw.code in ERROR_CODES) return { code: raw.code as ErrorCode, message };
  return { code: 'E_BUILD', message: message.includes(`"${agent}"`) ? message : `Agent "${agent}": prompt build failed: ${message}` };
}
