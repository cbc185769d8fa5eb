/**
 * What crosses between the main thread and the launch side (the launch
 * thread, or the main thread itself for a Launcher instance): one message
 * starts a whole batch, and the launch side sends back one event when an
 * agent's spawn is known and one when it has exited. Plain data only: it
 * is structured-cloned between threads.
 */
import type { ErrorCode, FailureStage } from '../errors.ts';
import type { PromptSpec } from '../prompt/types.ts';
import type { PromptVia } from '../spec/schema.ts';

/** One agent as the launch side needs it. */
export interface AgentPlan {
  name: string;
  /** The agent's id in the spawner's name table (names never enter the ring). */
  agentId: number;
  command: string;
  args: string[];
  env: Record<string, string> | undefined;
  cwd: string | undefined;
  timeoutMs: number | undefined;
  prompt: PromptSpec | undefined;
  promptVia: PromptVia;
  ready: { source: string; flags: string } | undefined;
  /** 0 when the agent's output is not buffered (`buffer: false`). */
  maxOutputBytes: number;
  killGraceMs: number;
  stdin: 'close' | 'open';
  stdoutFile: string | undefined;
  stderrFile: string | undefined;
  /** A folder of its own (batch option resultsDir): prompt.txt before it starts, result.json after it exits. */
  saveTo: string | undefined;
}

export interface BatchStart {
  type: 'batch';
  batchId: number;
  /** Wall-clock ms when spawnBatch() was called. */
  startedAt: number;
  root: string;
  mode: 'concurrent' | 'sequential';
  /** Agents in flight at once (from build start to exit); Infinity: no bound. */
  concurrency: number;
  /** Send every agent's output as it comes (`output` events). */
  stream: boolean;
  /** Stopped before it started (an already aborted signal): every agent fails as stopped, none starts. */
  stopped?: StopReason;
  agents: AgentPlan[];
}

/** Why agents are being stopped; the message each of them gets says which. */
export type StopReason = 'aborted' | 'closed' | 'alone';

export interface StopRequest {
  type: 'stop';
  batchId: number;
  reason: StopReason;
  /** Stop this agent only (reason 'alone'). */
  index?: number;
}

/** Bytes for an agent's open stdin, or its end. */
export interface StdinRequest {
  type: 'stdin';
  batchId: number;
  index: number;
  data: Uint8Array | undefined;
  end: boolean;
}

export type ToLaunchSide = BatchStart | StopRequest | StdinRequest | { type: 'warmUp' } | { type: 'close' };

/** An error as it crosses threads; the main thread turns it back into a typed error. */
export interface WireError {
  code: ErrorCode;
  message: string;
  stage: FailureStage;
}

/** Where the time to spawn one agent went, in ms. */
export interface WireTimings {
  queueMs: number;
  buildMs: number;
  launchMs: number;
  spawnMs: number;
  sinceBatchStartMs: number;
}

export interface WirePrompt {
  bytes: number;
  tokens: number;
  sha256: string;
  truncated: boolean;
  builtOnThread: number;
}

/** How an agent's run ended (AgentResult without its name and index, which the main thread knows). */
export interface WireResult {
  ok: boolean;
  stage: 'build' | 'spawn' | 'run' | 'timeout' | 'aborted' | undefined;
  error: WireError | undefined;
  pid: number | undefined;
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  durationMs: number;
  timedOut: boolean;
}

/** The agent's spawn is known. An agent that never ran carries its result too: no `exited` follows. */
export interface SpawnedEvent {
  type: 'spawned';
  batchId: number;
  index: number;
  ok: boolean;
  stage: 'build' | 'spawn' | 'aborted' | undefined;
  error: WireError | undefined;
  pid: number | undefined;
  timings: WireTimings;
  prompt: WirePrompt | undefined;
  result: WireResult | undefined;
}

export interface ExitedEvent {
  type: 'exited';
  batchId: number;
  index: number;
  result: WireResult;
}

/** Output of a running agent; consecutive chunks of one stream are joined before they cross threads. */
export interface OutputEvent {
  type: 'output';
  batchId: number;
  index: number;
  stream: 'stdout' | 'stderr';
  chunk: Uint8Array;
}

export type AgentEvent = SpawnedEvent | ExitedEvent | OutputEvent;

export type FromLaunchSide = { type: 'events'; events: AgentEvent[] } | { type: 'ready' } | { type: 'closed' };
