// Echoes every frame it receives on fd 3 back to the sender: the helper's
// transport (socket pair + FrameReader + corked writes) without the launching.
import net from 'node:net';
// The helper's own framing and channel fd, internal to the library: this peer stands in for the helper.
import { CHANNEL_FD, encodeFrame, FrameReader } from '../../src/launch/helper/wire.ts';

const channel = new net.Socket({ fd: CHANNEL_FD, readable: true, writable: true });
const reader = new FrameReader();
channel.on('data', (chunk: Buffer) => {
  for (const frame of reader.push(chunk)) {
    channel.cork();
    for (const part of encodeFrame(frame.type, frame.id, frame.header, [frame.payload])) channel.write(part);
    channel.uncork();
  }
});
channel.on('end', () => process.exit(0));
