/**
 * Collects one output stream up to a byte cap (the rest is read and
 * discarded, so the agent never blocks on a full pipe) and, optionally,
 * watches its lines for the ready pattern.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** A partial line longer than this is not kept for ready matching. */
const MAX_PENDING_LINE = 64 * 1024;

export class OutputCapture {
  readonly #cap: number;
  // Kept chunks; #size is their total length, never above #cap.
  readonly #chunks: Buffer[] = [];
  #size = 0;
  #truncated = false;
  // Ready matching: the unterminated tail of the stream, and the pattern until it matches.
  // The decoder keeps a multi-byte character split across chunks whole.
  readonly #decoder = new StringDecoder('utf8');
  #pending = '';
  #ready: RegExp | undefined;
  #onReady: (() => void) | undefined;

  constructor(stream: Readable | null | undefined, cap: number, ready?: { pattern: RegExp; onReady: () => void }) {
    this.#cap = cap;
    this.#ready = ready?.pattern;
    this.#onReady = ready?.onReady;
    stream?.on('data', (chunk: Buffer) => this.#take(chunk));
  }

  get truncated(): boolean {
    return this.#truncated;
  }

  text(): string {
    return Buffer.concat(this.#chunks, this.#size).toString('utf8');
  }

  #take(chunk: Buffer): void {
    const room = this.#cap - this.#size;
    if (room > 0) {
      const kept = chunk.length <= room ? chunk : chunk.subarray(0, room);
      this.#chunks.push(kept);
      this.#size += kept.length;
    }
    if (chunk.length > room) this.#truncated = true;
    if (this.#ready) this.#scan(this.#decoder.write(chunk));
  }

  #scan(text: string): void {
    const lines = (this.#pending + text).split('\n');
    this.#pending = lines.pop() ?? '';
    if (this.#pending.length > MAX_PENDING_LINE) this.#pending = '';
    for (const line of lines) {
      if (this.#ready?.test(line.endsWith('\r') ? line.slice(0, -1) : line)) {
        this.#ready = undefined;
        this.#pending = '';
        this.#onReady?.();
        this.#onReady = undefined;
        return;
      }
    }
  }
}
