/**
 * After the spawn: an agent's output as it comes (chunks, lines, JSON
 * events), its stdin kept open, output sent to files, and buffering off,
 * through both launchers. "As it comes" is proven without clocks: the agent
 * prints a line and then waits on its stdin, so the test can only see that
 * line before the agent exits.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveAgents, type SpawnOutcome } from '../../src/index.ts';
import { agentScript, NODE, withSpawner, withTempDir } from '../support/fixtures.ts';

async function first(batch: AsyncIterable<SpawnOutcome>): Promise<SpawnOutcome> {
  for await (const o of batch) return o;
  throw new Error('no outcome');
}

describe.each(['direct', 'helper'] as const)('streaming (launcher %s)', (launcher) => {
  it('yields JSON events while the agent runs, and takes its stdin', async () => {
    await withSpawner({ launcher, workers: 1 }, async (spawner) => {
      // Prints an event, then answers each stdin line with an event, and exits at end of file.
      const script =
        'console.log(JSON.stringify({ type: "init" })); process.stdin.setEncoding("utf8"); let rest = ""; process.stdin.on("data", (c) => { const lines = (rest + c).split("\\n"); rest = lines.pop(); for (const l of lines) console.log(JSON.stringify({ type: "echo", text: l })); });';
      const batch = spawner.spawnBatch([{ name: 'proto', command: NODE, args: ['-e', script], stdin: 'open' }], { stream: true });
      const outcome = await first(batch);
      expect(outcome.ok).toBe(true);
      const events = outcome.stdout.events();
      // The agent is still running: it cannot exit before its stdin ends.
      expect((await events.next()).value).toEqual({ type: 'init' });
      outcome.stdin!.write('hello\n');
      expect((await events.next()).value).toEqual({ type: 'echo', text: 'hello' });
      outcome.stdin!.write('again\n');
      expect((await events.next()).value).toEqual({ type: 'echo', text: 'again' });
      outcome.stdin!.end();
      expect((await events.next()).done).toBe(true);
      const [result] = await batch.results;
      expect([result!.ok, result!.stdout.split('\n').length]).toEqual([true, 4]);
    });
  });

  it('gives the prompt first on an open stdin, then what the host writes', async () => {
    await withSpawner({ launcher, workers: 1 }, async (spawner) => {
      const batch = spawner.spawnBatch([{ name: 'cat', command: 'cat', stdin: 'open', prompt: { template: 'PROMPT\n' } }], { stream: true });
      const outcome = await first(batch);
      const lines = outcome.stdout.lines();
      expect((await lines.next()).value).toBe('PROMPT');
      outcome.stdin!.write('more');
      outcome.stdin!.end();
      expect((await lines.next()).value).toBe('more');
      expect((await batch.results)[0]!.stdout).toBe('PROMPT\nmore');
    });
  });

  it('writes each stream whole to a file, and keeps no buffer with buffer: false', async () => {
    await withTempDir(async (dir) => {
      await withSpawner({ launcher, workers: 1 }, async (spawner) => {
        const bytes = 3 << 20;
        const out = path.join(dir, 'out.txt');
        const err = path.join(dir, 'err.txt');
        const batch = spawner.spawnBatch([
          {
            name: 'loud',
            command: NODE,
            args: [agentScript('big-output.mjs'), String(bytes), 'both'],
            buffer: false,
            stdoutFile: out,
            stderrFile: err,
            maxOutputBytes: 1000,
          },
        ]);
        const [result] = await batch.results;
        expect(result!.ok).toBe(true);
        expect([result!.stdout, result!.stderr, result!.stdoutTruncated]).toEqual(['', '', false]);
        expect((await readFile(out)).length).toBe(bytes);
        expect((await readFile(err)).length).toBe(bytes);
      });
    });
  });

  it('bounds unread output: the oldest is dropped and counted, never silently', async () => {
    await withSpawner({ launcher, workers: 1 }, async (spawner) => {
      const bytes = 2 << 20;
      const batch = spawner.spawnBatch([{ name: 'loud', command: NODE, args: [agentScript('big-output.mjs'), String(bytes), 'stdout'], buffer: false }], {
        stream: true,
        streamBufferBytes: 256 * 1024,
      });
      const outcome = await first(batch);
      await batch.results;
      let read = 0;
      for await (const chunk of outcome.stdout.chunks()) read += chunk.byteLength;
      expect(outcome.stdout.droppedBytes).toBeGreaterThan(0);
      expect(read + outcome.stdout.droppedBytes).toBe(bytes);
      expect(read).toBeLessThanOrEqual(256 * 1024);
    });
  });
});

describe('output without streaming', () => {
  it('yields the buffered output once the agent has exited', async () => {
    await withSpawner({ workers: 1 }, async (spawner) => {
      const batch = spawner.spawnBatch([{ name: 'two', command: 'sh', args: ['-c', 'echo one; echo two; echo oops >&2'] }]);
      const outcome = await first(batch);
      const lines: string[] = [];
      for await (const line of outcome.stdout.lines()) lines.push(line);
      const errors: string[] = [];
      for await (const line of outcome.stderr.lines()) errors.push(line);
      expect([lines, errors]).toEqual([['one', 'two'], ['oops']]);
    });
  });

  it('refuses a second reader of one stream', async () => {
    await withSpawner({ workers: 1 }, async (spawner) => {
      const outcome = await first(spawner.spawnBatch([{ name: 'e', command: 'true' }]));
      await outcome.result;
      for await (const _ of outcome.stdout.chunks());
      await expect(outcome.stdout.lines().next()).rejects.toThrow(/read only once/);
    });
  });
});

describe('prompt placeholders', () => {
  it.each([
    [{ args: ['{{prompt}}'] }, /field "args\.0": \{\{prompt\}\} is only filled with promptVia "arg" \(this agent's promptVia is "stdin", the default\)/],
    [{ args: ['-f', '{{promptFile}}', '{{prompt}}'], promptVia: 'arg' as const }, /field "args\.1": \{\{promptFile\}\} is only filled with promptVia "file"/],
  ])('a placeholder the delivery does not fill is a ConfigError naming the agent and field (%o)', (fields, message) => {
    let error: unknown;
    try {
      resolveAgents([{ name: 'lit', command: 'agent', prompt: { template: 'x' }, ...fields }]);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ agent: 'lit', message: expect.stringMatching(message) });
  });
});
