#!/usr/bin/env node
// Bench agent with an I/O-bound start: it waits IO_READY_MS (default 40) on a
// timer, as a real agent waits on a socket or a file, then prints its ready
// line. It reads its prompt from stdin meanwhile and exits once stdin ends.
const delayMs = Number(process.env.IO_READY_MS ?? 40);
let promptBytes = 0;
process.stdin.on('data', (chunk) => {
  promptBytes += chunk.length;
});
process.stdin.on('error', () => {});
setTimeout(() => {
  process.stdout.write(`READY prompt=${promptBytes}\n`);
}, delayMs);
