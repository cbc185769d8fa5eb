/**
 * The baselines' launcher: the best honest version of the naive approach, a
 * bare execa call per agent with nothing spawnpool adds (no process group,
 * no output capture, no timeout, no metrics). Agents are the same commands
 * the spawnpool variants run.
 */
import { once } from 'node:events';
import { execa } from 'execa';

export interface NaiveAgent {
  command: string;
  args: readonly string[];
  /** Prompt bytes for stdin; without them the agent gets no stdin. */
  input?: Uint8Array;
  /** The agent counts as up at its first stdout line matching this; else at its spawn event. */
  ready?: RegExp;
}

export interface NaiveLaunch {
  /** performance.now() when the agent counted as up. */
  readyAt: number;
  /** How long the synchronous execa() call held the main thread (fork/exec and stream setup), ms. */
  callMs: number;
  /** Settles when the agent has exited. */
  exited: Promise<void>;
}

/** Launches one agent; resolves when it is up (spawned, or printed its ready line). */
export async function launchNaive(agent: NaiveAgent): Promise<NaiveLaunch> {
  const before = performance.now();
  const child = execa(agent.command, [...agent.args], {
    ...(agent.input === undefined ? { stdin: 'ignore' as const } : { input: agent.input }),
    stdout: agent.ready === undefined ? 'ignore' : 'pipe',
    stderr: 'ignore',
    buffer: false,
    reject: false,
  });
  const callMs = performance.now() - before;
  const exited = child.then((result) => {
    if (result.failed && result.exitCode === undefined) throw new Error(`${agent.command}: ${result.message}`);
  });
  if (agent.ready === undefined) {
    await Promise.race([once(child, 'spawn'), exited.then(() => Promise.reject(new Error(`${agent.command} exited before spawning`)))]);
    return { readyAt: performance.now(), callMs, exited };
  }
  const readyAt = await readyLine(child.stdout!, agent.ready, exited);
  return { readyAt, callMs, exited };
}

/** performance.now() at the first complete stdout line matching `pattern`; the rest of stdout is drained. */
function readyLine(stdout: NodeJS.ReadableStream, pattern: RegExp, exited: Promise<void>): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let pending = '';
    let found = false;
    stdout.setEncoding('utf8');
    stdout.on('data', (chunk: string) => {
      if (found) return;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      if (lines.some((line) => pattern.test(line))) {
        found = true;
        resolve(performance.now());
      }
    });
    void exited.then(() => found || reject(new Error(`agent exited before printing a line matching ${String(pattern)}`)), reject);
  });
}
