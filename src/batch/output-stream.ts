/**
 * One output stream of one agent (stdout or stderr) on the main thread, as
 * async iterables of chunks, of lines and of JSON-lines events. With the
 * batch option `stream`, chunks arrive as the agent writes them; without
 * it, the buffered output arrives once, at exit.
 *
 * Chunks wait here until read, up to a byte bound: past it the oldest are
 * dropped and counted in `droppedBytes`, so a consumer that falls behind (or
 * never reads) costs bounded memory, and knows what it missed.
 */
import { StringDecoder } from 'node:string_decoder';

/** Unread output kept per stream before the oldest is dropped. */
export const DEFAULT_STREAM_BUFFER_BYTES = 8 * 1024 * 1024;

/**
 * An agent's stdout or stderr. Read it one way, once: `chunks()`, `lines()`
 * or (for agents that print one JSON object per line) `events()`.
 *
 * @example
 * const batch = spawner.spawnBatch(agents, { stream: true });
 * for await (const o of batch) {
 *   void (async () => { for await (const line of o.stdout.lines()) console.log(`[${o.name}] ${line}`); })();
 * }
 */
export class OutputStream {
  readonly #bound: number;
  // Unread chunks; `gap`: bytes were dropped just before this one.
  readonly #queue: { chunk: Uint8Array; gap: boolean }[] = [];
  #queued = 0;
  #ended = false;
  #dropped = 0;
  #read = false;
  #wake: (() => void) | undefined;

  /** @internal */
  constructor(bound = DEFAULT_STREAM_BUFFER_BYTES) {
    this.#bound = bound;
  }

  /** Bytes dropped because they were not read in time (more than the bound waited unread). */
  get droppedBytes(): number {
    return this.#dropped;
  }

  /** @internal */
  push(chunk: Uint8Array): void {
    if (this.#ended || chunk.byteLength === 0) return;
    this.#queue.push({ chunk, gap: false });
    this.#queued += chunk.byteLength;
    while (this.#queued > this.#bound) {
      const oldest = this.#queue[0]!.chunk;
      const over = this.#queued - this.#bound;
      // Drop whole chunks while that stays within the bound; cut the head off the last one.
      const cut = Math.min(over, oldest.byteLength);
      if (cut === oldest.byteLength) this.#queue.shift();
      else this.#queue[0] = { chunk: oldest.subarray(cut), gap: true };
      if (this.#queue.length > 0) this.#queue[0]!.gap = true;
      this.#queued -= cut;
      this.#dropped += cut;
    }
    this.#notify();
  }

  /** @internal The agent exited (or never ran): no more chunks. */
  end(): void {
    this.#ended = true;
    this.#notify();
  }

  /** The raw bytes, chunk by chunk, as they come. */
  async *chunks(): AsyncIterableIterator<Uint8Array> {
    for await (const { chunk } of this.#pull()) yield chunk;
  }

  /**
   * Each line as it completes, without its `\n` (or `\r\n`); a last line without one comes at the end.
   * Where bytes were dropped, the broken line is skipped (never half a line): lines resume at the next `\n`.
   */
  async *lines(): AsyncIterableIterator<string> {
    let decoder = new StringDecoder('utf8');
    let pending = '';
    let skipping = false;
    for await (const { chunk, gap } of this.#pull()) {
      if (gap) {
        decoder = new StringDecoder('utf8');
        pending = '';
        skipping = true;
      }
      let text = decoder.write(chunk as Buffer);
      if (skipping) {
        const newline = text.indexOf('\n');
        if (newline === -1) continue;
        text = text.slice(newline + 1);
        skipping = false;
      }
      const parts = (pending + text).split('\n');
      pending = parts.pop()!;
      for (const line of parts) yield line.endsWith('\r') ? line.slice(0, -1) : line;
    }
    pending += decoder.end();
    if (pending !== '' && !skipping) yield pending;
  }

  async *#pull(): AsyncIterableIterator<{ chunk: Uint8Array; gap: boolean }> {
    if (this.#read) throw new TypeError('An output stream can be read only once: keep what you need');
    this.#read = true;
    for (;;) {
      if (this.#queue.length > 0) {
        const entry = this.#queue.shift()!;
        this.#queued -= entry.chunk.byteLength;
        yield entry;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** Each line parsed as JSON (empty lines skipped); a line that is not JSON comes as `{ unparsed: line }`. */
  async *events(): AsyncIterableIterator<unknown> {
    for await (const line of this.lines()) {
      if (line.trim() === '') continue;
      try {
        yield JSON.parse(line) as unknown;
      } catch {
        yield { unparsed: line };
      }
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
