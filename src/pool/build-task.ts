/** Messages between the main thread and a build worker. Plain data only: they cross threads. */
import type { ErrorCode } from '../errors.ts';
import type { PromptSpec } from '../prompt/types.ts';

/** Sent once to every worker, as Piscina `workerData`. */
export interface BuildWorkerData {
  /** The spawner's metrics ring (shared, never copied). */
  ring: SharedArrayBuffer;
  /** URL of a custom builder module, if any. */
  builder: string | undefined;
  /** Added to the worker thread's nice value once its one-time loading is done (Linux; 0: left alone). */
  nice: number;
}

export interface BuildTask {
  agent: string;
  agentId: number;
  batchId: number;
  spec: PromptSpec;
  /** Absolute folder that context and template files must stay under. */
  root: string;
  /** Wall-clock ms when the agent's turn came (queue wait is measured from here). */
  queuedAt: number;
}

export interface BuildSuccess {
  ok: true;
  /** Moved (transferred) from the worker, not copied. */
  bytes: Uint8Array;
  sha256: string;
  tokens: number;
  truncated: boolean;
  queueMs: number;
  buildMs: number;
  /** Wall-clock ms when the worker finished. */
  builtAt: number;
  /** threadId of the worker that built it. */
  threadId: number;
}

export interface BuildFailure {
  ok: false;
  error: { code: ErrorCode; message: string };
  queueMs: number;
  buildMs: number;
  threadId: number;
}

export type BuildReply = BuildSuccess | BuildFailure;
