/**
 * The host process is signalled (SIGINT, SIGTERM) while its agents run: it
 * must die of that signal as it would without spawnpool, and take every
 * agent tree with it. A real host program (test/fixtures/hosts/signal-host.mjs)
 * runs a Spawner; the test signals it and searches /proc afterwards.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { newTag, settleLeftovers } from './helpers.ts';

const HOST = fileURLToPath(new URL('../fixtures/hosts/signal-host.mjs', import.meta.url));

interface HostRun {
  exit: { code: number | null; signal: NodeJS.Signals | null };
  pids: number[];
  stderr: string;
}

async function signalHost(launcher: 'direct' | 'helper', tag: string, signal: NodeJS.Signals): Promise<HostRun> {
  const host = spawn(process.execPath, [HOST, launcher, tag], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  host.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(host, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  try {
    const lines = createInterface({ input: host.stdout });
    const first = await Promise.race([once(lines, 'line') as Promise<[string]>, exited.then(() => undefined)]);
    if (first === undefined) throw new Error(`the host exited before its agents were up: ${stderr}`);
    const { pids } = JSON.parse(first[0]) as { pids: number[] };
    host.kill(signal);
    const [code, sig] = await exited;
    return { exit: { code, signal: sig }, pids, stderr };
  } finally {
    // Only if an assertion above threw before the host was signalled.
    if (host.exitCode === null && host.signalCode === null) host.kill('SIGKILL');
  }
}

describe.each(['direct', 'helper'] as const)('host signals (launcher %s)', (launcher) => {
  // SIGKILL: no cleanup code of the host's runs; the watchdog (direct) or the helper must do it.
  it.concurrent.for(['SIGTERM', 'SIGINT', 'SIGKILL'] as const)('a host killed by %s leaves no agent process behind', async (signal, { expect }) => {
    const tag = newTag();
    const run = await signalHost(launcher, tag, signal);
    expect(run.pids).toHaveLength(3);
    // spawnpool cleans up, then lets the signal end the host as it would have anyway.
    expect(run.exit, run.stderr).toEqual({ code: null, signal });
    expect(await settleLeftovers({ tag, pgids: run.pids })).toEqual([]);
  });
});
