/** Shared helpers for the prompt tests: temp roots and reproducible text. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temp folder, and a function that removes it. */
export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `spawnpool-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

const WORDS = ['agent', 'spawn', 'pool', 'the', 'of', 'função', 'naïve', '日本語', '🦜', '𓀀𓀁', 'x', 'return', '{', '}', '=>', '42', '  ', '\n'];

/** About `chars` UTF-16 units of varied text (ASCII, accents, CJK, emoji), the same for a given seed. */
export function generateText(chars: number, seed = 1): string {
  let state = seed >>> 0 || 1;
  const parts: string[] = [];
  let length = 0;
  while (length < chars) {
    // xorshift32: deterministic and good enough to vary the words.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    const word = `${WORDS[state % WORDS.length] ?? ''}${state % 11 === 0 ? '\n' : ' '}`;
    parts.push(word);
    length += word.length;
  }
  return parts.join('');
}
