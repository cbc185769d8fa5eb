/**
 * Writer thread of the ring scenario. Stays up for the whole scenario; for
 * each job it waits at the shared gate, then writes its records through the
 * job's transport as fast as it can. Every transport sends the same record:
 * writer id, sequence number, and a check value the reader verifies.
 */
import { parentPort } from 'node:worker_threads';
import type { MetricRecord } from '../../src/metrics/record.ts';
import { MetricsRing } from '../../src/metrics/ring.ts';
import { checkValue, RECORD_WORDS, type WorkerReply, type WriteJob } from './ring-messages.ts';

const port = parentPort;
if (port === null) throw new Error('ring-writer must run as a worker');

port.on('message', (job: WriteJob) => {
  const control = new Int32Array(job.control);
  const reply = (m: WorkerReply) => port.postMessage(m);
  reply({ type: 'ready', writer: job.writer });
  // Blocking wait: every writer starts at the same instant.
  Atomics.wait(control, 0, 0);
  if (job.transport === 'ring') writeRing(job);
  else if (job.transport === 'post-each') postEach(job);
  else postBatched(job);
  // SeqCst RMW after the last write: a reader that sees it also sees every record.
  Atomics.add(control, 1, 1);
  Atomics.notify(control, 1);
  reply({ type: 'done', writer: job.writer });
});

function record(writer: number): MetricRecord {
  return { stage: 'spawn', ok: true, errorCode: 0, agentId: 0, batchId: 1, writerThreadId: writer, pid: 4242, timestamp: 1.7e12, durationMs: 0, detailMs: 0.5 };
}

function writeRing(job: WriteJob): void {
  const ring = MetricsRing.attach(job.ring!);
  const r = record(job.writer);
  for (let seq = 0; seq < job.count; seq++) {
    r.agentId = seq;
    r.durationMs = checkValue(job.writer, seq);
    ring.write(r);
  }
}

function postEach(job: WriteJob): void {
  const r = record(job.writer);
  for (let seq = 0; seq < job.count; seq++) {
    r.agentId = seq;
    r.durationMs = checkValue(job.writer, seq);
    port!.postMessage(r);
  }
}

/** Records packed as Float64 words (see RECORD_WORDS), moved (transferred) one batch per message. */
function postBatched(job: WriteJob): void {
  let words = new Float64Array(job.batch * RECORD_WORDS);
  let n = 0;
  const flush = () => {
    const out = n * RECORD_WORDS === words.length ? words : words.slice(0, n * RECORD_WORDS);
    port!.postMessage(out, [out.buffer]);
    words = new Float64Array(job.batch * RECORD_WORDS);
    n = 0;
  };
  for (let seq = 0; seq < job.count; seq++) {
    const o = n * RECORD_WORDS;
    words[o] = job.writer;
    words[o + 1] = seq;
    words[o + 2] = 1; // batch id
    words[o + 3] = 2 | (1 << 8); // stage spawn, ok, error code 0: the ring's packing
    words[o + 4] = 4242; // pid
    words[o + 5] = 1.7e12; // timestamp
    words[o + 6] = checkValue(job.writer, seq);
    words[o + 7] = 0.5; // detailMs
    if (++n === job.batch) flush();
  }
  if (n > 0) flush();
}
