import { countTokens as referenceCount, decode, encode } from 'gpt-tokenizer';
import { describe, expect, it } from 'vitest';
import { countTokens, truncateToTokens } from '../../src/prompt/tokens.ts';
import { generateText } from './fixtures.ts';

describe('countTokens', () => {
  it('matches gpt-tokenizer on ordinary text', () => {
    const text = generateText(5000, 7);
    expect(countTokens(text)).toBe(referenceCount(text));
    expect(countTokens('')).toBe(0);
  });

  it('counts special-token markers as plain text instead of throwing', () => {
    expect(countTokens('before <|endoftext|> after')).toBeGreaterThan(3);
  });
});

describe('truncateToTokens', () => {
  it('leaves text within the limit alone', () => {
    expect(truncateToTokens('hello world', 10)).toEqual({ text: 'hello world', tokens: 2, truncated: false });
  });

  it('cuts to a prefix whose real count is within the limit', () => {
    const text = generateText(20_000, 3);
    for (const limit of [0, 1, 2, 3, 17, 100, 999, 2000]) {
      const cut = truncateToTokens(text, limit);
      expect(cut.truncated).toBe(true);
      expect(text.startsWith(cut.text)).toBe(true);
      expect(cut.tokens).toBe(referenceCount(cut.text));
      expect(cut.tokens).toBeLessThanOrEqual(limit);
      expect(cut.tokens).toBeGreaterThanOrEqual(limit - 4);
    }
  });

  it('drops a character split across tokens whole, and leaves the shared decoder clean', () => {
    const text = '𓀀𓀁𓀂 ꙮ';
    const cut = truncateToTokens(text, 1);
    expect(cut).toEqual({ text: '', tokens: 0, truncated: true });
    expect(truncateToTokens(text, 5).text).toBe('𓀀');
    // gpt-tokenizer's decoder is module-wide: leftover bytes would show up here.
    expect(decode(encode('ꙮ𓀀'))).toBe('ꙮ𓀀');
  });
});

describe('long runs without spaces (minified code, base64)', () => {
  // Encoding such a run whole is quadratic (1 MiB took over 6 minutes); it is
  // sliced instead, so this finishes well inside the test timeout.
  it('counts and truncates a 1 MiB run in slices', () => {
    const run = 'x'.repeat(1 << 20);
    expect(countTokens(run)).toBe((1 << 20) / 8);
    const cut = truncateToTokens(`${run} tail`, 1000);
    expect(cut).toMatchObject({ tokens: 1000, truncated: true });
    expect(run.startsWith(cut.text)).toBe(true);
  });

  it('leaves ordinary text to the whole-text encoder', () => {
    const text = 'A sentence with short words, and a URL https://example.com/a/b?c=d.';
    expect(countTokens(text)).toBe(encode(text).length);
  });
});
