import { describe, it, expect } from 'vitest';
import { MetricsRing, MAX_RING_CAPACITY, ringBytes, isPowerOfTwo } from '../../src/metrics/ring.ts';
import type { MetricRecord, RecordStage } from '../../src/metrics/record.ts';

// Layout constants, restated from the table at the top of ring.ts.
const HEADER_BYTES = 64;
const SLOT_BYTES = 64;
const W_CLAIM = 2;
const W_READ_CURSOR = 3;
const W_DROPPED = 4;
const W_INVALID = 5;
const W_READ = 6;
const W_START = 7;
const slotByte = (slot: number): number => HEADER_BYTES + SLOT_BYTES * slot;
const slotWord = (slot: number): number => slotByte(slot) / 4;

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

/** Record number `n` of a simple numbered stream. */
const nth = (n: number): MetricRecord => rec({ agentId: n, durationMs: n + 0.5, detailMs: n / 8 });

function drainAll(ring: MetricsRing): MetricRecord[] {
  const out: MetricRecord[] = [];
  const visited = ring.drain((r) => out.push(r));
  expect(visited).toBe(out.length);
  return out;
}

const ids = (rs: readonly MetricRecord[]): number[] => rs.map((r) => r.agentId);
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** `read + dropped === written` with nothing pending, plus the expected values. */
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
    written.push(rec({ stage: 'exit', ok: false, errorCode: 1, agentId: 0, batchId: 0, writerThreadId: 0, pid: 0, timestamp: 0.1, durationMs: -0, detailMs: Number.MIN_VALUE }));
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
    for (const batch of [1, 3, 0, 8, 2, 7, 5]) {
      for (let i = 0; i < batch; i++) ring.write(nth(next++));
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

  it('publishes the reader counters and cursor in the header after a drain', () => {
    const ring = MetricsRing.create({ capacity: 4 });
    for (let i = 0; i < 10; i++) ring.write(nth(i));
    drainAll(ring);
    const h = new Int32Array(ring.buffer, 0, 16);
    expect(h[W_READ_CURSOR]! >>> 0).toBe(10);
    expect(h[W_DROPPED]).toBe(6);
    expect(h[W_INVALID]).toBe(0);
    expect(h[W_READ]).toBe(4);
    expect(h[W_CLAIM]! >>> 0).toBe(10);
  });
});

describe('MetricsRing: capacity', () => {
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

  it.each([2, 4, 64, 1024, 1 << 16])('accepts capacity %i and sizes the buffer for it', (capacity) => {
    const ring = MetricsRing.create({ capacity });
    expect(ring.capacity).toBe(capacity);
    expect(ring.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(ring.buffer.byteLength).toBe(ringBytes(capacity));
    expect(ring.buffer.byteLength).toBe(HEADER_BYTES + SLOT_BYTES * capacity);
  });

  it('isPowerOfTwo and the upper bound', () => {
    expect([1, 2, 4, 1 << 30].every(isPowerOfTwo)).toBe(true);
    expect([0, 3, -4, 0.5, 6, Number.NaN].some(isPowerOfTwo)).toBe(false);
    expect(MAX_RING_CAPACITY).toBe(2 ** 24);
  });
});

describe('MetricsRing: a reader that falls behind', () => {
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
    const ring = MetricsRing.create({ capacity });
    const n = capacity + k;
    for (let i = 0; i < n; i++) ring.write(nth(i));
    const got = drainAll(ring);
    expect(ids(got)).toEqual(range(k, n));
    expect(got).toEqual(range(k, n).map(nth));
    expectCounts(ring, { written: n, read: capacity, dropped: k });
    // A second drain finds nothing more and changes nothing.
    expect(drainAll(ring)).toEqual([]);
    expectCounts(ring, { written: n, read: capacity, dropped: k });
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

  it('keeps exact per-stage totals even when records are overwritten', () => {
    const ring = MetricsRing.create({ capacity: 4 });
    const want = { build: { ok: 0, failed: 0 }, spawn: { ok: 0, failed: 0 }, exit: { ok: 0, failed: 0 } };
    const stages: RecordStage[] = ['build', 'spawn', 'exit'];
    for (let i = 0; i < 1000; i++) {
      const stage = stages[(i * 7) % 3]!;
      const ok = i % 5 !== 0;
      ring.write(rec({ stage, ok, errorCode: ok ? 0 : 3, agentId: i }));
      want[stage][ok ? 'ok' : 'failed']++;
      if (i % 97 === 0) drainAll(ring);
    }
    // Totals come straight from the header: exact before and after a drain.
    expect(ring.counters().totals).toEqual(want);
    drainAll(ring);
    const c = ring.counters();
    expect(c.totals).toEqual(want);
    expect(c.dropped).toBeGreaterThan(900);
    expect(c.read + c.dropped).toBe(1000);
  });
});

describe('MetricsRing: cursors wrapping at 2^32', () => {
  it('startCursor 2^32 - 5: order and counts across the boundary', () => {
    const start = 2 ** 32 - 5;
    const ring = MetricsRing.create({ capacity: 8, startCursor: start });
    const h = new Int32Array(ring.buffer, 0, 16);
    expect(h[W_START]! >>> 0).toBe(start);
    expect(h[W_CLAIM]! >>> 0).toBe(start);
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) ring.write(nth(i));
    seen.push(...ids(drainAll(ring)));
    for (let i = 3; i < 13; i++) ring.write(nth(i)); // tickets 2^32-2 .. 7 (wrapped)
    expect(h[W_CLAIM]! >>> 0).toBe(8);
    // 13 written, 3 read, 10 behind > capacity 8: 2 dropped.
    seen.push(...ids(drainAll(ring)));
    expect(seen).toEqual([0, 1, 2, ...range(5, 13)]);
    expectCounts(ring, { written: 13, read: 11, dropped: 2 });
    for (let i = 13; i < 20; i++) {
      ring.write(nth(i));
      seen.push(...ids(drainAll(ring)));
    }
    expect(seen).toEqual([0, 1, 2, ...range(5, 20)]);
    expectCounts(ring, { written: 20, read: 18, dropped: 2 });
  });

  it('startCursor 2^32 - 5 with a lagging reader: the newest capacity records survive', () => {
    const ring = MetricsRing.create({ capacity: 4, startCursor: 2 ** 32 - 5 });
    for (let i = 0; i < 11; i++) ring.write(nth(i));
    expect(ids(drainAll(ring))).toEqual([7, 8, 9, 10]);
    expectCounts(ring, { written: 11, read: 4, dropped: 7 });
  });

  const starts = [2 ** 32 - 1, 2 ** 32 - 2, 2 ** 32 - 5, 2 ** 32 - 8, 2 ** 32 - 64, 2 ** 31 - 3, 2 ** 31, 0, 5];
  it.each(starts)('startCursor %i: drain every capacity writes, nothing lost or duplicated', (start) => {
    for (const capacity of [2, 4, 8, 64]) {
      const ring = MetricsRing.create({ capacity, startCursor: start });
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
    for (const capacity of [2, 8, 32]) {
      const ring = MetricsRing.create({ capacity, startCursor: start });
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
      expect(new Int32Array(ring.buffer, 0, 16)[W_CLAIM]! >>> 0).toBe((start + next) % 2 ** 32);
    }
  });
});

describe('MetricsRing: corruption and stuck writers', () => {
  // Every byte of the checksum and the payload (8..63), one bit flipped at a time.
  const offsets = range(8, 64);
  it.each(offsets)('a bit flipped at slot byte %i: the record is dropped as invalid, its neighbours survive', (offset) => {
    const ring = MetricsRing.create({ capacity: 8 });
    for (let i = 0; i < 4; i++) ring.write(nth(i));
    const bytes = new Uint8Array(ring.buffer);
    bytes[slotByte(2) + offset]! ^= 1 << (offset % 8);
    const got = drainAll(ring);
    expect(got).toEqual([nth(0), nth(1), nth(3)]);
    expectCounts(ring, { written: 4, read: 3, dropped: 1, invalid: 1 });
    // Later records are unaffected.
    ring.write(nth(4));
    expect(drainAll(ring)).toEqual([nth(4)]);
    expectCounts(ring, { written: 5, read: 4, dropped: 1, invalid: 1 });
  });

  it('a slot whose stage byte is garbage is not returned', () => {
    const ring = MetricsRing.create({ capacity: 4 });
    ring.write(nth(0));
    const bytes = new Uint8Array(ring.buffer);
    bytes[slotByte(0) + 20] = 9; // stage 9 does not exist
    expect(drainAll(ring)).toEqual([]);
    expectCounts(ring, { written: 1, read: 0, dropped: 1, invalid: 1 });
  });

  it('a claimed-but-uncommitted record blocks the drain until it is overwritten', () => {
    const capacity = 8;
    const ring = MetricsRing.create({ capacity });
    const h = new Int32Array(ring.buffer);
    ring.write(nth(0)); // ticket 0
    ring.write(nth(1)); // ticket 1
    Atomics.add(h, W_CLAIM, 1); // ticket 2: claimed by a writer that never commits
    for (let i = 3; i < 6; i++) ring.write(nth(i)); // tickets 3..5

    expect(ids(drainAll(ring))).toEqual([0, 1]);
    expectCounts(ring, { written: 6, read: 2, dropped: 0, pending: 4 });
    expect(drainAll(ring)).toEqual([]);

    // Tickets 6..9: claim = 10, the reader is exactly `capacity` behind: still blocked.
    for (let i = 6; i < 10; i++) ring.write(nth(i));
    expect(drainAll(ring)).toEqual([]);
    expectCounts(ring, { written: 10, read: 2, dropped: 0, pending: 8 });

    // Ticket 10 reuses slot 2: ticket 2 is now lapped and counted dropped (not invalid).
    ring.write(nth(10));
    expect(ids(drainAll(ring))).toEqual(range(3, 11));
    expectCounts(ring, { written: 11, read: 10, dropped: 1 });

    ring.write(nth(11));
    expect(ids(drainAll(ring))).toEqual([11]);
    expectCounts(ring, { written: 12, read: 11, dropped: 1 });
  });

  it('a writer that died holding the slot lock is taken over by the next writer of that slot', () => {
    const capacity = 4;
    const ring = MetricsRing.create({ capacity });
    const h = new Int32Array(ring.buffer);
    ring.write(nth(0)); // ticket 0
    // Ticket 1: claimed, slot locked, seq stored, then the writer died.
    const dead = Atomics.add(h, W_CLAIM, 1);
    Atomics.store(h, slotWord(dead & (capacity - 1)) + 0, 1);
    Atomics.store(h, slotWord(dead & (capacity - 1)) + 1, dead);
    ring.write(nth(2));
    ring.write(nth(3));
    expect(ids(drainAll(ring))).toEqual([0]);
    expectCounts(ring, { written: 4, read: 1, dropped: 0, pending: 3 });
    ring.write(nth(4)); // ticket 4, slot 0
    ring.write(nth(5)); // ticket 5, slot 1: spins on the dead lock, then takes it over
    expect(Atomics.load(h, slotWord(1))).toBe(0);
    expect(ids(drainAll(ring))).toEqual([2, 3, 4, 5]);
    expectCounts(ring, { written: 6, read: 5, dropped: 1 });
  });

  /**
   * Writer A holds slot 0 (ticket 0), alive but slow. Writer B (ticket 4, same
   * slot) times out on the lock and takes it over. Some of A's plain payload
   * stores land in the slot while or after B writes: the slot then holds
   * neither A's record nor B's, and the checksum must expose that (protocol
   * comment in ring.ts). Whatever the reader hands out must be a record that
   * was written, and the counts must stay exact.
   */
  function takeOver(aStoresDuringB: boolean, aStoresAfterB: boolean): MetricRecord[] {
    const capacity = 4;
    const ring = MetricsRing.create({ capacity });
    const h = new Int32Array(ring.buffer);
    const ticketA = Atomics.add(h, W_CLAIM, 1);
    Atomics.store(h, slotWord(0) + 0, 1); // A: state = 1 (locked)
    Atomics.store(h, slotWord(0) + 1, ticketA); // A: seq = 0
    for (let i = 1; i < 4; i++) ring.write(nth(i));
    const b = nth(4);
    const racing: MetricRecord = {
      ...b,
      // write() reads this while it holds (took over) the slot: A's store lands now.
      get detailMs(): number {
        if (aStoresDuringB) h[slotWord(0) + 3] = 0xa; // A's agent id
        return b.detailMs;
      },
    };
    ring.write(racing);
    if (aStoresAfterB) h[slotWord(0) + 4] = 0xab; // A's batch id, after B released the slot
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

  it('a live slow writer whose lock was taken over: a store of its landing mid-write is not returned mixed', () => {
    const got = takeOver(true, false);
    // Either B's record intact or nothing for ticket 4; never A's agent id with B's fields.
    expect(got.length === 3 || got[3]?.agentId === 4).toBe(true);
  });

  it('a live slow writer whose lock was taken over: a store of its landing after the takeover is caught', () => {
    expect(ids(takeOver(false, true))).toEqual([1, 2, 3]);
  });

  it('a live slow writer whose lock was taken over: stores landing during and after are caught', () => {
    expect(ids(takeOver(true, true))).toEqual([1, 2, 3]);
  });

  it('a stale payload under a newer seq (holder released after a takeover) is not returned as the newer record', () => {
    // Writer X wrote ticket 0 completely but has not released slot 0 yet. Writer B
    // (ticket 4, same slot) takes the lock over and stores seq = 4; before B writes
    // its payload, X releases the slot and the reader drains. The slot then shows
    // state 0, seq 4 and X's complete record for ticket 0: the checksum, which
    // binds the payload to its ticket, must reject it.
    const capacity = 4;
    const ring = MetricsRing.create({ capacity });
    const h = new Int32Array(ring.buffer);
    ring.write(nth(0));
    Atomics.store(h, slotWord(0), 1); // X still holds the lock
    for (let i = 1; i < 4; i++) ring.write(nth(i));
    const got: MetricRecord[] = [];
    const b = nth(4);
    let raced = false;
    ring.write({
      ...b,
      get agentId(): number {
        if (!raced) {
          raced = true;
          expect(Atomics.load(h, slotWord(0) + 1)).toBe(4); // B stored its seq
          Atomics.store(h, slotWord(0), 0); // X releases
          ring.drain((r) => got.push(r)); // and the reader runs now
        }
        return b.agentId;
      },
    });
    expect(raced).toBe(true);
    ring.drain((r) => got.push(r));
    for (const r of got) expect(r).toEqual(nth(r.agentId));
    // Strictly increasing: X's record 0 must not come back after 1..3.
    expect(ids(got)).toEqual([1, 2, 3]);
    expectCounts(ring, { written: 5, read: 3, dropped: 2, invalid: 1 });
  });
});

describe('MetricsRing: drain robustness', () => {
  it('a visitor that throws does not get records again on the next drain', () => {
    const ring = MetricsRing.create({ capacity: 8 });
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
    expect(view.buffer).toBe(ring.buffer);
    const written: MetricRecord[] = [];
    for (let i = 0; i < 10; i++) {
      const r = rec({ agentId: i, writerThreadId: i % 2 === 0 ? 7 : 0, durationMs: i * 1.25 });
      (i % 2 === 0 ? view : ring).write(r);
      written.push(r);
    }
    expect(drainAll(ring)).toEqual(written);
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
  });
});
