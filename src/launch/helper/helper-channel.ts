/**
 * The host's end of the channel to one helper (its fd 3): frames out, corked
 * so a message leaves in one write; frames in, as the reader completes them.
 * Bad bytes are not skipped: the stream has lost its framing, so the helper
 * is reported as misbehaving.
 */
import type { Socket } from 'node:net';
import { FrameReader, type Frame } from './wire.ts';

export class HelperChannel {
  readonly #socket: Socket | undefined;
  readonly #reader = new FrameReader();

  /** No socket: the helper could not be started, and everything sent is dropped. */
  constructor(socket: Socket | undefined, onFrame: (frame: Frame) => void, onBadData: (why: string) => void) {
    this.#socket = socket;
    socket?.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = this.#reader.push(chunk);
      } catch (error) {
        onBadData(`sent bad data (${(error as Error).message})`);
        return;
      }
      for (const frame of frames) onFrame(frame);
    });
    // Write errors (EPIPE once the helper is dead) show up as the helper's close.
    socket?.on('error', () => {});
  }

  send(parts: Uint8Array[]): void {
    const socket = this.#socket;
    if (socket === undefined || socket.destroyed) return;
    socket.cork();
    for (const part of parts) socket.write(part);
    socket.uncork();
  }

  /** The helper exits at the end of its channel. */
  end(): void {
    this.#socket?.end();
  }
}
