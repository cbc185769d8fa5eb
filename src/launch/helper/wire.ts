/**
 * Frames on the host ↔ helper channel (a Unix socket pair). Small headers
 * are JSON; prompts and outputs travel as raw bytes after the header, so a
 * 1 MB prompt costs one kernel copy each way and no encoding at all.
 *
 * | offset | size | field                                            |
 * |--------|------|--------------------------------------------------|
 * | 0      | 4    | u32 LE: length of everything after this field    |
 * | 4      | 1    | u8: frame type (FRAME below)                     |
 * | 5      | 4    | u32 LE: request id (0 for channel-wide frames)   |
 * | 9      | 4    | u32 LE: header length h (0: no header)           |
 * | 13     | h    | header, UTF-8 JSON                               |
 * | 13 + h | rest | payload, raw bytes                               |
 */

/** The helper's end of the channel: the first descriptor after stdio. */
export const CHANNEL_FD = 3;

/** Frame types. Host → helper below 16, helper → host from 16. */
export const FRAME = {
  launch: 1,
  abort: 2,
  env: 3,
  /** Bytes for an agent's open stdin (payload). */
  stdin: 4,
  /** End of an agent's open stdin. */
  stdinEnd: 5,
  spawned: 16,
  ready: 17,
  exited: 18,
  /** The helper is up and reading requests. */
  hello: 19,
  /** A chunk of an agent's stdout or stderr (header: the stream; payload: the bytes). */
  output: 20,
} as const;
export type FrameType = (typeof FRAME)[keyof typeof FRAME];

const KNOWN_TYPES = new Set<number>(Object.values(FRAME));
const PREFIX = 13;
/** A frame larger than this means the stream is corrupt, not that a prompt is big. */
const MAX_FRAME_BYTES = 2 ** 31;

export interface Frame {
  type: FrameType;
  id: number;
  /** Parsed JSON header, undefined when the frame has none. */
  header: unknown;
  /** Raw bytes after the header; a view into the received data, not a copy. */
  payload: Buffer;
}

/**
 * The buffers of one frame, ready for a corked `socket.write` each (one
 * writev): the payload parts are passed through, never copied.
 */
export function encodeFrame(type: FrameType, id: number, header?: unknown, payload: readonly Uint8Array[] = []): Uint8Array[] {
  const json = header === undefined ? undefined : Buffer.from(JSON.stringify(header), 'utf8');
  const headerBytes = json?.length ?? 0;
  let payloadBytes = 0;
  for (const part of payload) payloadBytes += part.byteLength;
  const prefix = Buffer.allocUnsafe(PREFIX);
  prefix.writeUInt32LE(PREFIX - 4 + headerBytes + payloadBytes, 0);
  prefix.writeUInt8(type, 4);
  prefix.writeUInt32LE(id, 5);
  prefix.writeUInt32LE(headerBytes, 9);
  const parts: Uint8Array[] = [prefix];
  if (json) parts.push(json);
  for (const part of payload) if (part.byteLength > 0) parts.push(part);
  return parts;
}

/** The stream is not speaking this protocol (or a frame was cut short by a bug). */
export class ProtocolError extends Error {}

/**
 * Cuts a byte stream into frames. A frame that arrived in one chunk is
 * returned as a view of it; one split across chunks is joined once.
 */
export class FrameReader {
  // Received bytes not yet returned as frames; #buffered is their total length.
  #chunks: Buffer[] = [];
  #buffered = 0;

  /** Takes one chunk; returns the frames it completed, in order. Throws ProtocolError on garbage. */
  push(chunk: Buffer): Frame[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.#buffered < 4) return frames;
      const length = this.#peekLength();
      if (length < PREFIX - 4 || length > MAX_FRAME_BYTES) throw new ProtocolError(`bad frame length ${length}`);
      if (this.#buffered < 4 + length) return frames;
      frames.push(parse(this.#take(4 + length)));
    }
  }

  /** Bytes of an incomplete frame still waiting for the rest. */
  get pendingBytes(): number {
    return this.#buffered;
  }

  #peekLength(): number {
    const first = this.#chunks[0]!;
    if (first.length >= 4) return first.readUInt32LE(0);
    return Buffer.concat(this.#chunks, 4).readUInt32LE(0);
  }

  #take(n: number): Buffer {
    const first = this.#chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
    } else {
      out = Buffer.concat(this.#chunks, n);
      let left = n;
      while (left > 0) {
        const head = this.#chunks[0]!;
        if (head.length <= left) {
          left -= head.length;
          this.#chunks.shift();
        } else {
          this.#chunks[0] = head.subarray(left);
          left = 0;
        }
      }
    }
    this.#buffered -= n;
    return out;
  }
}

function parse(frame: Buffer): Frame {
  const type = frame.readUInt8(4);
  if (!KNOWN_TYPES.has(type)) throw new ProtocolError(`unknown frame type ${type}`);
  const id = frame.readUInt32LE(5);
  const headerBytes = frame.readUInt32LE(9);
  if (PREFIX + headerBytes > frame.length) throw new ProtocolError(`header of ${headerBytes} bytes overruns its frame`);
  const header: unknown = headerBytes === 0 ? undefined : JSON.parse(frame.toString('utf8', PREFIX, PREFIX + headerBytes));
  return { type: type as FrameType, id, header, payload: frame.subarray(PREFIX + headerBytes) };
}
