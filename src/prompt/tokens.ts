/**
 * Token counting and token-exact truncation, with gpt-tokenizer's default
 * encoding (o200k_base).
 */
import { countTokens as countWith, decode, encodeGenerator } from 'gpt-tokenizer';

type EncodeOptions = NonNullable<Parameters<typeof encodeGenerator>[1]>;

// A model API reads "<|endoftext|>" in user text as plain text, so count it
// that way; gpt-tokenizer's default would throw on it instead.
const PLAIN_TEXT: EncodeOptions = { disallowedSpecial: new Set() };

// BPE merging inside one pre-tokenizer piece is quadratic in its length: a
// context file holding a long run without spaces (minified code, base64)
// would tie a worker up for minutes (1 MiB of "x": over 6 min). Such runs are
// tokenized in slices of this many characters; the count then differs from a
// whole-run encoding by at most a token per slice, on those runs only.
const MAX_RUN = 128;
// Never call .test/.exec on the global one: matchAll starts at its lastIndex.
const LONG_RUN = new RegExp(`\\S{${MAX_RUN + 1},}`, 'g');
const HAS_LONG_RUN = new RegExp(`\\S{${MAX_RUN + 1}}`);

/** `text` cut so that no slice holds a run of non-space characters longer than MAX_RUN. */
function slices(text: string): string[] {
  const out: string[] = [];
  let from = 0;
  for (const match of text.matchAll(LONG_RUN)) {
    if (match.index > from) out.push(text.slice(from, match.index));
    const run = Array.from(match[0]); // code points: never split a surrogate pair
    for (let i = 0; i < run.length; i += MAX_RUN) out.push(run.slice(i, i + MAX_RUN).join(''));
    from = match.index + match[0].length;
  }
  if (from < text.length) out.push(text.slice(from));
  return out;
}

function* encodeSliced(text: string): Generator<number[]> {
  for (const slice of slices(text)) yield* encodeGenerator(slice, PLAIN_TEXT);
}

/** The result of {@link truncateToTokens}. */
export interface Truncated {
  text: string;
  /** Token count of `text` itself. */
  tokens: number;
  /** True when `text` is shorter than the input. */
  truncated: boolean;
}

/**
 * Number of tokens in `text`; special-token markers count as plain text.
 *
 * @example
 * countTokens('hello world'); // 2
 */
export function countTokens(text: string): number {
  if (text === '') return 0;
  if (!HAS_LONG_RUN.test(text)) return countWith(text, PLAIN_TEXT);
  let total = 0;
  for (const slice of slices(text)) total += countWith(slice, PLAIN_TEXT);
  return total;
}

/**
 * The longest token prefix of `text` whose own token count is at most
 * `maxTokens`. Only about `maxTokens` tokens are encoded, however long `text` is.
 *
 * The cut falls on a token boundary, so it can land mid-word; a character
 * split across tokens is dropped whole, never left as a broken byte sequence.
 *
 * @example
 * truncateToTokens(longText, 2000); // { text, tokens: <= 2000, truncated: true }
 */
export function truncateToTokens(text: string, maxTokens: number): Truncated {
  const limit = Math.max(0, Math.floor(maxTokens));
  const head: number[] = [];
  for (const piece of encodeSliced(text)) {
    for (const token of piece) head.push(token);
    if (head.length > limit) break;
  }
  if (head.length <= limit) return { text, tokens: head.length, truncated: false };

  // Re-encoding a decoded prefix can merge differently at the cut and come
  // out longer, so check the real count and cut deeper until it fits.
  let keep = limit;
  for (;;) {
    const cut = decodePrefix(head, keep);
    const tokens = countTokens(cut);
    if (tokens <= limit) return { text: cut, tokens, truncated: true };
    keep = Math.max(0, keep - (tokens - limit));
  }
}

/**
 * Decodes `tokens[0, keep)`. `tokens` must end on a character boundary (the
 * encoder yields whole regex pieces, so it does).
 */
function decodePrefix(tokens: readonly number[], keep: number): string {
  const prefix = decode(tokens.slice(0, keep));
  // gpt-tokenizer decodes through one module-wide streaming TextDecoder: a
  // prefix ending inside a multi-byte character leaves that character's first
  // bytes buffered there, to be glued onto the next decode anywhere in this
  // thread. Decoding the rest of `tokens` completes the character and empties
  // the decoder again.
  decode(tokens.slice(keep));
  return prefix;
}
