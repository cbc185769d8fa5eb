/**
 * No shell anywhere; prompt temp files private and always removed; context
 * files read only under the root, symlinks out of it refused.
 */
import { access, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Spawner } from '../../src/spawner.ts';
import { agent, finish, nodeAgent, tempDir } from './helpers.ts';

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

interface PromptFileReport {
  file: string;
  fileMode: number;
  dirMode: number;
  sha256: string;
}

function promptFileReport(stdout: string): PromptFileReport {
  const line = stdout.split('\n').find((l) => l.startsWith('{'));
  if (line === undefined) throw new Error(`no report line in ${JSON.stringify(stdout)}`);
  return JSON.parse(line) as PromptFileReport;
}

describe('security', () => {
  let spawner: Spawner;
  let dir: string;
  beforeAll(async () => {
    spawner = new Spawner({ workers: 1 });
    dir = await tempDir();
  });
  afterAll(async () => {
    await spawner.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs no shell: metacharacters in args, env and an arg-delivered prompt arrive literally', async () => {
    const victim = path.join(dir, 'victim.txt');
    await writeFile(victim, 'must survive');
    // A canary folder stands where a destructive payload would aim: it proves the same, harmlessly.
    const canary = path.join(dir, 'canary');
    await mkdir(canary);
    await writeFile(path.join(canary, 'alive'), '');
    const marker = (n: number) => path.join(dir, `marker-${n}`);
    const nasty = [
      `; rm -rf ${canary}`,
      `; rm -f ${victim}`,
      `$(touch ${marker(1)})`,
      `\`touch ${marker(2)}\``,
      `&& touch ${marker(3)}`,
      `| touch ${marker(4)}`,
      `> ${marker(5)}`,
      '$HOME',
      '*',
      `'single' "double" \\back`,
      'new\nline',
      '',
    ];
    const prompt = `$(touch ${marker(6)}) ; rm -f ${victim}`;
    const done = await finish(
      spawner.spawnBatch([
        { name: 'args', ...nodeAgent('print-args.mjs', ...nasty), cwd: dir },
        { name: 'prompt-arg', ...nodeAgent('print-args.mjs', 'before', '{{prompt}}', 'after'), promptVia: 'arg', prompt: { template: prompt }, cwd: dir },
        {
          name: 'env',
          command: process.execPath,
          args: ['-e', 'process.stdout.write(JSON.stringify(process.env.NASTY))'],
          env: { NASTY: `$(touch ${marker(7)})` },
          cwd: dir,
        },
        { name: 'shell-syntax-command', command: `/bin/true; touch ${marker(8)}`, cwd: dir },
      ]),
    );

    expect(JSON.parse(agent(done, 'args').result.stdout)).toEqual(nasty);
    expect(JSON.parse(agent(done, 'prompt-arg').result.stdout)).toEqual(['before', prompt, 'after']);
    expect(JSON.parse(agent(done, 'env').result.stdout)).toBe(`$(touch ${marker(7)})`);
    // The whole string is taken as the program's path, which does not exist.
    expect(agent(done, 'shell-syntax-command').outcome.error?.code).toBe('E_ENOENT');

    for (let n = 1; n <= 8; n++) expect(await exists(marker(n)), `marker-${n}`).toBe(false);
    expect(await exists(victim)).toBe(true);
    expect(await exists(path.join(canary, 'alive'))).toBe(true);
  });

  it("promptVia 'file': a 0600 file in a 0700 folder, gone after a normal exit", async () => {
    const done = await finish(
      spawner.spawnBatch([
        { name: 'reads-file', ...nodeAgent('prompt-file.mjs', '{{promptFile}}'), promptVia: 'file', prompt: { template: 'secret prompt for {{agent}}' } },
      ]),
    );
    const { outcome, result } = agent(done, 'reads-file');
    expect(result.ok).toBe(true);
    const report = promptFileReport(result.stdout);
    expect(report.fileMode).toBe(0o600);
    expect(report.dirMode).toBe(0o700);
    expect(report.sha256).toBe(outcome.prompt?.sha256);
    expect(path.dirname(path.dirname(report.file))).toBe(os.tmpdir());
    expect(await exists(report.file)).toBe(false);
    expect(await exists(path.dirname(report.file))).toBe(false);
  });

  it("promptVia 'file': the temp file is removed after a timeout and after an abort", async () => {
    const controller = new AbortController();
    const stay = {
      ...nodeAgent('prompt-file.mjs', '{{promptFile}}', 'stay'),
      promptVia: 'file' as const,
      prompt: { template: 'x' },
      ready: { stdout: '^\\{' },
    };
    const up = new Map<string, Promise<unknown>>();
    const done = await finish(
      spawner.spawnBatch(
        [
          { name: 'times-out', ...stay, timeoutMs: 4000 },
          { name: 'aborted', ...stay },
        ],
        { signal: controller.signal },
      ),
      (o) => {
        up.set(o.name, o.result);
        // Abort once both are up (both files exist) and the first has timed out.
        if (up.size === 2) void up.get('times-out')!.then(() => controller.abort());
      },
    );
    const timedOut = agent(done, 'times-out').result;
    expect(timedOut.stage).toBe('timeout');
    const aborted = agent(done, 'aborted').result;
    expect(aborted.stage).toBe('aborted');
    for (const r of [timedOut, aborted]) {
      const report = promptFileReport(r.stdout);
      expect(report.fileMode, r.name).toBe(0o600);
      expect(await exists(path.dirname(report.file)), r.name).toBe(false);
    }
  });

  it('reads context only under the root: paths and symlinks leading out are refused', async () => {
    const root = path.join(dir, 'root');
    const outside = path.join(dir, 'outside');
    await mkdir(path.join(root, 'docs'), { recursive: true });
    await mkdir(outside, { recursive: true });
    await writeFile(path.join(outside, 'secret.txt'), 'TOP SECRET');
    await writeFile(path.join(root, 'docs', 'ok.md'), 'fine to read');
    await symlink(path.join(outside, 'secret.txt'), path.join(root, 'link-to-secret.txt'));
    await symlink(outside, path.join(root, 'link-to-outside'));
    await symlink(path.join(root, 'docs', 'ok.md'), path.join(root, 'link-inside.md'));

    const reader = (name: string, prompt: object) => ({ name, ...nodeAgent('echo-sha256.mjs'), prompt });
    const done = await finish(
      spawner.spawnBatch(
        [
          reader('file-symlink', { template: 'x', context: ['link-to-secret.txt'] }),
          reader('dir-symlink', { template: 'x', context: ['link-to-outside/secret.txt'] }),
          reader('dot-dot', { template: 'x', context: ['../outside/secret.txt'] }),
          reader('absolute', { template: 'x', context: [path.join(outside, 'secret.txt')] }),
          reader('template-symlink', { templateFile: 'link-to-secret.txt' }),
          reader('good', { template: '{{contextText}}', context: ['docs/ok.md', 'link-inside.md'] }),
        ],
        { root },
      ),
    );
    for (const name of ['file-symlink', 'dir-symlink', 'dot-dot', 'absolute', 'template-symlink']) {
      const { outcome, result } = agent(done, name);
      expect(outcome.stage, name).toBe('build');
      expect(outcome.error?.code, name).toBe('E_CONTEXT_ESCAPE');
      expect(outcome.error?.message, name).toContain(`Agent "${name}"`);
      expect(outcome.error?.message, name).toContain('outside the root');
      expect(outcome.pid, name).toBeUndefined();
      expect(result.stdout).toBe('');
    }
    const good = agent(done, 'good');
    expect(good.result.ok).toBe(true);
    expect(good.outcome.prompt?.bytes).toBeGreaterThan(0);
  });
});
