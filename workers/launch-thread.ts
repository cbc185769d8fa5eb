/**
 * The spawner's launch thread: owns the build pool and the launcher, so that
 * nothing between "build this prompt" and "the agent is running" waits for
 * the host's main thread. A built prompt comes here from its build worker
 * (Piscina moves its bytes, no copy) and goes straight to the launcher; the
 * fork happens here (direct) or in the helper process (big hosts); SPAWN
 * and EXIT records go into the ring from here with the events' own times.
 *
 * Why a thread of our own rather than build workers talking to the
 * launcher: build workers are Piscina's to terminate (a build timeout, a heap
 * limit), and a thread that owns children must never be terminated while
 * they live (nodejs/node#46569). Why not build workers posting prompts over
 * MessagePorts to a launch thread fed by the main thread: Piscina's queue
 * lives on the thread that calls run(), so with the pool here, a worker that
 * finishes a build gets its next one from this thread, which is idle, not
 * from the main thread, which may be busy.
 *
 * Events for the main thread are sent in one message for many: each
 * message costs an idle main thread a wake-up (~40 us of its CPU, measured
 * with a worker posting 5,000 small messages), more than the work the
 * events themselves ask of it. So messages are throttled by a token bucket:
 * a burst of up to FLUSH_BURST messages leaves at once (a small batch is
 * heard without delay), and under sustained load the events of
 * FLUSH_INTERVAL_MS travel together. Only the main thread's *hearing* of
 * an event waits: agents start, and records reach the ring, as they happen.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { createLauncher } from '../src/launch/select-launcher.ts';
import { LaunchSide } from '../src/pipeline/launch-side.ts';
import type { AgentEvent, FromLaunchSide, OutputEvent, ToLaunchSide } from '../src/pipeline/messages.ts';
import type { LaunchThreadData } from '../src/pipeline/thread-data.ts';

const data = workerData as LaunchThreadData;
const port = parentPort!;
let outbox: AgentEvent[] = [];
let outboxBytes = 0;
/**
 * Output bytes that make a message leave at once, whatever the throttle: the
 * main thread's streams bound what waits unread (8 MiB by default), and a
 * message is pushed into them whole, before any reader has had a turn.
 */
const MAX_MESSAGE_BYTES = 1024 * 1024;
// Output events in the outbox with their chunks: consecutive chunks of one stream travel as one.
let parts = new Map<OutputEvent, Uint8Array[]>();
// Pipe reads are at most 64 KiB: up to 1 MiB per message keeps each copy small.
const MAX_JOINED_CHUNKS = 16;

/** Messages to the main thread: a burst of FLUSH_BURST, then one per FLUSH_INTERVAL_MS (see above). */
const FLUSH_BURST = 8;
const FLUSH_INTERVAL_MS = 10;
let tokens = FLUSH_BURST;
let refilledAt = performance.now();

function scheduleFlush(): void {
  const now = performance.now();
  tokens = Math.min(FLUSH_BURST, tokens + (now - refilledAt) / FLUSH_INTERVAL_MS);
  refilledAt = now;
  if (tokens >= 1) setImmediate(flush);
  else setTimeout(flush, (1 - tokens) * FLUSH_INTERVAL_MS);
}

const side = new LaunchSide({
  pool: data.pool,
  launcher: createLauncher(data.launcher, data.helpers),
  threadId,
  emit: (event) => {
    if (outbox.length === 0) scheduleFlush();
    if (event.type === 'output') {
      outboxBytes += event.chunk.byteLength;
      if (outboxBytes >= MAX_MESSAGE_BYTES) queueMicrotask(flush);
    }
    // A chunk joins the one before it only if nothing came in between, so the main thread hears every
    // agent's output, and the events of all of them, in the order they happened.
    const last = outbox.at(-1);
    if (event.type === 'output' && last?.type === 'output' && last.batchId === event.batchId && last.index === event.index && last.stream === event.stream) {
      const chunks = parts.get(last)!;
      if (chunks.length < MAX_JOINED_CHUNKS) {
        chunks.push(event.chunk);
        return;
      }
    }
    if (event.type === 'output') parts.set(event, [event.chunk]);
    outbox.push(event);
  },
});

function flush(): void {
  // A flush scheduled before an early one (a full message) finds nothing left to send.
  if (outbox.length === 0) return;
  const now = performance.now();
  tokens = Math.min(FLUSH_BURST, tokens + (now - refilledAt) / FLUSH_INTERVAL_MS) - 1;
  refilledAt = now;
  for (const [event, chunks] of parts) if (chunks.length > 1) event.chunk = Buffer.concat(chunks);
  const events = outbox;
  outbox = [];
  outboxBytes = 0;
  parts = new Map();
  post({ type: 'events', events });
}

function post(message: FromLaunchSide): void {
  port.postMessage(message);
}

port.on('message', (message: ToLaunchSide) => {
  switch (message.type) {
    case 'batch':
      side.start(message);
      return;
    case 'stop':
      side.stop(message);
      return;
    case 'stdin':
      side.stdin(message);
      return;
    case 'warmUp':
      void side.warmUp().then(() => post({ type: 'ready' }));
      return;
    case 'close':
      void side.close().then(() => {
        if (outbox.length > 0) flush();
        post({ type: 'closed' });
      });
      return;
  }
});
