/**
 * Agents that start but end badly: a non-zero exit, death by a signal, more
 * output than the cap, stdin closed before a large prompt was written
 * (EPIPE). Each is reported on that agent's result; the host lives on and
 * the other agents, fed the same large prompt, get it whole.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Spawner } from '../../src/spawner.ts';
import { agent, finish, nodeAgent } from './helpers.ts';

// About 2 MiB, 32 times a pipe's buffer: the writer is sure to hit EPIPE when the reader is gone.
// Words, not one long run: the tokenizer is quadratic in the length of a single word.
const BIG_PROMPT = 'lorem ipsum dolor sit amet '.repeat(80_000);

describe('run faults', () => {
  let spawner: Spawner;
  beforeAll(() => {
    spawner = new Spawner({ workers: 1 });
  });
  afterAll(async () => {
    await spawner.close();
  });

  it('reports exit codes, signals, capped output and an early-closed stdin per agent; the rest succeed', async () => {
    const cap = 64 * 1024;
    const done = await finish(
      spawner.spawnBatch([
        { name: 'good-big', ...nodeAgent('echo-sha256.mjs'), prompt: { template: BIG_PROMPT } },
        { name: 'exit-3', command: process.execPath, args: ['-e', 'process.exit(3)'] },
        { name: 'self-kill', command: process.execPath, args: ['-e', 'process.kill(process.pid, "SIGKILL")'] },
        { name: 'chatty', ...nodeAgent('big-output.mjs', String(4 * 1024 * 1024), 'both'), maxOutputBytes: cap },
        { name: 'closes-stdin', ...nodeAgent('close-stdin.mjs'), prompt: { template: BIG_PROMPT } },
        { name: 'good-small', ...nodeAgent('echo-sha256.mjs'), prompt: { template: 'small' } },
      ]),
    );

    // Every agent spawned: the faults below are all at `run`, on the result.
    for (const o of done.outcomes) expect(o.ok, o.name).toBe(true);

    const exit3 = agent(done, 'exit-3').result;
    expect(exit3.ok).toBe(false);
    expect(exit3.stage).toBe('run');
    expect(exit3.exitCode).toBe(3);
    expect(exit3.error?.code).toBe('E_EXIT');
    expect(exit3.error?.agent).toBe('exit-3');
    expect(exit3.error?.message).toBe('Agent "exit-3" exited with code 3');

    const killed = agent(done, 'self-kill').result;
    expect(killed.ok).toBe(false);
    expect(killed.stage).toBe('run');
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.error?.code).toBe('E_SIGNAL');
    expect(killed.error?.message).toBe('Agent "self-kill" was killed by SIGKILL');

    // Over the cap is not a failure: the output is cut, flagged, and the rest read and dropped (the agent never blocks).
    const chatty = agent(done, 'chatty').result;
    expect(chatty.ok).toBe(true);
    expect(chatty.exitCode).toBe(0);
    expect(chatty.stdoutTruncated).toBe(true);
    expect(chatty.stderrTruncated).toBe(true);
    expect(Buffer.byteLength(chatty.stdout)).toBe(cap);
    expect(Buffer.byteLength(chatty.stderr)).toBe(cap);

    // The agent chose not to read its prompt: EPIPE on our side is not its failure, and not the host's crash.
    const closes = agent(done, 'closes-stdin').result;
    expect(closes.stdout).toBe('closed stdin\n');
    expect(closes.exitCode).toBe(0);
    expect(closes.ok).toBe(true);

    for (const name of ['good-big', 'good-small']) {
      const { outcome, result } = agent(done, name);
      expect(result.ok, name).toBe(true);
      const [sha, bytes] = result.stdout.trim().split(' ');
      expect(sha).toBe(outcome.prompt?.sha256);
      expect(Number(bytes)).toBe(outcome.prompt?.bytes);
    }
    expect(agent(done, 'good-big').outcome.prompt?.bytes).toBe(Buffer.byteLength(BIG_PROMPT));
  });

  it('survives many early-closed stdins in a row and keeps its counters exact', async () => {
    const agents = Array.from({ length: 12 }, (_, i) =>
      i % 3 === 0
        ? { name: `reader-${i}`, ...nodeAgent('echo-sha256.mjs'), prompt: { template: BIG_PROMPT } }
        : { name: `closer-${i}`, ...(i % 3 === 1 ? nodeAgent('close-stdin.mjs') : { command: '/bin/true' }), prompt: { template: BIG_PROMPT } },
    );
    const done = await finish(spawner.spawnBatch(agents));
    for (const { outcome, result } of done.byName.values()) {
      expect(result.ok, `${outcome.name}: ${result.error?.message}`).toBe(true);
      if (outcome.name.startsWith('reader')) expect(result.stdout.split(' ')[0]).toBe(outcome.prompt?.sha256);
    }
    const snap = spawner.metrics.snapshot();
    expect(snap.invalid).toBe(0);
    expect(snap.written).toBe(
      snap.dropped +
        snap.totals.build.ok +
        snap.totals.build.failed +
        snap.totals.spawn.ok +
        snap.totals.spawn.failed +
        snap.totals.exit.ok +
        snap.totals.exit.failed,
    );
  });
});
