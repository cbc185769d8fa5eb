/**
 * The messages of the helper protocol, on top of the frames of wire.ts: a
 * launch request (prompt as payload), an exit (stdout and stderr as
 * payload), and the small ones. Both sides use this file, so the shapes
 * cannot drift apart.
 */
import type { LaunchExit, LaunchRequest } from '../types.ts';
import { encodeFrame, FRAME, ProtocolError, type Frame } from './wire.ts';

type LaunchHeader = Omit<LaunchRequest, 'prompt'>;
type ExitHeader = Omit<LaunchExit, 'stdout' | 'stderr'> & { stdoutBytes: number };

export function launchFrame(id: number, request: LaunchRequest): Uint8Array[] {
  const { prompt, ...header } = request;
  return encodeFrame(FRAME.launch, id, header satisfies LaunchHeader, [prompt]);
}

/** The request; its prompt is a view of the frame's bytes. */
export function readLaunch(frame: Frame): LaunchRequest {
  const h = objectHeader(frame) as unknown as LaunchHeader;
  return {
    agent: h.agent,
    command: h.command,
    args: h.args,
    env: h.env ?? undefined,
    cwd: h.cwd ?? undefined,
    prompt: frame.payload,
    promptVia: h.promptVia,
    ready: h.ready ?? undefined,
    timeoutMs: h.timeoutMs ?? undefined,
    killGraceMs: h.killGraceMs,
    maxOutputBytes: h.maxOutputBytes,
    stream: h.stream,
    stdin: h.stdin,
    stdoutFile: h.stdoutFile ?? undefined,
    stderrFile: h.stderrFile ?? undefined,
  };
}

export function stdinFrame(id: number, data: Uint8Array): Uint8Array[] {
  return encodeFrame(FRAME.stdin, id, undefined, [data]);
}

export function stdinEndFrame(id: number): Uint8Array[] {
  return encodeFrame(FRAME.stdinEnd, id);
}

/** One output chunk; the header is one character, the stream's initial, so a chunk costs almost nothing more than its bytes. */
export function outputFrame(id: number, stream: 'stdout' | 'stderr', chunk: Uint8Array): Uint8Array[] {
  return encodeFrame(FRAME.output, id, stream === 'stdout' ? 'o' : 'e', [chunk]);
}

export function readOutput(frame: Frame): { stream: 'stdout' | 'stderr'; chunk: Buffer } {
  if (frame.header !== 'o' && frame.header !== 'e') throw new ProtocolError('output frame without its stream');
  return { stream: frame.header === 'o' ? 'stdout' : 'stderr', chunk: frame.payload };
}

export function abortFrame(id: number): Uint8Array[] {
  return encodeFrame(FRAME.abort, id);
}

/** The host's whole environment, sent when it changed since the last launch. */
export function envFrame(env: Record<string, string>): Uint8Array[] {
  return encodeFrame(FRAME.env, 0, env);
}

export function readEnv(frame: Frame): Record<string, string> {
  return objectHeader(frame) as Record<string, string>;
}

export function spawnedFrame(id: number, pid: number): Uint8Array[] {
  return encodeFrame(FRAME.spawned, id, { pid });
}

export function readSpawned(frame: Frame): { pid: number } {
  const { pid } = objectHeader(frame);
  if (typeof pid !== 'number') throw new ProtocolError('spawned frame without a pid');
  return { pid };
}

export function helloFrame(): Uint8Array[] {
  return encodeFrame(FRAME.hello, 0);
}

export function readyFrame(id: number): Uint8Array[] {
  return encodeFrame(FRAME.ready, id);
}

export function exitedFrame(id: number, exit: LaunchExit): Uint8Array[] {
  const { stdout, stderr, ...rest } = exit;
  const out = Buffer.from(stdout, 'utf8');
  const err = Buffer.from(stderr, 'utf8');
  return encodeFrame(FRAME.exited, id, { ...rest, stdoutBytes: out.length } satisfies ExitHeader, [out, err]);
}

export function readExited(frame: Frame): LaunchExit {
  const h = objectHeader(frame) as unknown as ExitHeader;
  // JSON drops undefined fields: name every field so the exit has the same shape as a direct one.
  // Both texts were valid UTF-8 strings before encoding, so decoding gives them back exactly.
  return {
    reason: h.reason,
    pid: h.pid ?? undefined,
    exitCode: h.exitCode ?? undefined,
    signal: h.signal ?? undefined,
    stdout: frame.payload.toString('utf8', 0, h.stdoutBytes),
    stderr: frame.payload.toString('utf8', h.stdoutBytes),
    stdoutTruncated: h.stdoutTruncated,
    stderrTruncated: h.stderrTruncated,
    durationMs: h.durationMs,
    at: h.at,
    error: h.error ?? undefined,
  };
}

function objectHeader(frame: Frame): Record<string, unknown> {
  if (typeof frame.header !== 'object' || frame.header === null) throw new ProtocolError(`frame type ${frame.type} has no header`);
  return frame.header as Record<string, unknown>;
}
