import { countTokens as referenceCount } from 'gpt-tokenizer';
import { describe, expect, it } from 'vitest';
import { buildPrompt } from '../../src/prompt/default-builder.ts';
import { generateText } from './fixtures.ts';

const input = (template: string, context: { path: string; content: string }[], maxTokens?: number) => ({
  agent: 'a',
  template,
  vars: {},
  context,
  maxTokens,
});

describe('buildPrompt', () => {
  it('keeps everything without maxTokens', () => {
    const ctx = [{ path: 'a', content: generateText(3000, 1) }];
    const built = buildPrompt(input('T', ctx));
    expect(built.truncated).toBe(false);
    expect(built.text).toContain(ctx[0]?.content);
    expect(built.tokens).toBe(referenceCount(built.text));
    expect(built.context).toEqual([{ path: 'a', tokens: referenceCount(ctx[0]?.content ?? ''), truncated: false }]);
  });

  it('cuts the overflowing file and drops the ones after it', () => {
    const ctx = [
      { path: 'small', content: 'short file' },
      { path: 'big', content: generateText(20_000, 2) },
      { path: 'after', content: 'never seen' },
    ];
    const built = buildPrompt(input('Review:\n{{#context}}== {{path}}\n{{content}}\n{{/context}}', ctx, 500));
    expect(built.tokens).toBe(referenceCount(built.text));
    expect(built.tokens).toBeLessThanOrEqual(500);
    expect(built.tokens).toBeGreaterThan(480);
    expect(built.truncated).toBe(true);
    expect(built.context.map((c) => c.truncated)).toEqual([false, true, true]);
    expect(built.context[2]?.tokens).toBe(0);
    expect(built.text).toContain('== after\n');
    expect(built.text).not.toContain('never seen');
  });

  it('fits the budget exactly for many budgets and both context styles', () => {
    const ctx = [
      { path: 'one', content: generateText(4000, 5) },
      { path: 'two', content: generateText(4000, 6) },
    ];
    for (const template of ['Do it.', '{{contextText}}\nand {{contextText}}']) {
      for (const max of [40, 41, 97, 300, 1200]) {
        const built = buildPrompt(input(template, ctx, max));
        expect(built.tokens).toBe(referenceCount(built.text));
        expect(built.tokens).toBeLessThanOrEqual(max);
      }
    }
  });

  it('rejects a budget smaller than the template', () => {
    expect(() => buildPrompt(input('This template is a good deal longer than five tokens.', [], 5))).toThrow(
      expect.objectContaining({ code: 'E_BUILD', message: expect.stringMatching(/template alone is \d+ tokens, over maxTokens 5/) }),
    );
  });

  it('rejects a budget too small for the context headers', () => {
    const ctx = Array.from({ length: 50 }, (_, i) => ({ path: `file-${i}.md`, content: 'x' }));
    expect(() => buildPrompt(input('Go.', ctx, 20))).toThrow(expect.objectContaining({ code: 'E_BUILD' }));
  });
});
