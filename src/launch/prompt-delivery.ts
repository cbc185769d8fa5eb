/**
 * How the prompt reaches the agent: on stdin (default), substituted into an
 * argument (`{{prompt}}`), or in a private temp file (`{{promptFile}}`) that
 * is removed after the agent exits, whatever the reason.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SpawnError } from '../errors.ts';
import type { LaunchRequest } from './types.ts';

/** Linux refuses a single argument longer than this (MAX_ARG_STRLEN, 32 pages). */
export const MAX_ARG_BYTES = 128 * 1024;
/** Total of arguments and environment we allow; the kernel's ARG_MAX is usually 2 MiB, the stack limit may lower it. */
export const MAX_ARGS_TOTAL_BYTES = 1024 * 1024;

export interface DeliveredPrompt {
  args: string[];
  /** Bytes to write to stdin, or undefined to give the agent no stdin. */
  input: Uint8Array | undefined;
  /** Removes what delivery created. Never throws. */
  cleanup(): Promise<void>;
}

export async function deliverPrompt(request: LaunchRequest): Promise<DeliveredPrompt> {
  const { prompt, promptVia, agent } = request;
  if (promptVia === 'stdin') return { args: request.args, input: prompt, cleanup: async () => {} };

  if (promptVia === 'arg') {
    const text = Buffer.from(prompt.buffer, prompt.byteOffset, prompt.byteLength).toString('utf8');
    const args = request.args.map((a) => a.replaceAll('{{prompt}}', () => text));
    checkArgSize(agent, request.command, args, request.env);
    return { args, input: undefined, cleanup: async () => {} };
  }

  // mkdtemp creates the folder with mode 0700: only this user can list or open the file.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'spawnpool-')).catch((error: Error) => {
    throw promptFileError(agent, error);
  });
  const file = path.join(dir, 'prompt.txt');
  try {
    await writeFile(file, prompt, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw promptFileError(agent, error as Error);
  }
  return {
    args: request.args.map((a) => a.replaceAll('{{promptFile}}', () => file)),
    input: undefined,
    cleanup: () => rm(dir, { recursive: true, force: true }).catch(() => {}),
  };
}

/** An fs error (EMFILE, ENOSPC, ...) carries its errno as `code`, which is not one of ours: say whose prompt file it was. */
function promptFileError(agent: string, cause: Error): SpawnError {
  return new SpawnError('E_SPAWN', `Agent "${agent}": could not write its prompt file: ${cause.message}`, {
    agent,
    stage: 'spawn',
    cause,
    errno: (cause as NodeJS.ErrnoException).code,
  });
}

function checkArgSize(agent: string, command: string, args: string[], env: Record<string, string> | undefined): void {
  let total = Buffer.byteLength(command) + 1;
  for (const [i, arg] of args.entries()) {
    const bytes = Buffer.byteLength(arg) + 1;
    if (bytes > MAX_ARG_BYTES) {
      throw new SpawnError(
        'E_ARG_TOO_LONG',
        `Agent "${agent}": argument ${i} is ${bytes} bytes with the prompt substituted, over the OS limit of ${MAX_ARG_BYTES} bytes per argument; use promptVia "stdin" or "file"`,
        { agent, stage: 'spawn' },
      );
    }
    total += bytes;
  }
  for (const [k, v] of Object.entries(env ?? {})) total += Buffer.byteLength(k) + Buffer.byteLength(v) + 2;
  if (total > MAX_ARGS_TOTAL_BYTES) {
    throw new SpawnError(
      'E_ARG_TOO_LONG',
      `Agent "${agent}": arguments and environment total ${total} bytes, over the ${MAX_ARGS_TOTAL_BYTES}-byte limit; use promptVia "stdin" or "file"`,
      { agent, stage: 'spawn' },
    );
  }
}
