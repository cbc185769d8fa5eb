import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { countTokens as referenceCount } from 'gpt-tokenizer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildFromSpec } from '../../src/prompt/build.ts';
import type { BuilderInput, PromptBuilder } from '../../src/prompt/types.ts';
import { generateText, tempDir } from './fixtures.ts';

let tmp: { dir: string; cleanup: () => Promise<void> };
let root: string;

beforeEach(async () => {
  tmp = await tempDir('build');
  root = tmp.dir;
  await writeFile(join(root, 'notes.md'), 'remember <b>&</b>');
  await writeFile(join(root, 'prompt.mustache'), 'You are {{agent}}. Task: {{task}}');
});

afterEach(() => tmp.cleanup());

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const hash = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('buildFromSpec with the default builder', () => {
  it('renders a templateFile with vars and auto-appended context', async () => {
    const built = await buildFromSpec({ templateFile: 'prompt.mustache', vars: { task: 'a < b' }, context: ['notes.md'] }, { agent: 'dev', root });
    expect(text(built.bytes)).toBe('You are dev. Task: a < b\n\n--- notes.md ---\nremember <b>&</b>\n');
    expect(built.sha256).toBe(hash(built.bytes));
    expect(built.tokens).toBe(referenceCount(text(built.bytes)));
    expect(built.truncated).toBe(false);
    expect(built.context).toEqual([{ path: 'notes.md', tokens: referenceCount('remember <b>&</b>'), truncated: false }]);
  });

  it('gives an empty prompt for an empty spec', async () => {
    const built = await buildFromSpec({}, { agent: 'dev', root });
    expect(built.bytes.byteLength).toBe(0);
    expect(built.tokens).toBe(0);
    expect(built.sha256).toBe(hash(new Uint8Array()));
  });

  it('truncates a 200 KB context to 2000 tokens', async () => {
    await writeFile(join(root, 'big.txt'), generateText(200_000, 9));
    const built = await buildFromSpec({ template: 'Summarise:\n{{contextText}}', context: ['big.txt'], maxTokens: 2000 }, { agent: 'dev', root });
    expect(built.tokens).toBeLessThanOrEqual(2000);
    expect(built.tokens).toBeGreaterThan(1990);
    expect(built.tokens).toBe(referenceCount(text(built.bytes)));
    expect(built.truncated).toBe(true);
    expect(built.context[0]).toMatchObject({ path: 'big.txt', truncated: true });
  });

  it('passes file errors through', async () => {
    await expect(buildFromSpec({ template: 'x', context: ['../outside'] }, { agent: 'dev', root })).rejects.toThrow(
      expect.objectContaining({ code: 'E_CONTEXT_ESCAPE', agent: 'dev' }),
    );
  });
});

describe('buildFromSpec with a custom builder', () => {
  const run = (builder: PromptBuilder) =>
    buildFromSpec({ template: 'T {{x}}', vars: { x: 1 }, context: ['notes.md'], maxTokens: 50 }, { agent: 'cb', root, builder });

  it('hands over the loaded template, vars and counted context, and encodes a string', async () => {
    let seen: BuilderInput | undefined;
    const built = await run((input) => {
      seen = input;
      return `custom ${input.agent} ✓`;
    });
    expect(seen).toEqual({
      agent: 'cb',
      template: 'T {{x}}',
      vars: { x: 1 },
      context: [{ path: 'notes.md', content: 'remember <b>&</b>', tokens: referenceCount('remember <b>&</b>'), truncated: false }],
      maxTokens: 50,
    });
    expect(text(built.bytes)).toBe('custom cb ✓');
    expect(built.sha256).toBe(hash(built.bytes));
    expect(built.tokens).toBe(referenceCount('custom cb ✓'));
    expect(built.truncated).toBe(false);
    expect(built.context).toEqual([{ path: 'notes.md', tokens: referenceCount('remember <b>&</b>'), truncated: false }]);
  });

  it('takes a Uint8Array as is (copied) and counts its text', async () => {
    const returned = new TextEncoder().encode('bytes from an async builder');
    const built = await run(async () => returned);
    expect(built.bytes).toEqual(returned);
    expect(built.bytes.buffer).not.toBe(returned.buffer);
    expect(built.tokens).toBe(referenceCount('bytes from an async builder'));
    expect(built.sha256).toBe(hash(returned));
  });

  it('rejects any other result with E_BUILD naming the type and the agent', async () => {
    await expect(run((() => 42) as unknown as PromptBuilder)).rejects.toThrow(
      expect.objectContaining({
        code: 'E_BUILD',
        agent: 'cb',
        message: expect.stringMatching(/Agent "cb".*builder returned number, expected a string or Uint8Array/),
      }),
    );
  });

  it('wraps a throw in E_BUILD with the cause', async () => {
    const boom = new Error('boom');
    const err = await run(() => {
      throw boom;
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_BUILD', agent: 'cb', stage: 'build', cause: boom });
    expect((err as Error).message).toMatch(/Agent "cb".*boom/);
  });
});
