/**
 * The large prompt context of the cpu-8 scenario: ~400 KB of deterministic,
 * prose-like text (markdown paragraphs and code blocks from a seeded
 * vocabulary), written to a fresh temp folder at bench start rather than
 * committed, so the repository stays small and every machine tokenizes the
 * same bytes.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mulberry32 } from '../../test/support/prng.ts';

export const CONTEXT_FILE = 'context.md';
export const CONTEXT_BYTES = 400 * 1024;
const SEED = 0x0c0ffee;

export interface ContextFixture {
  /** Folder to use as the prompt root. */
  root: string;
  /** Path of the context file, relative to `root`. */
  file: string;
  bytes: number;
  /** Removes the folder. */
  remove(): Promise<void>;
}

/** Writes the fixture into a new temp folder. */
export async function createContextFixture(bytes = CONTEXT_BYTES): Promise<ContextFixture> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'spawnpool-bench-'));
  const text = contextText(bytes);
  await writeFile(path.join(root, CONTEXT_FILE), text);
  return { root, file: CONTEXT_FILE, bytes: Buffer.byteLength(text), remove: () => rm(root, { recursive: true, force: true }) };
}

/** `bytes` (ASCII, so also characters) of the deterministic text. */
export function contextText(bytes: number): string {
  const rand = mulberry32(SEED);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const vocabulary = makeVocabulary(rand, 3000);
  const parts: string[] = [];
  let size = 0;
  let section = 1;
  while (size < bytes) {
    let block: string;
    const kind = rand();
    if (kind < 0.08) block = `## ${section++}. ${sentence(rand, vocabulary, 4).replace(/\.$/, '')}\n\n`;
    else if (kind < 0.2) block = codeBlock(rand, vocabulary, pick);
    else block = `${Array.from({ length: 3 + Math.floor(rand() * 5) }, () => sentence(rand, vocabulary, 8 + Math.floor(rand() * 14))).join(' ')}\n\n`;
    parts.push(block);
    size += block.length;
  }
  return parts.join('').slice(0, bytes);
}

function makeVocabulary(rand: () => number, count: number): string[] {
  const syllables = [
    'ba',
    'ce',
    'di',
    'fo',
    'gu',
    'ha',
    'je',
    'ki',
    'lo',
    'mu',
    'na',
    'pe',
    'qui',
    'ro',
    'sa',
    'te',
    'vi',
    'wo',
    'xa',
    'ze',
    'str',
    'th',
    'an',
    'er',
    'in',
    'on',
    'or',
    'en',
    'at',
    'es',
  ];
  const common = ['the', 'of', 'and', 'to', 'a', 'in', 'is', 'that', 'for', 'it', 'as', 'with', 'on', 'be', 'by', 'this', 'are', 'from', 'at', 'or'];
  const words = [...common];
  while (words.length < count) {
    const n = 1 + Math.floor(rand() * 4);
    let w = '';
    for (let i = 0; i < n; i++) w += syllables[Math.floor(rand() * syllables.length)];
    words.push(w);
  }
  return words;
}

function sentence(rand: () => number, vocabulary: readonly string[], length: number): string {
  // Zipf-like: common words far more often than rare ones, as in prose.
  const word = () => vocabulary[Math.floor(vocabulary.length * rand() ** 3)]!;
  const words = Array.from({ length }, word);
  const first = words[0]!;
  words[0] = first.charAt(0).toUpperCase() + first.slice(1);
  if (rand() < 0.3) words[Math.floor(rand() * length)] += ',';
  if (rand() < 0.1) words.push(String(Math.floor(rand() * 10_000)));
  return `${words.join(' ')}.`;
}

function codeBlock(rand: () => number, vocabulary: readonly string[], pick: <T>(list: readonly T[]) => T): string {
  const lines = ['```ts'];
  const n = 3 + Math.floor(rand() * 8);
  for (let i = 0; i < n; i++) {
    const a = pick(vocabulary);
    const b = pick(vocabulary);
    lines.push(
      pick([
        `const ${a}${i} = ${b}(${Math.floor(rand() * 100)});`,
        `if (${a}.${b} > ${i}) return ${a};`,
        `  await ${a}.${b}({ id: ${Math.floor(rand() * 1e6)} });`,
        `// ${a} ${b} ${pick(vocabulary)}`,
      ]),
    );
  }
  lines.push('```', '', '');
  return lines.join('\n');
}
