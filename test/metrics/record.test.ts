import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildRecord, decodeRecord, exitRecord, spawnRecord, type DecodedRecord, type MetricRecord, type RecordHeader } from '../../src/metrics/record.ts';
import { MetricsRing } from '../../src/metrics/ring.ts';

// What each stage puts in the two stage-dependent slots, restated from the table at the top of record.ts.
function wire(r: DecodedRecord): [durationMs: number, detailMs: number] {
  switch (r.stage) {
    case 'build':
      return [r.buildMs, r.queueMs];
    case 'spawn':
      return [r.spawnMs, r.queueMs];
    case 'exit':
      return [r.runMs, r.exitCode ?? -1];
  }
}
const RAW_KEYS = ['agentId', 'batchId', 'detailMs', 'durationMs', 'errorCode', 'ok', 'pid', 'stage', 'timestamp', 'writerThreadId'];

function encode(r: DecodedRecord): MetricRecord {
  switch (r.stage) {
    case 'build':
      return buildRecord(r);
    case 'spawn':
      return spawnRecord(r);
    case 'exit':
      return exitRecord(r);
  }
}

const u32 = fc.nat({ max: 0xffff_ffff });
// Values the ring stores exactly: u32 words, a 16-bit error code, f64 times (no NaN: it would not equal itself).
const headerArb: fc.Arbitrary<RecordHeader> = fc.record({
  ok: fc.boolean(),
  errorCode: fc.nat({ max: 0xffff }),
  agentId: u32,
  batchId: u32,
  writerThreadId: u32,
  pid: u32,
  timestamp: fc.double({ noNaN: true }),
});
const ms = fc.double({ noNaN: true, min: 0 });
const decodedArb: fc.Arbitrary<DecodedRecord> = fc.oneof(
  fc.record({ header: headerArb, buildMs: ms, queueMs: ms }).map(({ header, ...f }): DecodedRecord => ({ ...header, stage: 'build', ...f })),
  fc.record({ header: headerArb, spawnMs: ms, queueMs: ms }).map(({ header, ...f }): DecodedRecord => ({ ...header, stage: 'spawn', ...f })),
  fc
    .record({ header: headerArb, runMs: ms, exitCode: fc.option(fc.nat({ max: 255 }), { nil: null }) })
    .map(({ header, ...f }): DecodedRecord => ({ ...header, stage: 'exit', ...f })),
);

const header: RecordHeader = { ok: false, errorCode: 12, agentId: 3, batchId: 9, writerThreadId: 2, pid: 4242, timestamp: 1.7e12 + 0.25 };

describe('record codec', () => {
  it('each constructor fills the raw record as the table says, and the decoder gives the same fields back', () => {
    fc.assert(
      fc.property(decodedArb, (decoded) => {
        const raw = encode(decoded);
        expect(Object.keys(raw).sort()).toEqual(RAW_KEYS);
        expect([raw.durationMs, raw.detailMs]).toEqual(wire(decoded));
        expect(decodeRecord(raw)).toEqual(decoded);
      }),
    );
  });

  it('an exit killed by a signal (exitCode null) is -1 on the wire, and -1 decodes to null; exit code 0 stays 0', () => {
    expect(exitRecord({ ...header, runMs: 5, exitCode: null }).detailMs).toBe(-1);
    expect(decodeRecord({ ...header, stage: 'exit', durationMs: 5, detailMs: -1 })).toMatchObject({ stage: 'exit', runMs: 5, exitCode: null });
    expect(decodeRecord(exitRecord({ ...header, runMs: 5, exitCode: 0 }))).toMatchObject({ exitCode: 0 });
    expect(decodeRecord(exitRecord({ ...header, runMs: 5, exitCode: 137 }))).toMatchObject({ exitCode: 137 });
  });

  it('round-trips every stage through a real ring: write, drain, decode', () => {
    fc.assert(
      fc.property(fc.array(decodedArb, { minLength: 1, maxLength: 40 }), (written) => {
        const ring = MetricsRing.create({ capacity: 64 });
        for (const r of written) ring.write(encode(r));
        const read: DecodedRecord[] = [];
        // The ring reuses the objects it hands out: what is kept must be the decoder's copy.
        expect(ring.drain((raw) => read.push(decodeRecord(raw)))).toBe(written.length);
        expect(read).toEqual(written);
      }),
      { numRuns: 50 },
    );
  });
});
