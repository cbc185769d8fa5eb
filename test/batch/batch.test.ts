import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AgentSpec, NamedRecord, SpawnOutcome } from '../../src/index.ts';
import { agentScript, NODE, sharedSpawner, withSpawner, withTempDir } from '../support/fixtures.ts';

const sleeper = (name: string, ms: number, code = 0): AgentSpec => ({ name, command: NODE, args: [agentScript('sleep.mjs'), String(ms), name, String(code)] });

describe('spawnBatch', () => {
  // The tests that need no options of their own share one spawner.
  const shared = sharedSpawner();

  it('yields spawn outcomes in completion order: a slow build does not hold back fast agents', async () => {
    await withTempDir(async (root) => {
      // The slow agent's prompt needs a large context: its build finishes last.
      await writeFile(path.join(root, 'big.txt'), 'lorem ipsum dolor sit amet '.repeat(60_000));
      await withSpawner({ root, workers: 2 }, async (spawner) => {
        const batch = spawner.spawnBatch([
          { name: 'slow', command: NODE, args: [agentScript('echo-sha256.mjs')], prompt: { template: '{{contextText}}', context: ['big.txt'] } },
          sleeper('fast-1', 0),
          sleeper('fast-2', 0),
        ]);
        const order: string[] = [];
        for await (const o of batch) order.push(o.name);
        expect(order).toHaveLength(3);
        expect(order.at(-1)).toBe('slow');
        expect((await batch.results).map((r) => r.name)).toEqual(['slow', 'fast-1', 'fast-2']);
      });
    });
  });

  it('reports an agent as spawned before it exits: a long-running agent does not delay the iterator', async () => {
    const spawner = shared();
    const batch = spawner.spawnBatch([sleeper('long', 30_000), sleeper('short', 0)]);
    const seen: SpawnOutcome[] = [];
    for await (const o of batch) seen.push(o);
    // Both spawn outcomes arrived although "long" is still running.
    expect(seen.map((o) => o.ok)).toEqual([true, true]);
    const long = seen.find((o) => o.name === 'long')!;
    let settled = false;
    void long.result.then(() => (settled = true));
    await seen.find((o) => o.name === 'short')!.result;
    expect(settled).toBe(false);
    long.abort();
    const result = await long.result;
    expect(result.stage).toBe('aborted');
    expect(result.error!.message).toBe('Agent "long" was stopped while running: its outcome.abort() was called');
  });

  it('delivers the prompt bytes intact: the child hashes its stdin and the hash matches', async () => {
    await withTempDir(async (root) => {
      await writeFile(path.join(root, 'ctx.md'), '# Ünïcödé context\n' + 'Zeile mit Umlauten äöü — and emoji 🚀\n'.repeat(2000));
      await withSpawner({ root }, async (spawner) => {
        const batch = spawner.spawnBatch([
          {
            name: 'hasher',
            command: NODE,
            args: [agentScript('echo-sha256.mjs')],
            prompt: { template: 'Hello {{agent}} <&>\n{{contextText}}', context: ['ctx.md'] },
          },
        ]);
        const [result] = await batch.results;
        const outcome = (await collect(batch))[0];
        const [hash, bytes] = result!.stdout.trim().split(' ');
        expect(result!.ok).toBe(true);
        expect(hash).toBe(outcome!.prompt!.sha256);
        expect(Number(bytes)).toBe(outcome!.prompt!.bytes);
        expect(outcome!.prompt!.bytes).toBeGreaterThan(50_000);
      });
    });
  });

  it('builds prompts on a worker thread, as the BUILD records written by the worker show', async () => {
    const spawner = shared();
    const all: NamedRecord[] = [];
    const unsubscribe = spawner.metrics.subscribe((r) => all.push(r));
    const batch = spawner.spawnBatch(
      [1, 2, 3, 4].map((i) => ({ name: `a${i}`, command: NODE, args: [agentScript('echo-sha256.mjs')], prompt: { template: `prompt ${i}` } })),
    );
    const outcomes = await collect(batch);
    await batch.results;
    spawner.metrics.drain();
    unsubscribe();
    const records = all.filter((r) => r.batchId === batch.batchId);
    expect(records).toHaveLength(12);
    const builds = records.filter((r) => r.stage === 'build');
    expect(builds).toHaveLength(4);
    for (const b of builds) expect(b.writerThreadId).toBeGreaterThan(0);
    expect(outcomes.map((o) => [o.name, o.ok, o.error?.message])).toEqual(outcomes.map((o) => [o.name, true, undefined]));
    for (const o of outcomes) expect(o.prompt!.builtOnThread).toBeGreaterThan(0);
    // SPAWN and EXIT records come from the launch thread: neither the main thread (0) nor a build worker.
    const launchSide = new Set(records.filter((r) => r.stage !== 'build').map((r) => r.writerThreadId));
    expect(launchSide.size).toBe(1);
    expect([...launchSide][0]).toBeGreaterThan(0);
    expect(builds.map((b) => b.writerThreadId)).not.toContain([...launchSide][0]);
  });

  it('fails each kind of agent alone, with a typed error naming it, while the rest succeed', async () => {
    const spawner = shared();
    const batch = spawner.spawnBatch([
      sleeper('good-1', 0),
      { name: 'missing', command: 'spawnpool-no-such-command' },
      { name: 'bad-context', command: NODE, args: ['-e', ''], prompt: { template: 'x', context: ['../../../../etc/passwd'] } },
      sleeper('exits-2', 0, 2),
      { name: 'hangs', command: NODE, args: [agentScript('sleep.mjs'), '60000'], timeoutMs: 200, killGraceMs: 100 },
      { name: 'never-ready', command: NODE, args: [agentScript('sleep.mjs'), '0', 'hello'], ready: { stdout: '^READY' } },
      sleeper('good-2', 0),
    ]);
    const results = await batch.results;
    const byName = Object.fromEntries(results.map((r) => [r.name, r]));
    expect(byName['good-1']).toMatchObject({ ok: true, error: undefined });
    expect(byName['good-2']).toMatchObject({ ok: true, error: undefined });
    expect([byName.missing!.stage, byName.missing!.error?.code]).toEqual(['spawn', 'E_ENOENT']);
    expect([byName['bad-context']!.stage, byName['bad-context']!.error?.code]).toEqual(['build', 'E_CONTEXT_ESCAPE']);
    expect([byName['exits-2']!.stage, byName['exits-2']!.error?.code, byName['exits-2']!.exitCode]).toEqual(['run', 'E_EXIT', 2]);
    expect([byName.hangs!.stage, byName.hangs!.error?.code, byName.hangs!.timedOut]).toEqual(['timeout', 'E_TIMEOUT', true]);
    expect([byName['never-ready']!.stage, byName['never-ready']!.error?.code]).toEqual(['spawn', 'E_READY']);
    for (const r of results.filter((x) => !x.ok)) {
      expect(r.error!.agent).toBe(r.name);
      expect(r.error!.message).toContain(`"${r.name}"`);
    }
    const [summary, done] = await Promise.all([batch.summary, batch.done]);
    expect(summary).toMatchObject({ total: 7, spawned: 4, spawnFailed: 3 });
    // Succeeded means exited 0: the agent that spawned and then timed out did not.
    const exited0 = results.filter((r) => r.ok).length;
    expect(done).toMatchObject({ spawned: 4, succeeded: exited0, failed: 7 - exited0, minSuccess: 7, ok: false });
    expect(done.succeeded).toBeLessThan(summary.spawned);
  });

  it('counts an agent as spawned at its ready line when `ready` is set', async () => {
    const spawner = shared();
    const batch = spawner.spawnBatch([
      {
        name: 'banner',
        command: NODE,
        args: ['-e', 'setTimeout(() => console.log("READY now"), 150); setTimeout(() => {}, 300)'],
        ready: { stdout: '^READY' },
      },
      sleeper('plain', 0),
    ]);
    const outcomes = await collect(batch);
    const banner = outcomes.find((o) => o.name === 'banner')!;
    const plain = outcomes.find((o) => o.name === 'plain')!;
    expect([banner.ok, banner.error?.message]).toEqual([true, undefined]);
    // Not a timing claim: the agent cannot print before its 150 ms timer fires.
    expect(banner.timings.launchMs).toBeGreaterThanOrEqual(150);
    expect(outcomes.indexOf(plain)).toBeLessThan(outcomes.indexOf(banner));
    expect((await batch.results).every((r) => r.ok)).toBe(true);
  });

  it('sequential mode starts the next agent only once the previous one has spawned', async () => {
    const spawner = shared();
    const batch = spawner.spawnBatch(
      [1, 2, 3].map((i) => ({ name: `s${i}`, command: NODE, args: ['-e', 'setTimeout(() => console.log("READY"), 50)'], ready: { stdout: 'READY' } })),
      { mode: 'sequential' },
    );
    const outcomes = await collect(batch);
    expect(outcomes.map((o) => o.name)).toEqual(['s1', 's2', 's3']);
    for (let i = 1; i < outcomes.length; i++) {
      // Each agent's queue wait covers the whole spawn of the one before.
      expect(outcomes[i]!.timings.queueMs).toBeGreaterThanOrEqual(outcomes[i - 1]!.timings.spawnMs);
    }
    await batch.results;
  });

  it('respects the concurrency bound on agents in flight', async () => {
    const spawner = shared();
    const batch = spawner.spawnBatch(
      Array.from({ length: 6 }, (_, i) => sleeper(`c${i}`, 100)),
      { concurrency: 2 },
    );
    let running = 0;
    let peak = 0;
    const done: Promise<void>[] = [];
    for await (const o of batch) {
      running++;
      peak = Math.max(peak, running);
      done.push(o.result.then(() => void running--));
    }
    await Promise.all(done);
    expect(peak).toBeLessThanOrEqual(2);
    expect((await batch.results).filter((r) => !r.ok).map((r) => r.error?.message)).toEqual([]);
  });

  it('minSuccess makes a degraded batch ok, and is validated', async () => {
    const spawner = shared();
    const agents = [sleeper('ok', 0), { name: 'missing', command: 'spawnpool-no-such-command' }];
    const batch = spawner.spawnBatch(agents, { minSuccess: 1 });
    expect(await batch.done).toMatchObject({ spawned: 1, spawnFailed: 1, succeeded: 1, failed: 1, minSuccess: 1, ok: true });
    await batch.results;
    expect(() => spawner.spawnBatch(agents, { minSuccess: 3 })).toThrow(/minSuccess.*from 0 to 2.*`3`/);
  });

  it('rejects a bad spec before spawning anything, naming the agent and field', async () => {
    const spawner = shared();
    const before = spawner.metrics.snapshot().written;
    expect(() => spawner.spawnBatch([sleeper('fine', 0), { name: 'typo', command: NODE, timeoutMS: 5 } as unknown as AgentSpec])).toThrow(
      /agent "typo".*unknown field "timeoutMS"/,
    );
    // Nothing ran: no record was written.
    expect(spawner.metrics.snapshot().written).toBe(before);
  });

  it('the batch summary agrees with the SPAWN records in the ring', async () => {
    const spawner = shared();
    const all: Extract<NamedRecord, { stage: 'spawn' }>[] = [];
    const unsubscribe = spawner.metrics.subscribe((r) => r.stage === 'spawn' && all.push(r));
    const batch = spawner.spawnBatch(Array.from({ length: 5 }, (_, i) => sleeper(`r${i}`, 0)));
    const summary = await batch.summary;
    await batch.results;
    spawner.metrics.drain();
    unsubscribe();
    const spawnRecords = all.filter((r) => r.batchId === summary.batchId);
    const durations = spawnRecords.filter((r) => r.ok).map((r) => r.spawnMs);
    expect(spawnRecords.filter((r) => !r.ok).map((r) => [r.agent, r.error])).toEqual([]);
    expect(durations).toHaveLength(5);
    expect(summary.maxMs).toBe(Math.max(...durations));
    expect(summary.minMs).toBe(Math.min(...durations));
    expect(summary.p95Ms).toBeUndefined();
  });

  it('spawnBatch after close() is a clear error', async () => {
    let closed: import('../../src/index.ts').Spawner | undefined;
    await withSpawner({}, async (spawner) => {
      closed = spawner;
    });
    expect(() => closed!.spawnBatch([sleeper('late', 0)])).toThrow(expect.objectContaining({ code: 'E_CLOSED' }));
  });
});

function collect(batch: AsyncIterable<SpawnOutcome>): Promise<SpawnOutcome[]> {
  return (async () => {
    const all: SpawnOutcome[] = [];
    for await (const o of batch) all.push(o);
    return all;
  })();
}
