/**
 * Collects one output stream up to a byte cap (the rest is read and
 * discarded, so the agent never blocks on a full pipe), passes every chunk
 * on as it comes (to a streaming listener, to a file, both uncapped) and,
 * optionally, watches its lines for the ready pattern.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
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
  readonly #onChunk: ((chunk: Buffer) => void) | undefined;
  readonly #file: WriteStream | undefined;
  #fileError: Error | undefined;

  constructor(
    stream: Readable | null | undefined,
    cap: number,
    options: { ready?: { pattern: RegExp; onReady: () => void } | undefined; onChunk?: ((chunk: Buffer) => void) | undefined; file?: string | undefined } = {},
  ) {
    this.#cap = cap;
    this.#ready = options.ready?.pattern;
    this.#onReady = options.ready?.onReady;
    this.#onChunk = options.onChunk;
    if (options.file !== undefined) {
      this.#file = createWriteStream(options.file, { mode: 0o600 });
      this.#file.on('error', (error) => (this.#fileError ??= error));
    }
    stream?.on('data', (chunk: Buffer) => {
      // A file slower than the agent: hold the pipe (the agent waits on its writes) rather than queue in memory.
      if (this.#take(chunk) === false) {
        stream.pause();
        this.#file!.once('drain', () => stream.resume());
      }
    });
  }

  /** Settles once the file (if any) has every byte on disk; resolves with its write error, if one happened. */
  async closeFile(): Promise<Error | undefined> {
    const file = this.#file;
    if (file === undefined) return undefined;
    if (!file.destroyed) await new Promise<void>((resolve) => file.end(() => resolve()));
    return this.#fileError;
  }

  get truncated(): boolean {
    return this.#truncated;
  }

  text(): string {
    return Buffer.concat(this.#chunks, this.#size).toString('utf8');
  }

  /** Returns false when the file asks to wait for 'drain'. */
  #take(chunk: Buffer): boolean {
    this.#onChunk?.(chunk);
    const flowing = this.#file === undefined || this.#fileError !== undefined || this.#file.write(chunk);
    const room = this.#cap - this.#size;
    if (room > 0) {
      const kept = chunk.length <= room ? chunk : chunk.subarray(0, room);
      this.#chunks.push(kept);
      this.#size += kept.length;
    }
    if (chunk.length > room && this.#cap > 0) this.#truncated = true;
    if (this.#ready) this.#scan(this.#decoder.write(chunk));
    return flowing;
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
