import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exitedFrame, launchFrame, readExited, readLaunch } from '../../src/launch/helper/messages.ts';
import { encodeFrame, FRAME, FrameReader, ProtocolError, type FrameType } from '../../src/launch/helper/wire.ts';
import type { LaunchExit, LaunchRequest } from '../../src/launch/types.ts';

const typeArb = fc.constantFrom<FrameType>(...Object.values(FRAME));
const headerArb = fc.option(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.boolean())), { nil: undefined });
const frameArb = fc.record({
  type: typeArb,
  id: fc.nat(),
  header: headerArb,
  payload: fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 3 }),
});

function join(parts: Uint8Array[]): Buffer {
  return Buffer.concat(parts);
}

describe('FrameReader', () => {
  it('gives back every frame, whatever the chunking of the stream', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), (frames, cuts) => {
        const stream = join(frames.flatMap((f) => encodeFrame(f.type, f.id, f.header, f.payload)));
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const reader = new FrameReader();
        const got = [];
        let from = 0;
        for (const to of [...points, stream.length]) {
          got.push(...reader.push(stream.subarray(from, to)));
          from = to;
        }
        expect(reader.pendingBytes).toBe(0);
        expect(got.map((f) => ({ type: f.type, id: f.id, header: f.header, payload: Buffer.from(f.payload) }))).toEqual(
          frames.map((f) => ({ type: f.type, id: f.id, header: f.header, payload: join(f.payload) })),
        );
      }),
    );
  });

  it('returns a frame that arrived in one chunk as a view, not a copy', () => {
    const payload = Buffer.alloc(1 << 20, 7);
    const chunk = join(encodeFrame(FRAME.launch, 1, { a: 1 }, [payload]));
    const [frame] = new FrameReader().push(chunk);
    expect(frame!.payload.buffer).toBe(chunk.buffer);
    expect(frame!.payload.equals(payload)).toBe(true);
  });

  it('rejects a stream that is not frames', () => {
    expect(() => new FrameReader().push(Buffer.from([1, 0, 0, 0, 9]))).toThrow(ProtocolError);
    const unknownType = join(encodeFrame(FRAME.abort, 1));
    unknownType[4] = 99;
    expect(() => new FrameReader().push(unknownType)).toThrow(/unknown frame type 99/);
  });
});

describe('helper messages', () => {
  it('carry a launch request across, prompt bytes and undefined fields included', () => {
    const request: LaunchRequest = {
      agent: 'a',
      command: 'cat',
      args: ['{{prompt}}'],
      env: undefined,
      cwd: undefined,
      prompt: new Uint8Array(Buffer.from('präsent 🚀')),
      promptVia: 'stdin',
      ready: { source: '^up$', flags: 'i' },
      timeoutMs: undefined,
      killGraceMs: 10,
      maxOutputBytes: 100,
      stream: false,
      stdin: 'close',
      stdoutFile: undefined,
      stderrFile: undefined,
    };
    const [frame] = new FrameReader().push(join(launchFrame(5, request)));
    expect(frame!.id).toBe(5);
    const back = readLaunch(frame!);
    expect({ ...back, prompt: Buffer.from(back.prompt) }).toStrictEqual({ ...request, prompt: Buffer.from(request.prompt) });
  });

  it('carry an exit across, outputs with multi-byte text included', () => {
    const exit: LaunchExit = {
      reason: 'exit',
      pid: 42,
      exitCode: undefined,
      signal: 'SIGTERM',
      stdout: 'ä😀\n',
      stderr: '\ufffderr',
      stdoutTruncated: true,
      stderrTruncated: false,
      durationMs: 1.5,
      at: 1_700_000_000_000.25,
      error: undefined,
    };
    const [frame] = new FrameReader().push(join(exitedFrame(9, exit)));
    expect(readExited(frame!)).toStrictEqual(exit);
  });
});
