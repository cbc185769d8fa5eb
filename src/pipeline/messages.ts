/**
 * What crosses between the main thread and the launch side (the launch
 * thread, or the main thread itself for a Launcher instance): one message
 * starts a whole batch, and the launch side sends back one event when an
 * agent's spawn is known and one when it has exited. Plain data only: it
 * is structured-cloned between threads.
 */
import type { AgentResult, PromptInfo, SpawnOutcome, SpawnTimings } from '../batch/types.ts';
import type { ErrorCode, FailureStage } from '../errors.ts';
import type { ResolvedAgent } from '../spec/resolve.ts';

/**
 * One agent as the launch side needs it: the resolved agent's fields that
 * survive structured cloning as they are, plus what the spawner works out.
 * The stdout/stderr files are the batch's `resultsDir` ones when the spec
 * sets none.
 */
export interface AgentPlan
  extends Pick<
    ResolvedAgent,
    'name' | 'command' | 'args' | 'env' | 'cwd' | 'timeoutMs' | 'prompt' | 'promptVia' | 'killGraceMs' | 'stdin' | 'stdoutFile' | 'stderrFile'
  > {
  /** The agent's id in the spawner's name table (names never enter the ring). */
  agentId: number;
  /** The ready pattern as source and flags: a RegExp does not survive structured cloning. */
  ready: { source: string; flags: string } | undefined;
  /** 0 when the agent's output is not buffered (`buffer: false`). */
  maxOutputBytes: number;
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
  /** The OS error of a failed spawn (SpawnError.errno). */
  errno?: string | undefined;
}

// The wire shapes are the public ones (src/batch/types.ts, where the fields
// are documented) minus what only the main thread knows, so a field is
// declared once and the two cannot drift apart.

/** Plain numbers: the public timings cross threads as they are. */
export type WireTimings = SpawnTimings;

/** Plain data: the public prompt facts cross threads as they are. */
export type WirePrompt = PromptInfo;

/**
 * How an agent's run ended: AgentResult without what the main thread adds
 * (name and index, the output files it knows from the plan) and with the
 * error as data, revived into a typed error on arrival.
 */
export interface WireResult extends Omit<AgentResult, 'name' | 'index' | 'error' | 'stdoutFile' | 'stderrFile'> {
  error: WireError | undefined;
}

/** The agent's spawn is known. An agent that never ran carries its result too: no `exited` follows. */
export interface SpawnedEvent extends Pick<SpawnOutcome, 'index' | 'ok' | 'stage' | 'pid' | 'timings' | 'prompt'> {
  type: 'spawned';
  batchId: number;
  error: WireError | undefined;
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
