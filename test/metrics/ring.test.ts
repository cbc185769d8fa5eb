import { describe, it, expect } from 'vitest';
import { threadId } from 'node:worker_threads';
import { MetricsRing, MAX_RING_CAPACITY, MAX_RING_LANES, DEFAULT_RING_LANES, ringBytes, isPowerOfTwo } from '../../src/metrics/ring.ts';
import type { MetricRecord, RecordStage } from '../../src/metrics/record.ts';

// Layout, restated from the tables at the top of ring.ts.
const HEADER_BYTES = 64;
const LANE_HEADER_BYTES = 192;
const SLOT_BYTES = 64;
// Ring header words.
const H_MAGIC = 0;
const H_CAPACITY = 1;
const H_LANES = 2;
const H_START = 3;
const H_DROPPED = 4;
const H_INVALID = 5;
const H_READ = 6;
// Lane header words.
const L_OWNER = 0;
const L_CURSOR = 1; // begun, or the shared lane's claim cursor
const L_TOTALS = 16;
const L_READ = 32;
// Slot words.
const S_STATE = 0;
const S_SEQ = 1;
const laneByte = (capacity: number, lane: number): number => HEADER_BYTES + lane * (LANE_HEADER_BYTES + SLOT_BYTES * capacity);
const laneWord = (capacity: number, lane: number): number => laneByte(capacity, lane) / 4;
const slotByte = (capacity: number, lane: number, slot: number): number => laneByte(capacity, lane) + LANE_HEADER_BYTES + SLOT_BYTES * slot;
const slotWord = (capacity: number, lane: number, slot: number): number => slotByte(capacity, lane, slot) / 4;

const words = (ring: MetricsRing): Int32Array => new Int32Array(ring.buffer);
/** A single-writer lane's head: start + the sum of its six totals, mod 2^32. */
function laneHead(ring: MetricsRing, lane: number): number {
  const h = words(ring);
  let head = h[H_START]!;
  for (let k = 0; k < 6; k++) head += h[laneWord(ring.capacity, lane) + L_TOTALS + k]!;
  return head >>> 0;
}

function rec(over: Partial<MetricRecord> = {}): MetricRecord {
  return {
    stage: 'spawn',
    ok: true,
    errorCode: 0,
    agentId: 0,
    batchId: 1,
    writerThreadId: 0,
    pid: 4242,
    timestamp: 1_700_000_000_000.25,
    durationMs: 1.5,
    detailMs: 0.125,
    ...over,
  };
}

/** Record number `n` of a simple numbered stream (of writer `w`). */
const nth = (n: number, w = 0): MetricRecord => rec({ agentId: n, writerThreadId: w, durationMs: n + 0.5, detailMs: n / 8 });

/** Every record the next drain hands out, copied (drain reuses the objects it hands out). */
function drainAll(ring: MetricsRing): MetricRecord[] {
  const out: MetricRecord[] = [];
  const visited = ring.drain((r) => out.push({ ...r }));
  expect(visited).toBe(out.length);
  return out;
}

const ids = (rs: readonly MetricRecord[]): number[] => rs.map((r) => r.agentId);
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** `read + dropped + pending === written`, plus the expected values. */
function expectCounts(ring: MetricsRing, want: { written: number; read: number; dropped: number; invalid?: number; pending?: number }): void {
  const c = ring.counters();
  expect({ written: c.written, read: c.read, dropped: c.dropped, invalid: c.invalid, pending: c.pending }).toEqual({
    invalid: 0,
    pending: 0,
    ...want,
  });
  expect(c.invalid).toBeLessThanOrEqual(c.dropped);
  expect(c.read + c.dropped + c.pending).toBe(c.written);
}

describe('MetricsRing: round trip', () => {
  it('returns every field of every stage/outcome exactly as written', () => {
    const ring = MetricsRing.create({ capacity: 16 });
    const written: MetricRecord[] = [];
    const stages: RecordStage[] = ['build', 'spawn', 'exit'];
    let n = 0;
    for (const stage of stages) {
      for (const ok of [true, false]) {
        n++;
        written.push({
          stage,
          ok,
          errorCode: ok ? 0 : 0xffff - n,
          agentId: 0xffff_ffff - n,
          batchId: 0x8000_0000 + n,
          writerThreadId: n * 3,
          pid: 0xffff_fff0 + n,
          timestamp: 1_732_000_000_000.123 + n / 7,
          durationMs: 12.345678 * n,
          detailMs: stage === 'exit' && !ok ? -1 : 0.000_123 * n,
        });
      }
    }
    // A few awkward but legal values.
    written.push(
      rec({
        stage: 'exit',
        ok: false,
        errorCode: 1,
        agentId: 0,
        batchId: 0,
        writerThreadId: 0,
        pid: 0,
        timestamp: 0.1,
        durationMs: -0,
        detailMs: Number.MIN_VALUE,
      }),
    );
    written.push(rec({ stage: 'build', errorCode: 0, agentId: 1, timestamp: Number.MAX_VALUE, durationMs: 1 / 3, detailMs: Math.PI }));
    for (const r of written) ring.write(r);
    const got = drainAll(ring);
    expect(got).toEqual(written);
    // -0 must survive (toEqual distinguishes it, but be explicit).
    expect(Object.is(got[6]?.durationMs, -0)).toBe(true);
    expectCounts(ring, { written: written.length, read: written.length, dropped: 0 });
  });

  it('returns records in write order, across several drains', () => {
    const ring = MetricsRing.create({ capacity: 8 });
    const seen: number[] = [];
    let next = 0;
    for (const batch of [1, 3, 0, 8, 2, 7, 5, 20, 17, 33]) {
      for (let i = 0; i < Math.min(batch, 8); i++) ring.write(nth(next++));
      seen.push(...ids(drainAll(ring)));
    }
    expect(seen).toEqual(range(0, next));
    expectCounts(ring, { written: next, read: next, dropped: 0 });
  });

  it('drain on an empty ring visits nothing', () => {
    const ring = MetricsRing.create({ capacity: 2 });
    expect(drainAll(ring)).toEqual([]);
    expectCounts(ring, { written: 0, read: 0, dropped: 0 });
  });

  it('counters() refreshes written before a drain and reports it as pending', () => {
    const ring = MetricsRing.create({ capacity: 4 });
    for (let i = 0; i < 3; i++) ring.write(nth(i));
    expect(ring.counters()).toMatchObject({ written: 3, read: 0, dropped: 0, pending: 3 });
    drainAll(ring);
    expect(ring.counters()).toMatchObject({ written: 3, read: 3, dropped: 0, pending: 0 });
  });

  it('publishes the reader counters, the lane cursor, owner and totals in the headers', () => {
    const ring = MetricsRing.create({ capacity: 4 });
    const h = words(ring);
    expect(h[H_CAPACITY]).toBe(4);
    expect(h[H_LANES]).toBe(DEFAULT_RING_LANES);
    // A lane is claimed at a view's first write, not before.
    expect(h[laneWord(4, 0) + L_OWNER]).toBe(0);
    for (let i = 0; i < 10; i++) ring.write(nth(i, i % 2 === 0 ? 0 : 5));
    ring.write(rec({ stage: 'build', ok: false, errorCode: 7 }));
    drainAll(ring);
    // The reader's counters reach the header at counters() (and every 1024 records), not at every drain.
    expect(h[H_READ]).toBe(0);
    ring.counters();
    expect(h[laneWord(4, 0) + L_OWNER]).toBe(threadId + 1);
    expect(h[laneWord(4, 1) + L_OWNER]).toBe(0);
    expect(h[H_DROPPED]).toBe(7);
    expect(h[H_INVALID]).toBe(0);
    expect(h[H_READ]).toBe(4);
    expect(h[laneWord(4, 0) + L_READ]).toBe(11);
    // Totals: build ok, build failed, spawn ok, spawn failed, exit ok, exit failed.
    expect(Array.from(h.subarray(laneWord(4, 0) + L_TOTALS, laneWord(4, 0) + L_TOTALS + 6))).toEqual([0, 1, 10, 0, 0, 0]);
    expect(laneHead(ring, 0)).toBe(11);
    // Each write from ticket 4 on overwrote a slot the reader had not read (it drained only at
    // the end), so each stored begun first: the last was ticket 10's, 11.
    expect(h[laneWord(4, 0) + L_CURSOR]).toBe(11);
  });

  it('a reader that drains without counters() publishes its counters every 1024 records, its lane cursor every eighth of a lap', () => {
    const ring = MetricsRing.create({ capacity: 4096, lanes: 1 });
    const h = words(ring);
    for (let i = 0; i < 1000; i++) ring.write(nth(i));
    drainAll(ring);
    expect([h[H_READ], h[laneWord(4096, 0) + L_READ]]).toEqual([0, 1000]);
    for (let i = 1000; i < 1100; i++) ring.write(nth(i));
    drainAll(ring);
    // 100 more: past 1024 in all, so the counters are published; 100 is less than an eighth of 4096, so the cursor is not.
    expect([h[H_READ], h[laneWord(4096, 0) + L_READ]]).toEqual([1100, 1000]);
    // A writer that laps a reader whose published cursor is behind stores begun first, and loses nothing read.
    for (let i = 1100; i < 1100 + 4096; i++) ring.write(nth(i));
    expect(drainAll(ring)).toHaveLength(4096);
    expect(ring.counters()).toMatchObject({ written: 5196, read: 5196, dropped: 0, invalid: 0, pending: 0 });
  });

  it('hands out a few reused objects, not one per record', () => {
    const ring = MetricsRing.create({ capacity: 1024 });
    const seen = new Set<object>();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 1000; i++) ring.write(nth(i));
      let n = 0;
      ring.drain((r) => {
        seen.add(r);
        expect(r.agentId).toBe(n++);
      });
      expect(n).toBe(1000);
    }
    expect(seen.size).toBeLessThanOrEqual(16);
  });

  it('write() rejects a record whose stage is not one, and writes nothing', () => {
    const ring = MetricsRing.create({ capacity: 4 });
    expect(() => ring.write({ ...nth(0), stage: 'run' as RecordStage })).toThrow(/`stage`.*`run`/);
    ring.write(nth(1));
    expect(ids(drainAll(ring))).toEqual([1]);
    expectCounts(ring, { written: 1, read: 1, dropped: 0 });
  });
});

describe('MetricsRing: options', () => {
  it.each([0, 1, 3, 6, 12, 100, 2 ** 25, 2 ** 26, -2, 2.5, Number.NaN, Number.POSITIVE_INFINITY])(
    'rejects capacity %s with a RangeError naming capacity and the value',
    (capacity) => {
      let err: unknown;
      try {
        MetricsRing.create({ capacity });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RangeError);
      const message = (err as Error).message;
      expect(message).toContain('capacity');
      expect(message).toContain(String(capacity));
    },
  );

  it.each([-1, 65, 1.5, Number.NaN])('rejects lanes %s with a RangeError naming lanes and the value', (lanes) => {
    expect(() => MetricsRing.create({ capacity: 4, lanes })).toThrow(RangeError);
    expect(() => MetricsRing.create({ capacity: 4, lanes })).toThrow(new RegExp(`\`lanes\`.*\`${String(lanes)}\``));
  });

  it.each([
    [2, 8],
    [4, 0],
    [64, 1],
    [1024, 3],
    [1 << 16, 8],
    [16, MAX_RING_LANES],
  ])('capacity %i, lanes %i: the buffer holds the header and lanes + 1 lanes', (capacity, lanes) => {
    const ring = MetricsRing.create({ capacity, lanes });
    expect(ring.capacity).toBe(capacity);
    expect(ring.lanes).toBe(lanes);
    expect(ring.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(ring.buffer.byteLength).toBe(ringBytes(capacity, lanes));
    expect(ring.buffer.byteLength).toBe(laneByte(capacity, lanes + 1));
  });

  it('defaults: 8 lanes; isPowerOfTwo and the upper bounds', () => {
    expect(MetricsRing.create({ capacity: 2 }).lanes).toBe(8);
    expect(ringBytes(2)).toBe(laneByte(2, 9));
    expect([1, 2, 4, 1 << 30].every(isPowerOfTwo)).toBe(true);
    expect([0, 3, -4, 0.5, 6, Number.NaN].some(isPowerOfTwo)).toBe(false);
    expect(MAX_RING_CAPACITY).toBe(2 ** 24);
    expect(MAX_RING_LANES).toBe(64);
  });
});

describe('MetricsRing: a reader that falls behind a lane', () => {
  it.each([
    [2, 1],
    [2, 7],
    [8, 1],
    [8, 5],
    [8, 8],
    [8, 25],
    [64, 63],
    [64, 1000],
  ])('capacity %i, %i records too many: read === capacity, dropped === k, the newest survive', (capacity, k) => {
    for (const lanes of [1, 0]) {
      const ring = MetricsRing.create({ capacity, lanes });
      const n = capacity + k;
      for (let i = 0; i < n; i++) ring.write(nth(i));
      const got = drainAll(ring);
      expect(got).toEqual(range(k, n).map((i) => nth(i)));
      expectCounts(ring, { written: n, read: capacity, dropped: k });
      // A second drain finds nothing more and changes nothing.
      expect(drainAll(ring)).toEqual([]);
      expectCounts(ring, { written: n, read: capacity, dropped: k });
    }
  });

  it('capacity is per lane: each writer can run a full lap ahead', () => {
    const ring = MetricsRing.create({ capacity: 8, lanes: 2 });
    const [a, b] = [MetricsRing.attach(ring.buffer), MetricsRing.attach(ring.buffer)];
    for (let i = 0; i < 8; i++) {
      a.write(nth(i, 1));
      b.write(nth(i, 2));
    }
    expect(drainAll(ring)).toEqual([...range(0, 8).map((i) => nth(i, 1)), ...range(0, 8).map((i) => nth(i, 2))]);
    for (let i = 8; i < 20; i++) a.write(nth(i, 1));
    b.write(nth(8, 2));
    expect(drainAll(ring)).toEqual([...range(12, 20).map((i) => nth(i, 1)), nth(8, 2)]);
    expectCounts(ring, { written: 29, read: 25, dropped: 4 });
  });

  it('counts drops exactly over many irregular drains', () => {
    const capacity = 8;
    const ring = MetricsRing.create({ capacity });
    let next = 0;
    let expectRead = 0;
    let expectDropped = 0;
    const seen: number[] = [];
    for (const burst of [3, 8, 9, 20, 0, 1, 17, 8, 64, 2]) {
      const first = next;
      for (let i = 0; i < burst; i++) ring.write(nth(next++));
      const got = ids(drainAll(ring));
      const kept = Math.min(burst, capacity);
      expect(got).toEqual(range(first + burst - kept, first + burst));
      expectRead += kept;
      expectDropped += burst - kept;
      seen.push(...got);
      expectCounts(ring, { written: next, read: expectRead, dropped: expectDropped });
    }
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('keeps exact per-stage totals even when records are overwritten, in every kind of lane', () => {
    const ring = MetricsRing.create({ capacity: 4, lanes: 2 });
    const views = [ring, MetricsRing.attach(ring.buffer), MetricsRing.attach(ring.buffer)]; // lane 0, lane 1, shared
    const want = { build: { ok: 0, failed: 0 }, spawn: { ok: 0, failed: 0 }, exit: { ok: 0, failed: 0 } };
    const stages: RecordStage[] = ['build', 'spawn', 'exit'];
    for (let i = 0; i < 3000; i++) {
      const stage = stages[(i * 7) % 3]!;
      const ok = i % 5 !== 0;
      views[i % 3]!.write(rec({ stage, ok, errorCode: ok ? 0 : 3, agentId: i }));
      want[stage][ok ? 'ok' : 'failed']++;
      if (i % 97 === 0) drainAll(ring);
    }
    // Totals come straight from the lane headers: exact before and after a drain.
    expect(ring.counters().totals).toEqual(want);
    drainAll(ring);
    const c = ring.counters();
    expect(c.totals).toEqual(want);
    expect(c.dropped).toBeGreaterThan(2500);
    expect(c.read + c.dropped).toBe(3000);
  });
});

describe('MetricsRing: cursors wrapping at 2^32', () => {
  it('startCursor 2^32 - 5: order and counts across the boundary', () => {
    const start = 2 ** 32 - 5;
    const ring = MetricsRing.create({ capacity: 8, startCursor: start });
    const h = words(ring);
    expect(h[H_START]! >>> 0).toBe(start);
    expect(h[laneWord(8, 0) + L_READ]! >>> 0).toBe(start);
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) ring.write(nth(i));
    seen.push(...ids(drainAll(ring)));
    for (let i = 3; i < 13; i++) ring.write(nth(i)); // tickets 2^32-2 .. 7 (wrapped)
    expect(laneHead(ring, 0)).toBe(8);
    // 13 written, 3 read, 10 behind > capacity 8: 2 dropped.
    seen.push(...ids(drainAll(ring)));
    expect(seen).toEqual([0, 1, 2, ...range(5, 13)]);
    expectCounts(ring, { written: 13, read: 11, dropped: 2 });
    expect(h[laneWord(8, 0) + L_READ]! >>> 0).toBe(8);
    for (let i = 13; i < 20; i++) {
      ring.write(nth(i));
      seen.push(...ids(drainAll(ring)));
    }
    expect(seen).toEqual([0, 1, 2, ...range(5, 20)]);
    expectCounts(ring, { written: 20, read: 18, dropped: 2 });
  });

  it('startCursor 2^32 - 5 with a lagging reader: the newest capacity records survive', () => {
    for (const lanes of [1, 0]) {
      const ring = MetricsRing.create({ capacity: 4, lanes, startCursor: 2 ** 32 - 5 });
      for (let i = 0; i < 11; i++) ring.write(nth(i));
      expect(ids(drainAll(ring))).toEqual([7, 8, 9, 10]);
      expectCounts(ring, { written: 11, read: 4, dropped: 7 });
    }
  });

  const starts = [2 ** 32 - 1, 2 ** 32 - 2, 2 ** 32 - 5, 2 ** 32 - 8, 2 ** 32 - 64, 2 ** 31 - 3, 2 ** 31, 0, 5];
  it.each(starts)('startCursor %i: drain every capacity writes, nothing lost or duplicated', (start) => {
    for (const [capacity, lanes] of [
      [2, 1],
      [4, 0],
      [8, 1],
      [64, 1],
      [64, 0],
    ] as const) {
      const ring = MetricsRing.create({ capacity, lanes, startCursor: start });
      const seen: number[] = [];
      const n = capacity * 5 + 3;
      for (let i = 0; i < n; i++) {
        ring.write(nth(i));
        if ((i + 1) % capacity === 0) seen.push(...ids(drainAll(ring)));
      }
      seen.push(...ids(drainAll(ring)));
      expect(seen).toEqual(range(0, n));
      expectCounts(ring, { written: n, read: n, dropped: 0 });
    }
  });

  it.each(starts)('startCursor %i: lag and overwrite across the boundary count exactly', (start) => {
    for (const [capacity, lanes] of [
      [2, 1],
      [8, 0],
      [32, 1],
    ] as const) {
      const ring = MetricsRing.create({ capacity, lanes, startCursor: start });
      const seen: number[] = [];
      let next = 0;
      let dropped = 0;
      for (const burst of [1, capacity + 3, capacity, 2 * capacity + 1, 5]) {
        const first = next;
        for (let i = 0; i < burst; i++) ring.write(nth(next++));
        const kept = Math.min(burst, capacity);
        const got = ids(drainAll(ring));
        expect(got).toEqual(range(first + burst - kept, first + burst));
        seen.push(...got);
        dropped += burst - kept;
      }
      expect(new Set(seen).size).toBe(seen.length);
      expectCounts(ring, { written: next, read: seen.length, dropped });
      const head = lanes === 1 ? laneHead(ring, 0) : words(ring)[laneWord(capacity, 0) + L_CURSOR]! >>> 0;
      expect(head).toBe((start + next) % 2 ** 32);
    }
  });
});

describe('MetricsRing: lanes', () => {
  it('each view claims the first free lane at its first write; the owner word names its thread', () => {
    const ring = MetricsRing.create({ capacity: 4, lanes: 3 });
    const h = words(ring);
    const [a, b, c] = [MetricsRing.attach(ring.buffer), MetricsRing.attach(ring.buffer), MetricsRing.attach(ring.buffer)];
    const owners = () => [0, 1, 2, 3].map((l) => h[laneWord(4, l) + L_OWNER]);
    expect(owners()).toEqual([0, 0, 0, 0]);
    c.write(nth(0, 3)); // c writes first: lane 0
    expect(owners()).toEqual([threadId + 1, 0, 0, 0]);
    a.write(nth(0, 1)); // lane 1
    c.write(nth(1, 3)); // still lane 0
    b.write(nth(0, 2)); // lane 2
    expect(owners()).toEqual([threadId + 1, threadId + 1, threadId + 1, 0]);
    expect([0, 1, 2].map((l) => laneHead(ring, l))).toEqual([2, 1, 1]);
    expect(drainAll(ring)).toEqual([nth(0, 3), nth(1, 3), nth(0, 1), nth(0, 2)]);
  });

  it('drain order: lane by lane in index order, each in write order, the shared lane last', () => {
    const ring = MetricsRing.create({ capacity: 16, lanes: 2 });
    const views = [1, 2, 3, 4].map(() => MetricsRing.attach(ring.buffer));
    // Views 1 and 2 get lanes 0 and 1; 3 and 4 share the shared lane, in ticket order.
    for (let w = 0; w < 4; w++) views[w]!.write(nth(0, w + 1));
    const order: [number, number][] = [
      [3, 1],
      [4, 1],
      [2, 1],
      [1, 1],
      [3, 2],
      [1, 2],
      [4, 2],
      [2, 2],
    ];
    for (const [w, n] of order) views[w - 1]!.write(nth(n, w));
    const got = drainAll(ring).map((r) => [r.writerThreadId, r.agentId]);
    expect(got).toEqual([
      [1, 0],
      [1, 1],
      [1, 2],
      [2, 0],
      [2, 1],
      [2, 2],
      [3, 0],
      [4, 0],
      [3, 1],
      [4, 1],
      [3, 2],
      [4, 2],
    ]);
    expectCounts(ring, { written: 12, read: 12, dropped: 0 });
  });

  it('when the lanes run out, further views share the locked lane: nothing lost, totals exact', () => {
    const ring = MetricsRing.create({ capacity: 64, lanes: 2 });
    const h = words(ring);
    const views = Array.from({ length: 6 }, () => MetricsRing.attach(ring.buffer));
    const seen = new Map<number, number[]>();
    for (let i = 0; i < 40; i++) {
      for (let w = 0; w < 6; w++) views[w]!.write(nth(i, w + 1));
      if (i % 7 === 0) for (const r of drainAll(ring)) seen.set(r.writerThreadId, [...(seen.get(r.writerThreadId) ?? []), r.agentId]);
    }
    for (const r of drainAll(ring)) seen.set(r.writerThreadId, [...(seen.get(r.writerThreadId) ?? []), r.agentId]);
    for (let w = 1; w <= 6; w++) expect(seen.get(w)).toEqual(range(0, 40));
    expectCounts(ring, { written: 240, read: 240, dropped: 0 });
    expect(ring.counters().totals.spawn.ok).toBe(240);
    // Two lanes of 40, the shared lane took the other four views' 160 tickets.
    expect([laneHead(ring, 0), laneHead(ring, 1)]).toEqual([40, 40]);
    expect(h[laneWord(64, 2) + L_CURSOR]).toBe(160);
    expect(h[laneWord(64, 2) + L_OWNER]).toBe(0);
  });

  it('lanes: 0 puts every view on the shared lane', () => {
    const ring = MetricsRing.create({ capacity: 16, lanes: 0 });
    const other = MetricsRing.attach(ring.buffer);
    for (let i = 0; i < 5; i++) {
      ring.write(nth(i, 1));
      other.write(nth(i, 2));
    }
    expect(drainAll(ring).map((r) => `${r.writerThreadId}:${r.agentId}`)).toEqual(range(0, 5).flatMap((i) => [`1:${i}`, `2:${i}`]));
    expect(words(ring)[laneWord(16, 0) + L_CURSOR]).toBe(10);
  });

  it('a visitor that laps the chunk being visited still gets the records as they were read', () => {
    const ring = MetricsRing.create({ capacity: 4, lanes: 1 });
    for (let i = 0; i < 4; i++) ring.write(nth(i));
    const got: MetricRecord[] = [];
    ring.drain((r) => {
      got.push({ ...r });
      // The reader thread writes too (a listener that records something): all four slots now hold newer records.
      if (r.agentId === 0) for (let i = 4; i < 8; i++) ring.write(nth(i));
    });
    expect(got).toEqual(range(0, 4).map((i) => nth(i)));
    expect(drainAll(ring)).toEqual(range(4, 8).map((i) => nth(i)));
    expectCounts(ring, { written: 8, read: 8, dropped: 0 });
  });
});

describe('MetricsRing: writers that die', () => {
  /** What a single-writer lane's owner leaves when it dies mid-write of ticket `n`: begun stored, part of the payload, no commit. */
  function dieMidWrite(ring: MetricsRing, lane: number, n: number): void {
    const h = words(ring);
    const cap = ring.capacity;
    Atomics.store(h, laneWord(cap, lane) + L_CURSOR, (n + 1) | 0);
    const base = slotWord(cap, lane, n & (cap - 1));
    h[base + S_SEQ] = n | 0;
    h[base + 3] = 0xdead; // agent id, and nothing after it
  }

  it('mid-write over an unread record: that record is dropped (lapped, not invalid), the dead one never counts', () => {
    const capacity = 4;
    const ring = MetricsRing.create({ capacity, lanes: 2 });
    const dead = MetricsRing.attach(ring.buffer);
    for (let i = 0; i < 6; i++) dead.write(nth(i, 1)); // lane 0, tickets 0..5; 0 and 1 lapped already
    dieMidWrite(ring, 0, 6); // ticket 6 overwrites ticket 2's slot
    expect(drainAll(ring)).toEqual([nth(3, 1), nth(4, 1), nth(5, 1)]);
    expectCounts(ring, { written: 6, read: 3, dropped: 3 });
    expect(ring.counters().totals.spawn.ok).toBe(6);
    // The replacement claims lane 1; the dead lane stays owned, readable and quiet.
    const replacement = MetricsRing.attach(ring.buffer);
    for (let i = 0; i < 3; i++) replacement.write(nth(i, 2));
    expect(words(ring)[laneWord(capacity, 1) + L_OWNER]).toBe(threadId + 1);
    expect(drainAll(ring)).toEqual(range(0, 3).map((i) => nth(i, 2)));
    expectCounts(ring, { written: 9, read: 6, dropped: 3 });
  });

  it('mid-write over a record already read: nothing lost, nothing invalid', () => {
    const ring = MetricsRing.create({ capacity: 4, lanes: 1 });
    const dead = MetricsRing.attach(ring.buffer);
    for (let i = 0; i < 4; i++) dead.write(nth(i, 1));
    expect(drainAll(ring)).toHaveLength(4);
    dieMidWrite(ring, 0, 4);
    expect(drainAll(ring)).toEqual([]);
    expectCounts(ring, { written: 4, read: 4, dropped: 0 });
  });

  it('dead writers leak their lanes until none is left; later views write to the shared lane, and every committed record is read', () => {
    const ring = MetricsRing.create({ capacity: 16, lanes: 3 });
    const want: string[] = [];
    for (let generation = 1; generation <= 6; generation++) {
      const worker = MetricsRing.attach(ring.buffer); // a replacement worker's view
      for (let i = 0; i < 5; i++) {
        worker.write(nth(i, generation));
        want.push(`${generation}:${i}`);
      }
      if (generation <= 3) dieMidWrite(ring, generation - 1, 5);
      // Views 4..6 are in the shared lane; they just stop (a dead shared-lane writer is the stall test below).
    }
    expect(drainAll(ring).map((r) => `${r.writerThreadId}:${r.agentId}`)).toEqual(want);
    expectCounts(ring, { written: 30, read: 30, dropped: 0 });
    expect(ring.counters().totals.spawn.ok).toBe(30);
  });

  it('shared lane: a claimed-but-uncommitted record blocks that lane until it is overwritten; other lanes go on', () => {
    const capacity = 8;
    const ring = MetricsRing.create({ capacity, lanes: 1 });
    const h = words(ring);
    const lane0 = MetricsRing.attach(ring.buffer);
    lane0.write(nth(0, 9));
    const claim = laneWord(capacity, 1) + L_CURSOR;
    ring.write(nth(0)); // shared ticket 0 (lane 0 is taken)
    ring.write(nth(1)); // ticket 1
    Atomics.add(h, claim, 1); // ticket 2: claimed by a writer that never commits
    for (let i = 3; i < 6; i++) ring.write(nth(i)); // tickets 3..5

    expect(drainAll(ring).map((r) => `${r.writerThreadId}:${r.agentId}`)).toEqual(['9:0', '0:0', '0:1']);
    expectCounts(ring, { written: 7, read: 3, dropped: 0, pending: 4 });
    lane0.write(nth(1, 9));
    expect(ids(drainAll(ring))).toEqual([1]);

    // Tickets 6..9: claim = 10, the reader is exactly `capacity` behind: still blocked.
    for (let i = 6; i < 10; i++) ring.write(nth(i));
    expect(drainAll(ring)).toEqual([]);
    expectCounts(ring, { written: 12, read: 4, dropped: 0, pending: 8 });

    // Ticket 10 reuses slot 2: ticket 2 is now lapped and counted dropped (not invalid).
    ring.write(nth(10));
    expect(ids(drainAll(ring))).toEqual(range(3, 11));
    expectCounts(ring, { written: 13, read: 12, dropped: 1 });
  });

  it('shared lane: a writer that died holding the slot lock is taken over by the next writer of that slot', () => {
    const capacity = 4;
    const ring = MetricsRing.create({ capacity, lanes: 0 });
    const h = words(ring);
    ring.write(nth(0)); // ticket 0
    // Ticket 1: claimed, slot locked, seq stored, then the writer died.
    const dead = Atomics.add(h, laneWord(capacity, 0) + L_CURSOR, 1);
    Atomics.store(h, slotWord(capacity, 0, dead & (capacity - 1)) + S_STATE, 1);
    Atomics.store(h, slotWord(capacity, 0, dead & (capacity - 1)) + S_SEQ, dead);
    ring.write(nth(2));
    ring.write(nth(3));
    expect(ids(drainAll(ring))).toEqual([0]);
    expectCounts(ring, { written: 4, read: 1, dropped: 0, pending: 3 });
    ring.write(nth(4)); // ticket 4, slot 0
    ring.write(nth(5)); // ticket 5, slot 1: spins on the dead lock, then takes it over
    expect(Atomics.load(h, slotWord(capacity, 0, 1) + S_STATE)).toBe(0);
    expect(ids(drainAll(ring))).toEqual([2, 3, 4, 5]);
    expectCounts(ring, { written: 6, read: 5, dropped: 1 });
  });
});

describe('MetricsRing: deterministic races', () => {
  it('single-writer lane: a drain in the middle of a write over an unread slot drops that record, never returns it or the half-written one', () => {
    const capacity = 4;
    const ring = MetricsRing.create({ capacity, lanes: 1 });
    for (let i = 0; i < 4; i++) ring.write(nth(i)); // unread
    const during: MetricRecord[] = [];
    const b = nth(4);
    ring.write({
      ...b,
      // encode() reads this after begun is stored and before any payload store.
      get timestamp(): number {
        for (const r of drainAll(ring)) during.push(r);
        // Ticket 4 is not committed yet: not written, not pending.
        expectCounts(ring, { written: 4, read: 3, dropped: 1 });
        return b.timestamp;
      },
    });
    // Ticket 0's slot is being overwritten: dropped; 1..3 are intact.
    expect(during).toEqual([nth(1), nth(2), nth(3)]);
    expectCounts(ring, { written: 5, read: 3, dropped: 1, pending: 1 });
    expect(drainAll(ring)).toEqual([nth(4)]);
    expectCounts(ring, { written: 5, read: 4, dropped: 1 });
  });

  it('single-writer lane: a drain in the middle of a write over a slot already read sees nothing, loses nothing', () => {
    const ring = MetricsRing.create({ capacity: 4, lanes: 1 });
    for (let i = 0; i < 4; i++) ring.write(nth(i));
    expect(drainAll(ring)).toHaveLength(4);
    const b = nth(4);
    let during: MetricRecord[] = [nth(99)];
    ring.write({
      ...b,
      get detailMs(): number {
        during = drainAll(ring);
        return b.detailMs;
      },
    });
    expect(during).toEqual([]);
    // The writer saw the reader's published cursor and skipped begun.
    expect(words(ring)[laneWord(4, 0) + L_CURSOR]).toBe(0);
    expect(drainAll(ring)).toEqual([nth(4)]);
    expectCounts(ring, { written: 5, read: 5, dropped: 0 });
  });

  /**
   * Shared lane. Writer A holds slot 0 (ticket 0), alive but slow. Writer B
   * (ticket 4, same slot) times out on the lock and takes it over. Some of A's
   * plain payload stores land in the slot while or after B writes: the slot
   * then holds neither A's record nor B's, and the checksum must expose that.
   * Whatever the reader hands out must be a record that was written, and the
   * counts must stay exact.
   */
  function takeOver(aStoresDuringB: boolean, aStoresAfterB: boolean): MetricRecord[] {
    const capacity = 4;
    const ring = MetricsRing.create({ capacity, lanes: 0 });
    const h = words(ring);
    const slot0 = slotWord(capacity, 0, 0);
    const ticketA = Atomics.add(h, laneWord(capacity, 0) + L_CURSOR, 1);
    Atomics.store(h, slot0 + S_STATE, 1); // A: locked
    Atomics.store(h, slot0 + S_SEQ, ticketA); // A: seq = 0
    for (let i = 1; i < 4; i++) ring.write(nth(i));
    const b = nth(4);
    const racing: MetricRecord = {
      ...b,
      // write() reads this while it holds (took over) the slot: A's store lands now.
      get detailMs(): number {
        if (aStoresDuringB) h[slot0 + 3] = 0xa; // A's agent id
        return b.detailMs;
      },
    };
    ring.write(racing);
    if (aStoresAfterB) h[slot0 + 4] = 0xab; // A's batch id, after B released the slot
    const got = drainAll(ring);
    for (const r of got) expect(r).toEqual(nth(r.agentId));
    expect(ids(got).slice(0, 3)).toEqual([1, 2, 3]);
    const c = ring.counters();
    expect(c.written).toBe(5);
    expect(c.read).toBe(got.length);
    expect(c.read + c.dropped).toBe(5);
    expect(c.pending).toBe(0);
    return got;
  }

  it('shared lane, a live slow writer whose lock was taken over: a store of its landing mid-write is not returned mixed', () => {
    const got = takeOver(true, false);
    // Either B's record intact or nothing for ticket 4; never A's agent id with B's fields.
    expect(got.length === 3 || got[3]?.agentId === 4).toBe(true);
  });

  it('shared lane, a live slow writer whose lock was taken over: a store of its landing after the takeover is caught', () => {
    expect(ids(takeOver(false, true))).toEqual([1, 2, 3]);
  });

  it('shared lane, a live slow writer whose lock was taken over: stores landing during and after are caught', () => {
    expect(ids(takeOver(true, true))).toEqual([1, 2, 3]);
  });

  it('shared lane: a stale payload under a newer seq (holder released after a takeover) is not returned as the newer record', () => {
    // Writer X wrote ticket 0 completely but has not released slot 0 yet. Writer B
    // (ticket 4, same slot) takes the lock over and stores seq = 4; before B writes
    // its payload, X releases the slot and the reader drains. The slot then shows
    // state 0, seq 4 and X's complete record for ticket 0: the checksum, which
    // binds the payload to its ticket, must reject it.
    const capacity = 4;
    const ring = MetricsRing.create({ capacity, lanes: 0 });
    const h = words(ring);
    const slot0 = slotWord(capacity, 0, 0);
    ring.write(nth(0));
    Atomics.store(h, slot0 + S_STATE, 1); // X still holds the lock
    for (let i = 1; i < 4; i++) ring.write(nth(i));
    const got: MetricRecord[] = [];
    const b = nth(4);
    let raced = false;
    ring.write({
      ...b,
      get agentId(): number {
        if (!raced) {
          raced = true;
          expect(Atomics.load(h, slot0 + S_SEQ)).toBe(4); // B stored its seq
          Atomics.store(h, slot0 + S_STATE, 0); // X releases
          got.push(...drainAll(ring)); // and the reader runs now
        }
        return b.agentId;
      },
    });
    expect(raced).toBe(true);
    got.push(...drainAll(ring));
    for (const r of got) expect(r).toEqual(nth(r.agentId));
    // Strictly increasing: X's record 0 must not come back after 1..3.
    expect(ids(got)).toEqual([1, 2, 3]);
    expectCounts(ring, { written: 5, read: 3, dropped: 2, invalid: 1 });
  });
});

describe('MetricsRing: corruption', () => {
  // Single-writer lanes check seq, checksum and reserved words: every byte from 4 to 63.
  // The shared lane's state and seq words are its protocol (a flip there reads as another
  // writer's ticket or lock), so there every byte of the checksum and payload, 8..63.
  const cases: [string, number, number[]][] = [
    ['single-writer lane', 1, range(4, 64)],
    ['shared lane', 0, range(8, 64)],
  ];
  for (const [kind, lanes, offsets] of cases) {
    it.each(offsets)(`${kind}: a bit flipped at slot byte %i drops the record as invalid, its neighbours survive`, (offset) => {
      const ring = MetricsRing.create({ capacity: 8, lanes });
      for (let i = 0; i < 4; i++) ring.write(nth(i));
      const bytes = new Uint8Array(ring.buffer);
      bytes[slotByte(8, 0, 2) + offset]! ^= 1 << (offset % 8);
      expect(drainAll(ring)).toEqual([nth(0), nth(1), nth(3)]);
      expectCounts(ring, { written: 4, read: 3, dropped: 1, invalid: 1 });
      // Later records are unaffected.
      ring.write(nth(4));
      expect(drainAll(ring)).toEqual([nth(4)]);
      expectCounts(ring, { written: 5, read: 4, dropped: 1, invalid: 1 });
    });
  }

  it('a slot whose stage byte is garbage is not returned', () => {
    for (const lanes of [1, 0]) {
      const ring = MetricsRing.create({ capacity: 4, lanes });
      ring.write(nth(0));
      new Uint8Array(ring.buffer)[slotByte(4, 0, 0) + 20] = 9; // stage 9 does not exist
      expect(drainAll(ring)).toEqual([]);
      expectCounts(ring, { written: 1, read: 0, dropped: 1, invalid: 1 });
    }
  });

  it('single-writer lane: a complete record of another ticket in the slot (right checksum, wrong seq) is not returned', () => {
    const ring = MetricsRing.create({ capacity: 4, lanes: 1 });
    for (let i = 0; i < 3; i++) ring.write(nth(i));
    const h = words(ring);
    h.copyWithin(slotWord(4, 0, 1), slotWord(4, 0, 0), slotWord(4, 0, 1)); // ticket 0's record in ticket 1's slot
    expect(drainAll(ring)).toEqual([nth(0), nth(2)]);
    expectCounts(ring, { written: 3, read: 2, dropped: 1, invalid: 1 });
  });
});

describe('MetricsRing: drain robustness', () => {
  it.each([1, 0])('lanes %i: a visitor that throws does not get records again on the next drain', (lanes) => {
    const ring = MetricsRing.create({ capacity: 8, lanes });
    for (let i = 0; i < 5; i++) ring.write(nth(i));
    const seen: number[] = [];
    expect(() =>
      ring.drain((r) => {
        seen.push(r.agentId);
        if (r.agentId === 2) throw new Error('visitor failed');
      }),
    ).toThrow('visitor failed');
    ring.drain((r) => seen.push(r.agentId));
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expectCounts(ring, { written: 5, read: 5, dropped: 0 });
  });
});

describe('MetricsRing: attach', () => {
  it('a second view on the same buffer writes records the creator reads', () => {
    const ring = MetricsRing.create({ capacity: 16, startCursor: 2 ** 32 - 3 });
    const view = MetricsRing.attach(ring.buffer);
    expect(view.capacity).toBe(16);
    expect(view.lanes).toBe(DEFAULT_RING_LANES);
    expect(view.buffer).toBe(ring.buffer);
    const written: MetricRecord[] = [];
    for (let i = 0; i < 10; i++) {
      const r = rec({ agentId: i, writerThreadId: i % 2 === 0 ? 7 : 0, durationMs: i * 1.25 });
      (i % 2 === 0 ? view : ring).write(r);
      written.push(r);
    }
    // The view wrote first: lane 0, then the creator's lane 1.
    expect(drainAll(ring)).toEqual([...written.filter((_, i) => i % 2 === 0), ...written.filter((_, i) => i % 2 === 1)]);
    expectCounts(ring, { written: 10, read: 10, dropped: 0 });
    expect(ring.counters().totals.spawn.ok).toBe(10);
    expect(view.counters().totals.spawn.ok).toBe(10);
  });

  it('attach to a buffer that is not a ring throws', () => {
    expect(() => MetricsRing.attach(new SharedArrayBuffer(ringBytes(8)))).toThrow(/magic/);
    const random = new SharedArrayBuffer(256);
    new Uint8Array(random).set(Array.from({ length: 256 }, (_, i) => (i * 37 + 11) & 0xff));
    expect(() => MetricsRing.attach(random)).toThrow();
    expect(() => MetricsRing.attach(new SharedArrayBuffer(0))).toThrow();
    expect(new Int32Array(MetricsRing.create({ capacity: 2 }).buffer)[H_MAGIC]).toBe(0x5350524c);
  });
});
