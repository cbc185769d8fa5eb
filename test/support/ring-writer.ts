/**
 * A ring writer thread, for the ring tests and the bench's ring scenario.
 * Given a job as workerData it does that one job and exits; without, it stays
 * up and does one job per message, so that a bench run does not pay a worker
 * start per round. A job: say `ready`, wait at the gate shared with the other
 * writers, write `count` records (see ring-writer-records.ts) as fast as it
 * can, say `done`; with `linger`, then wait to be terminated.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MetricRecord } from '../../src/metrics/record.ts';
import { MetricsRing } from '../../src/metrics/ring.ts';
import { checkRecord, checkValue, encodeRecord, RECORD_WORDS, recordStream } from './ring-writer-records.ts';

/** 'ring': into the metrics ring; the bench's baselines: one postMessage per record, or a transferred Float64Array per `batch` records. */
export type Transport = 'ring' | 'post-each' | 'post-batched';

export interface RingWriterData {
  writer: number;
  count: number;
  /** Int32 word 0: the gate (0 wait, 1 go). Word 1, if the buffer has it: writers finished, added to after the last write. */
  gate: SharedArrayBuffer;
  /** @default 'ring' */
  transport?: Transport;
  /** The ring (transport 'ring'). */
  buffer?: SharedArrayBuffer;
  /** The writer's seeded stream in this run; without it, the check records. */
  seed?: number;
  /** Records per message (transport 'post-batched'). */
  batch?: number;
  /** After writing, stay alive (blocked) until terminated. */
  linger?: boolean;
}

/** Writer → main. `ready`: waiting at the gate; `done`: every record written or posted. */
export type RingWriterReply = { type: 'ready'; writer: number } | { type: 'done'; writer: number; written: number };

const port = parentPort;
if (port === null) throw new Error('ring-writer must run as a worker');
const reply = (m: RingWriterReply) => port.postMessage(m);

if (workerData === null || workerData === undefined) port.on('message', run);
else run(workerData as RingWriterData);

function run(job: RingWriterData): void {
  const gate = new Int32Array(job.gate);
  reply({ type: 'ready', writer: job.writer });
  Atomics.wait(gate, 0, 0);
  const transport = job.transport ?? 'ring';
  if (transport === 'ring') writeRing(job);
  else if (transport === 'post-each') postEach(job);
  else postBatched(job);
  if (gate.length > 1) {
    // SeqCst RMW after the last write: a reader that sees it also sees every record.
    Atomics.add(gate, 1, 1);
    Atomics.notify(gate, 1);
  }
  reply({ type: 'done', writer: job.writer, written: job.count });
  // The gate stays open (1), so this waits until the worker is terminated.
  if (job.linger === true) Atomics.wait(gate, 0, 1);
}

function writeRing(job: RingWriterData): void {
  if (job.buffer === undefined) throw new Error('ring-writer: transport "ring" needs the ring buffer');
  const ring = MetricsRing.attach(job.buffer);
  if (job.seed !== undefined) {
    const stream = recordStream(job.seed, job.writer);
    for (let i = 0; i < job.count; i++) ring.write(stream.next().value);
    return;
  }
  // One object changed in place, in the loop itself: what is timed is write() and little else.
  const r = checkRecord(job.writer);
  for (let seq = 0; seq < job.count; seq++) {
    r.agentId = seq;
    r.durationMs = checkValue(job.writer, seq);
    ring.write(r);
  }
}

/** Record `seq` of the job: the next of its stream, or the check record changed in place. */
function recordSource(job: RingWriterData): (seq: number) => MetricRecord {
  if (job.seed !== undefined) {
    const stream = recordStream(job.seed, job.writer);
    return () => stream.next().value;
  }
  const r = checkRecord(job.writer);
  return (seq) => {
    r.agentId = seq;
    r.durationMs = checkValue(job.writer, seq);
    return r;
  };
}

function postEach(job: RingWriterData): void {
  const record = recordSource(job);
  for (let seq = 0; seq < job.count; seq++) port!.postMessage(record(seq));
}

function postBatched(job: RingWriterData): void {
  const batch = job.batch;
  if (batch === undefined) throw new Error('ring-writer: transport "post-batched" needs `batch`');
  const record = recordSource(job);
  let words = new Float64Array(batch * RECORD_WORDS);
  let n = 0;
  const flush = () => {
    const out = n === batch ? words : words.slice(0, n * RECORD_WORDS);
    port!.postMessage(out, [out.buffer]);
    words = new Float64Array(batch * RECORD_WORDS);
    n = 0;
  };
  for (let seq = 0; seq < job.count; seq++) {
    encodeRecord(words, n, record(seq));
    if (++n === batch) flush();
  }
  if (n > 0) flush();
}
