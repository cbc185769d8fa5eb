/**
 * The launcher interface: a spawn request goes in; `spawned`, `ready` and
 * `exited` events come out. Everything in a request is plain data, so a
 * launcher may run the agent in this process (direct) or in a helper process.
 */
import type { ErrorCode } from '../errors.ts';
import type { PromptVia } from '../spec/schema.ts';

export interface LaunchRequest {
  agent: string;
  command: string;
  /** May hold `{{prompt}}` / `{{promptFile}}` placeholders (see promptVia). */
  args: string[];
  env: Record<string, string> | undefined;
  cwd: string | undefined;
  prompt: Uint8Array;
  promptVia: PromptVia;
  /** Regex matched against stdout lines; undefined: ready at the spawn event. */
  ready: { source: string; flags: string } | undefined;
  /** From the spawn event; undefined: no limit. */
  timeoutMs: number | undefined;
  /** SIGTERM to SIGKILL, when stopping the process tree. */
  killGraceMs: number;
  /** Per stream, for the exit's stdout/stderr; output beyond it is discarded and flagged. 0: keep nothing. */
  maxOutputBytes: number;
  /** Report every output chunk as it comes (the `output` event). */
  stream: boolean;
  /** 'open': after the prompt (stdin delivery), stdin stays open for `handle.write()` / `handle.end()`. */
  stdin: 'close' | 'open';
  /** Files that receive the whole stream as it comes (no cap), when set. */
  stdoutFile: string | undefined;
  stderrFile: string | undefined;
}

/** Why the process ended, as far as the launcher knows. */
export type ExitReason = 'exit' | 'timeout' | 'aborted' | 'spawn-failed';

export interface LaunchExit {
  reason: ExitReason;
  pid: number | undefined;
  /** undefined when killed by a signal or never started. */
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** Spawn event to exit, ms (0 when it never started). */
  durationMs: number;
  /** Wall clock (ms since epoch) of the exit. */
  at: number;
  /** Set for reason 'spawn-failed' (and for launcher faults). */
  error: { code: ErrorCode; message: string } | undefined;
}

export interface LaunchEvents {
  /** The OS process exists. `at` is wall-clock ms since the epoch. */
  spawned(pid: number, at: number): void;
  /** The agent is up: at the spawn event, or at its first stdout line matching `ready`. */
  ready(at: number): void;
  /** A chunk of output, as it comes (only when the request asked to `stream`). */
  output?(stream: 'stdout' | 'stderr', chunk: Uint8Array): void;
  /** Exactly once, last. */
  exited(exit: LaunchExit): void;
}

export interface LaunchHandle {
  /** Stops the agent's whole process tree (SIGTERM, then SIGKILL after the grace). Idempotent. */
  abort(): void;
  /** Writes to the agent's stdin (request `stdin: 'open'`); ignored once it ended or exited. */
  write?(data: Uint8Array): void;
  /** Closes the agent's stdin (end of file). */
  end?(): void;
}

export interface Launcher {
  launch(request: LaunchRequest, events: LaunchEvents): LaunchHandle;
  /**
   * Starts now what the launcher would otherwise start on its first launch
   * (a helper process), so that launch does not pay for it. Optional; never rejects.
   */
  warmUp?(): Promise<void>;
  /** Kills every agent still running and releases the launcher's resources. */
  close(): Promise<void>;
}
