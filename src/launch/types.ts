/**
 * The launcher interface: a spawn request goes in; `spawned`, `ready` and
 * `exited` events come out. Everything in a request is plain data, so a
 * launcher may run the agent in this process (direct) or in a helper process.
 */
import type { ErrorCode } from '../errors.ts';
import type { PromptVia } from '../spec/schema.ts';

/** One agent to start: plain data, so it can cross to another thread or process as it is. */
export interface LaunchRequest {
  /** The agent's name, for error messages. */
  agent: string;
  /** The program, found on PATH unless it is a path; run without a shell. */
  command: string;
  /** May hold `{{prompt}}` / `{{promptFile}}` placeholders (see promptVia). */
  args: string[];
  /** Variables set on top of the launching process's environment. */
  env: Record<string, string> | undefined;
  /** Absolute working directory; undefined: the launching process's. */
  cwd: string | undefined;
  /** The built prompt's bytes (empty for an agent without a prompt). */
  prompt: Uint8Array;
  /** How the prompt reaches the agent: stdin, an argument, or a file named by an argument. */
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
  /** File that receives the whole stdout as it comes (no cap), when set. */
  stdoutFile: string | undefined;
  /** File that receives the whole stderr as it comes (no cap), when set. */
  stderrFile: string | undefined;
}

/** Why the process ended, as far as the launcher knows. */
export type ExitReason = 'exit' | 'timeout' | 'aborted' | 'spawn-failed';

/** How one launched agent ended: the argument of `events.exited()`. */
export interface LaunchExit {
  /** Why it ended, as far as the launcher knows. */
  reason: ExitReason;
  /** Its process id; undefined when it never started. */
  pid: number | undefined;
  /** undefined when killed by a signal or never started. */
  exitCode: number | undefined;
  /** The signal that ended it (for example `'SIGTERM'`), if one did. */
  signal: string | undefined;
  /** Its stdout, up to the request's `maxOutputBytes`. */
  stdout: string;
  /** Its stderr, up to the request's `maxOutputBytes`. */
  stderr: string;
  /** True when stdout beyond `maxOutputBytes` was discarded. */
  stdoutTruncated: boolean;
  /** True when stderr beyond `maxOutputBytes` was discarded. */
  stderrTruncated: boolean;
  /** Spawn event to exit, ms (0 when it never started). */
  durationMs: number;
  /** Wall clock (ms since epoch) of the exit. */
  at: number;
  /** Set for reason 'spawn-failed' (and for launcher faults); `errno` is the OS error of a failed spawn. */
  error: { code: ErrorCode; message: string; errno?: string | undefined } | undefined;
}

/** What a launcher reports about one agent, in this order: `spawned`, `ready`, any `output`, then `exited` (alone, for an agent that never started). */
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

/** What `launcher.launch()` returns: control over one launched agent. */
export interface LaunchHandle {
  /** Stops the agent's whole process tree (SIGTERM, then SIGKILL after the grace). Idempotent. */
  abort(): void;
  /** Writes to the agent's stdin (request `stdin: 'open'`); ignored once it ended or exited. */
  write?(data: Uint8Array): void;
  /** Closes the agent's stdin (end of file). */
  end?(): void;
}

/**
 * Starts agent processes for a Spawner: the built-in DirectLauncher,
 * HelperLauncher and AutoLauncher, or your own. A Launcher instance given
 * to the Spawner runs on the main thread (a launcher chosen by name runs on
 * the spawner's launch thread). `launch()` must not throw: a failure to
 * start is reported as an `exited` event with reason `'spawn-failed'` and
 * an `error`.
 *
 * @example
 * const direct = new DirectLauncher();
 * const logging: Launcher = {
 *   launch(request, events) {
 *     console.log('launching', request.agent, request.command);
 *     return direct.launch(request, events);
 *   },
 *   close: () => direct.close(),
 * };
 * const spawner = new Spawner({ launcher: logging });
 */
export interface Launcher {
  /** Starts one agent and returns at once; everything about it arrives through `events`. */
  launch(request: LaunchRequest, events: LaunchEvents): LaunchHandle;
  /**
   * Starts now what the launcher would otherwise start on its first launch
   * (a helper process), so that launch does not pay for it. Optional; never rejects.
   */
  warmUp?(): Promise<void>;
  /** Kills every agent still running and releases the launcher's resources. */
  close(): Promise<void>;
}
