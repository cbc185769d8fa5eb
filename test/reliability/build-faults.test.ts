/**
 * Prompt builds that fail: a custom builder that throws, one that returns
 * something other than a string, a builder module that cannot be loaded, and
 * the default builder's own faults (bad template, missing context file). The
 * agent fails at `build` with a code and its name; the others run.
 */
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { AgentSpec } from '../../src/spec/schema.ts';
import { agent, builderUrl, finish, nodeAgent, tempDir, withSpawner, type Finished } from './helpers.ts';

/** Two agents that must still succeed next to the faulty one; their prompt must arrive intact. */
function goodAgents(): AgentSpec[] {
  return [
    { name: 'good-1', ...nodeAgent('echo-sha256.mjs'), prompt: { template: 'first good prompt' } },
    { name: 'good-2', ...nodeAgent('echo-sha256.mjs'), prompt: { template: 'second good prompt' } },
  ];
}

function expectGoodAgentsOk(done: Finished): void {
  for (const name of ['good-1', 'good-2']) {
    const { outcome, result } = agent(done, name);
    expect(outcome.ok, name).toBe(true);
    expect(result.ok, name).toBe(true);
    expect(result.stdout.split(' ')[0]).toBe(outcome.prompt?.sha256);
  }
}

function expectBuildFailure(done: Finished, name: string, text: string | RegExp): void {
  const { outcome, result } = agent(done, name);
  expect(outcome.ok).toBe(false);
  expect(outcome.stage).toBe('build');
  expect(outcome.error?.code).toBe('E_BUILD');
  expect(outcome.error?.agent).toBe(name);
  expect(outcome.error?.message).toContain(`"${name}"`);
  expect(outcome.error?.message).toMatch(text);
  expect(outcome.pid).toBeUndefined();
  expect(result.stage).toBe('build');
}

describe('build faults', () => {
  it('a builder that throws, or returns a non-string, fails that agent only', async () => {
    await withSpawner({ workers: 1, builder: builderUrl('faulty.mjs') }, async (spawner) => {
      const done = await finish(
        spawner.spawnBatch([
          { name: 'throws', command: '/bin/true', prompt: { template: 'x' } },
          ...goodAgents(),
          { name: 'non-string', command: '/bin/true', prompt: { template: 'x' } },
        ]),
      );
      expectBuildFailure(done, 'throws', /custom prompt builder threw: builder refused agent throws on purpose/);
      expectBuildFailure(done, 'non-string', /returned number, expected a string or Uint8Array/);
      expectGoodAgentsOk(done);
      const snap = spawner.metrics.snapshot();
      expect(snap.totals.build).toEqual({ ok: 2, failed: 2 });
      expect(snap.invalid).toBe(0);
    });
  });

  it('a builder module that fails to load fails every prompt build, not the spawner; agents without a prompt run', async () => {
    await withSpawner({ workers: 1, builder: builderUrl('fails-to-load.mjs') }, async (spawner) => {
      await spawner.ready; // never rejects, even though the module is broken
      const done = await finish(
        spawner.spawnBatch([
          { name: 'needs-prompt', command: '/bin/true', prompt: { template: 'x' } },
          { name: 'no-prompt', ...nodeAgent('echo-sha256.mjs') },
        ]),
      );
      expectBuildFailure(done, 'needs-prompt', /failed to load: this builder module is broken on purpose/);
      const { outcome, result } = agent(done, 'no-prompt');
      expect(outcome.ok).toBe(true);
      expect(result.ok).toBe(true);
    });
  });

  it('a missing builder module is reported the same way', async () => {
    await withSpawner({ workers: 1, builder: builderUrl('no-such-builder.mjs') }, async (spawner) => {
      const done = await finish(
        spawner.spawnBatch([
          { name: 'needs-prompt', command: '/bin/true', prompt: { template: 'x' } },
          { name: 'plain', command: '/bin/true' },
        ]),
      );
      expectBuildFailure(done, 'needs-prompt', /no-such-builder\.mjs failed to load/);
      expect(agent(done, 'plain').result.ok).toBe(true);
    });
  });

  it('default builder faults: bad template, missing context file, prompt over maxTokens', async () => {
    const root = await tempDir();
    await writeFile(path.join(root, 'ctx.md'), 'context text');
    onTestFinished(() => rm(root, { recursive: true, force: true }));
    await withSpawner({ workers: 1, root }, async (spawner) => {
      const done = await finish(
        spawner.spawnBatch([
          ...goodAgents(),
          { name: 'bad-template', command: '/bin/true', prompt: { template: 'unclosed {{#section}}' } },
          { name: 'missing-context', command: '/bin/true', prompt: { template: 'x', context: ['ctx.md', 'missing.md'] } },
          { name: 'over-budget', command: '/bin/true', prompt: { template: 'many words in this template '.repeat(20), maxTokens: 5 } },
        ]),
      );
      const code = (name: string) => agent(done, name).outcome.error?.code;
      expect(code('bad-template')).toBe('E_TEMPLATE');
      expect(code('missing-context')).toBe('E_CONTEXT_READ');
      expect(agent(done, 'missing-context').outcome.error?.message).toContain('"missing.md"');
      expect(code('over-budget')).toBe('E_BUILD');
      for (const name of ['bad-template', 'missing-context', 'over-budget']) {
        const { outcome } = agent(done, name);
        expect(outcome.stage, name).toBe('build');
        expect(outcome.error?.message, name).toContain(`"${name}"`);
      }
      expectGoodAgentsOk(done);
    });
  });
});
