/**
 * What the ring-writer worker (ring-writer.ts) writes, for the ring tests and
 * the bench's ring scenario, so that a reader can tell every record from a
 * torn, corrupt or misplaced one:
 * - the seeded stream of writer `w`: record `seq` has agentId = seq and every
 *   other field drawn from a PRNG, so a verifier recomputes all of it;
 * - the check records: one fixed spawn record with agentId = seq and
 *   durationMs = checkValue(w, seq), cheap enough to time the ring itself.
 */
import { STAGE, STAGE_BY_NUMBER, type MetricRecord, type RecordStage } from '../../src/metrics/record.ts';
import { mulberry32Uint32 } from './prng.ts';

const STAGES: readonly RecordStage[] = ['build', 'spawn', 'exit'];

/** Seed of writer `writer`'s stream within run `seed`. */
function writerSeed(seed: number, writer: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(writer + 1, 0xc2b2ae35)) >>> 0;
}

/**
 * The stream of records writer `writer` writes: record `seq` has
 * writerThreadId = writer, agentId = seq, and every other field drawn from the
 * writer's PRNG (durationMs in particular is a fractional value that depends on
 * (writer, seq)).
 */
export function* recordStream(seed: number, writer: number): Generator<MetricRecord, never, void> {
  const next = mulberry32Uint32(writerSeed(seed, writer));
  for (let seq = 0; ; seq++) {
    const a = next();
    const b = next();
    const c = next();
    const ok = (a & 0x100) === 0;
    yield {
      stage: STAGES[a % 3]!,
      ok,
      errorCode: ok ? 0 : (a >>> 16) & 0xffff,
      agentId: seq,
      batchId: b & 0xffff,
      writerThreadId: writer,
      pid: c,
      timestamp: 1.7e12 + seq + b / 2 ** 32,
      durationMs: writer * 1e6 + seq + c / 2 ** 32,
      detailMs: (a >>> 9) / 1024,
    };
  }
}

/** The check record of writer `writer` before its first write; the writer sets agentId and durationMs per record. */
export function checkRecord(writer: number): MetricRecord {
  return { stage: 'spawn', ok: true, errorCode: 0, agentId: 0, batchId: 1, writerThreadId: writer, pid: 4242, timestamp: 1.7e12, durationMs: 0, detailMs: 0.5 };
}

/** The value a writer puts in `durationMs` of its check record `seq`. */
export function checkValue(writer: number, seq: number): number {
  return writer * 1e9 + seq * 1.5 + 0.25;
}

/** Float64 words per record in a batched message (transport 'post-batched'): every field of a MetricRecord, 64 bytes like a ring slot. */
export const RECORD_WORDS = 8;

/** Writes `r` at record index `i` of `words`; stage, ok and error code share a word as in the ring. */
export function encodeRecord(words: Float64Array, i: number, r: Readonly<MetricRecord>): void {
  const o = i * RECORD_WORDS;
  words[o] = r.writerThreadId;
  words[o + 1] = r.agentId;
  words[o + 2] = r.batchId;
  words[o + 3] = STAGE[r.stage] | ((r.ok ? 1 : 0) << 8) | (r.errorCode << 16);
  words[o + 4] = r.pid;
  words[o + 5] = r.timestamp;
  words[o + 6] = r.durationMs;
  words[o + 7] = r.detailMs;
}

/** Visits every record of a batched message. */
export function decodeRecords(words: Float64Array, visit: (r: MetricRecord) => void): void {
  for (let o = 0; o < words.length; o += RECORD_WORDS) {
    const kind = words[o + 3]!;
    visit({
      stage: STAGE_BY_NUMBER[kind & 0xff] ?? 'spawn',
      ok: ((kind >>> 8) & 0xff) === 1,
      errorCode: kind >>> 16,
      agentId: words[o + 1]!,
      batchId: words[o + 2]!,
      writerThreadId: words[o]!,
      pid: words[o + 4]!,
      timestamp: words[o + 5]!,
      durationMs: words[o + 6]!,
      detailMs: words[o + 7]!,
    });
  }
}
