import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadContext, loadTemplate, resolveUnderRoot } from '../../src/prompt/context.ts';
import { tempDir } from './fixtures.ts';

let base: { dir: string; cleanup: () => Promise<void> };
let root: string;
let outside: string;

beforeEach(async () => {
  base = await tempDir('context');
  root = join(base.dir, 'root');
  outside = join(base.dir, 'secret.txt');
  await mkdir(join(root, 'docs'), { recursive: true });
  await writeFile(join(root, 'docs', 'a.md'), 'alpha');
  await writeFile(join(root, 'b.txt'), 'beta');
  await writeFile(join(root, 'tpl.mustache'), 'Hello {{agent}}');
  await writeFile(outside, 'secret');
});

afterEach(() => base.cleanup());

const escape = (path: string) => expect.objectContaining({ code: 'E_CONTEXT_ESCAPE', agent: 'rev', message: expect.stringContaining(`"${path}"`) });

describe('resolveUnderRoot', () => {
  it('returns the real path of a file inside the root', async () => {
    await expect(resolveUnderRoot(root, 'docs/../b.txt', 'context file', 'rev')).resolves.toMatch(/b\.txt$/);
  });

  it('rejects ../ and absolute paths outside the root', async () => {
    await expect(resolveUnderRoot(root, '../secret.txt', 'context file', 'rev')).rejects.toThrow(escape('../secret.txt'));
    await expect(resolveUnderRoot(root, outside, 'context file', 'rev')).rejects.toThrow(escape(outside));
  });

  it('rejects a symlink inside the root that points outside', async () => {
    await symlink(outside, join(root, 'link.txt'));
    await expect(resolveUnderRoot(root, 'link.txt', 'context file', 'rev')).rejects.toThrow(escape('link.txt'));
  });

  it('follows a symlink that stays inside the root', async () => {
    await symlink(join(root, 'b.txt'), join(root, 'alias.txt'));
    await expect(loadContext(root, ['alias.txt'], 'rev')).resolves.toEqual([{ path: 'alias.txt', content: 'beta' }]);
  });

  it('accepts names that merely start with two dots', async () => {
    await writeFile(join(root, '..notes'), 'n');
    await expect(loadContext(root, ['..notes'], 'rev')).resolves.toEqual([{ path: '..notes', content: 'n' }]);
  });
});

describe('loadContext', () => {
  it('reads files in the order given', async () => {
    await expect(loadContext(root, ['b.txt', 'docs/a.md'], 'rev')).resolves.toEqual([
      { path: 'b.txt', content: 'beta' },
      { path: 'docs/a.md', content: 'alpha' },
    ]);
  });

  it('reports a missing file as E_CONTEXT_READ with the agent and the path as given', async () => {
    const err = await loadContext(root, ['b.txt', 'docs/missing.md'], 'rev').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_CONTEXT_READ', agent: 'rev', stage: 'build' });
    expect((err as Error).message).toContain('Agent "rev": context file "docs/missing.md"');
  });

  it('reports a directory as E_CONTEXT_READ', async () => {
    await expect(loadContext(root, ['docs'], 'rev')).rejects.toThrow(expect.objectContaining({ code: 'E_CONTEXT_READ' }));
  });
});

describe('loadTemplate', () => {
  it('prefers the inline template, reads templateFile under the root, defaults to empty', async () => {
    await expect(loadTemplate({ template: 'inline' }, root, 'rev')).resolves.toBe('inline');
    await expect(loadTemplate({ templateFile: 'tpl.mustache' }, root, 'rev')).resolves.toBe('Hello {{agent}}');
    await expect(loadTemplate({}, root, 'rev')).resolves.toBe('');
  });

  it('applies the same checks to templateFile', async () => {
    await expect(loadTemplate({ templateFile: '../secret.txt' }, root, 'rev')).rejects.toThrow(
      expect.objectContaining({ code: 'E_CONTEXT_ESCAPE', message: expect.stringContaining('template file "../secret.txt"') }),
    );
    await expect(loadTemplate({ templateFile: 'nope.mustache' }, root, 'rev')).rejects.toThrow(expect.objectContaining({ code: 'E_CONTEXT_READ' }));
  });
});
