/**
 * The core launch behaviours, run against both launchers: whatever forks the
 * agent (this process or a helper), the outcomes must be the same.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AgentResult, AgentSpec, SpawnOutcome } from '../../src/index.ts';
import { agentScript, NODE, withSpawner, withTempDir } from '../support/fixtures.ts';
import { eventually, runningInGroup } from '../support/procfs.ts';

const LAUNCHERS = ['direct', 'helper'] as const;

/** A prompt of about 1 MB with multi-byte characters: a byte lost or re-encoded on the way changes the hash. */
const BIG_TEXT = 'Zeile mit Umlauten äöü — emoji 🚀 and plain words\n'.repeat(20_000);

describe.each(LAUNCHERS)('launcher %s', (launcher) => {
  it('yields spawn outcomes in completion order', async () => {
    await withTempDir(async (dir) => {
      const flag = path.join(dir, 'flag');
      await withSpawner({ launcher, workers: 1 }, async (spawner) => {
        // "late" cannot be ready before the flag exists, and the flag is written only after the first outcome.
        const batch = spawner.spawnBatch([
          { name: 'late', command: 'sh', args: ['-c', `while [ ! -e '${flag}' ]; do sleep 0.01; done; echo up`], ready: { stdout: '^up$' } },
          { name: 'early', command: 'sh', args: ['-c', 'echo up'], ready: { stdout: '^up$' } },
        ]);
        const order: string[] = [];
        for await (const o of batch) {
          order.push(o.name);
          if (order.length === 1) await writeFile(flag, '');
        }
        expect(order).toEqual(['early', 'late']);
        expect((await batch.results).map((r) => [r.name, r.ok])).toEqual([
          ['late', true],
          ['early', true],
        ]);
      });
    });
  });

  it('delivers a 1 MB prompt intact on stdin, in a file and a small one as an argument', async () => {
    await withTempDir(async (root) => {
      await writeFile(path.join(root, 'big.md'), BIG_TEXT);
      await withSpawner({ launcher, workers: 1, root }, async (spawner) => {
        const prompt = { template: '{{{contextText}}}', context: ['big.md'] };
        const batch = spawner.spawnBatch([
          { name: 'stdin', command: 'sha256sum', prompt },
          { name: 'file', command: NODE, args: [agentScript('prompt-file.mjs'), '{{promptFile}}'], promptVia: 'file', prompt },
          {
            name: 'arg',
            command: 'sh',
            args: ['-c', 'printf %s "$1" | sha256sum', 'sh', '{{prompt}}'],
            promptVia: 'arg',
            prompt: { template: 'kurz: äöü 🚀' },
          },
        ]);
        const outcomes = new Map<string, SpawnOutcome>();
        for await (const o of batch) outcomes.set(o.name, o);
        const results = await batch.results;
        const echoed = (r: AgentResult) => (r.name === 'file' ? (JSON.parse(r.stdout) as { sha256: string }).sha256 : r.stdout.split(' ')[0]);
        for (const r of results) {
          expect(r.ok, r.error?.message).toBe(true);
          expect(echoed(r)).toBe(outcomes.get(r.name)!.prompt!.sha256);
        }
        expect(outcomes.get('stdin')!.prompt!.bytes).toBeGreaterThan(1_000_000);
      });
    });
  });

  it('reports each failure kind at its stage with its code', async () => {
    await withSpawner({ launcher, workers: 1 }, async (spawner) => {
      const batch = spawner.spawnBatch([
        { name: 'missing', command: 'spawnpool-no-such-command' },
        { name: 'no-cwd', command: 'true', cwd: '/spawnpool/no/such/dir' },
        { name: 'exit-3', command: 'sh', args: ['-c', 'echo out; echo err >&2; exit 3'] },
        { name: 'slow', command: 'sleep', args: ['30'], timeoutMs: 200, killGraceMs: 100 },
        { name: 'never-ready', command: 'sh', args: ['-c', 'echo nope'], ready: { stdout: '^up$' } },
        { name: 'fine', command: 'true' },
      ]);
      const results = await batch.results;
      const byName = new Map(results.map((r) => [r.name, r]));
      expect(pick(byName.get('missing')!)).toEqual({ ok: false, stage: 'spawn', code: 'E_ENOENT' });
      expect(byName.get('missing')!.error!.message).toContain('command not found');
      expect(pick(byName.get('no-cwd')!)).toEqual({ ok: false, stage: 'spawn', code: 'E_CWD' });
      expect(pick(byName.get('exit-3')!)).toEqual({ ok: false, stage: 'run', code: 'E_EXIT' });
      expect(byName.get('exit-3')!).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
      expect(pick(byName.get('slow')!)).toEqual({ ok: false, stage: 'timeout', code: 'E_TIMEOUT' });
      expect(byName.get('slow')!.timedOut).toBe(true);
      expect(pick(byName.get('never-ready')!)).toEqual({ ok: false, stage: 'spawn', code: 'E_READY' });
      expect(pick(byName.get('fine')!)).toEqual({ ok: true, stage: undefined, code: undefined });
      const summary = await batch.summary;
      expect([summary.spawned, summary.spawnFailed]).toEqual([3, 3]);
      const done = await batch.done;
      expect([done.succeeded, done.failed, done.ok]).toEqual([1, 5, false]);
    });
  });

  it('abort kills the whole process tree, grandchildren included', async () => {
    await withSpawner({ launcher, workers: 1 }, async (spawner) => {
      const controller = new AbortController();
      const batch = spawner.spawnBatch(
        [{ name: 'tree', command: NODE, args: [agentScript('fork-grandchild.mjs'), 'quiet'], ready: { stdout: '^ready' }, killGraceMs: 100 }],
        { signal: controller.signal },
      );
      const outcomes: SpawnOutcome[] = [];
      for await (const o of batch) outcomes.push(o);
      const [outcome] = outcomes;
      expect(outcome!.ok).toBe(true);
      const pgid = outcome!.pid!;
      // The agent and its grandchild (same group).
      expect(runningInGroup(pgid)).toHaveLength(2);
      controller.abort();
      const result = await outcome!.result;
      expect(pick(result)).toEqual({ ok: false, stage: 'aborted', code: 'E_ABORTED' });
      await eventually(`group ${pgid} is gone`, () => runningInGroup(pgid).length === 0);
    });
  });

  it('caps output per stream and flags the truncation', async () => {
    await withSpawner({ launcher, workers: 1 }, async (spawner) => {
      const batch = spawner.spawnBatch([
        { name: 'loud', command: NODE, args: [agentScript('big-output.mjs'), String(3 << 20), 'both'], maxOutputBytes: 100_000 },
      ]);
      const [result] = await batch.results;
      expect(result!.ok).toBe(true);
      expect([result!.stdout.length, result!.stderr.length]).toEqual([100_000, 100_000]);
      expect([result!.stdoutTruncated, result!.stderrTruncated]).toEqual([true, true]);
    });
  });
});

describe('direct and helper launchers', () => {
  it('give the same outcomes for the same batch', async () => {
    const agents: AgentSpec[] = [
      {
        name: 'ok',
        command: 'sh',
        args: ['-c', 'cat; echo " $X $PWD"; echo warn äö 🚀 >&2'],
        env: { X: 'x-value' },
        cwd: '/tmp',
        prompt: { template: 'hi {{agent}} — äö 🚀' },
      },
      { name: 'exit', command: 'sh', args: ['-c', 'exit 7'] },
      { name: 'signal', command: 'sh', args: ['-c', 'kill -9 $$'] },
      { name: 'missing', command: 'spawnpool-no-such-command' },
      { name: 'timeout', command: 'sleep', args: ['30'], timeoutMs: 150, killGraceMs: 50 },
      { name: 'inherit', command: 'sh', args: ['-c', 'printf %s "$SPAWNPOOL_TEST_INHERITED"'] },
    ];
    const runWith = async (launcher: 'direct' | 'helper') =>
      withSpawner({ launcher, workers: 1 }, async (spawner) => {
        const results = await spawner.spawnBatch(agents).results;
        return results.map((r) => ({
          name: r.name,
          ok: r.ok,
          stage: r.stage,
          code: r.error?.code,
          message: r.error?.message,
          exitCode: r.exitCode,
          signal: r.signal,
          stdout: r.stdout,
          stderr: r.stderr,
          timedOut: r.timedOut,
        }));
      });
    // Set after any helper may have started: the helper must follow the host's environment, not its own.
    process.env.SPAWNPOOL_TEST_INHERITED = 'from the host';
    try {
      const direct = await runWith('direct');
      const helper = await runWith('helper');
      expect(helper).toEqual(direct);
      expect(direct.find((r) => r.name === 'inherit')!.stdout).toBe('from the host');
    } finally {
      delete process.env.SPAWNPOOL_TEST_INHERITED;
    }
  });
});

function pick(r: AgentResult) {
  return { ok: r.ok, stage: r.stage, code: r.error?.code };
}
