/**
 * Piscina worker: builds one agent's prompt off the main thread, writes a
 * BUILD record into the spawner's metrics ring, and moves the prompt bytes
 * back (transfer, not copy). Failures are returned as data, not thrown, so
 * their code survives the trip to the main thread.
 */
import { createRequire } from 'node:module';
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
let settled: Promise<void> | undefined;

export default async function build(task: BuildTask): Promise<BuildReply | object> {
  const startedAt = wallClockMs();
  const queueMs = Math.max(0, startedAt - task.queuedAt);
  try {
    await settle();
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
  await settle();
  return threadId;
}

/**
 * The one-time costs, paid at full priority; only then does the thread lower it. A worker that started niced
 * (Piscina's niceIncrement) boots starved whenever the host's cores are busy: beside three busy loops a
 * replacement for a timed-out build took ~10 s to load the tokenizer, and the build waiting for it timed out.
 */
function settle(): Promise<void> {
  settled ??= (async () => {
    countTokens('warm up');
    if (data.builder !== undefined) await loadBuilder(data.builder).catch(() => undefined);
    lowerPriority(data.nice);
  })();
  return settled;
}

/** Linux only: there setpriority() moves the calling thread alone; elsewhere it would slow the whole process. */
function lowerPriority(increment: number): void {
  if (increment === 0 || process.platform !== 'linux') return;
  try {
    // The native module Piscina itself uses for niceIncrement (an optional dependency: without it, no nice).
    const { nice } = createRequire(import.meta.url)('@napi-rs/nice') as { nice(increment: number): number };
    nice(increment);
  } catch {
    // Not installed for this platform: builds run at the host's priority.
  }
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
