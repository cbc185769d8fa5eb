/**
 * The agent's stdin while it stays open (request `stdin: 'open'`), for
 * `handle.write()` and `handle.end()`. Writes made before the spawn event
 * wait in the pipe; once the agent's result is in, they are dropped.
 */
import type { Writable } from 'node:stream';

export class OpenStdin {
  #stream: Writable | undefined;

  /** Takes the pipe, with the prompt to write first (stdin delivery). */
  attach(stream: Writable, prompt: Uint8Array | undefined): void {
    this.#stream = stream;
    // EPIPE when the agent exits with its stdin open is its business, not a crash of ours.
    stream.on('error', () => {});
    if (prompt !== undefined) stream.write(prompt);
  }

  write(data: Uint8Array): void {
    if (this.#stream?.writable) this.#stream.write(data);
  }

  end(): void {
    this.#stream?.end();
  }

  detach(): void {
    this.#stream = undefined;
  }
}
