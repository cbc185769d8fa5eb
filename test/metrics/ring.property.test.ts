import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { MetricsRing, type RingCounters } from '../../src/metrics/ring.ts';
import type { MetricRecord } from '../../src/metrics/record.ts';
import { recordStream } from '../support/ring-writer-records.ts';

// Layout, restated from the tables at the top of ring.ts.
const HEADER_BYTES = 64;
const LANE_HEADER_BYTES = 192;
const SLOT_BYTES = 64;
const L_CURSOR = 1; // begun, or the shared lane's claim cursor
const laneWord = (capacity: number, lane: number): number => (HEADER_BYTES + lane * (LANE_HEADER_BYTES + SLOT_BYTES * capacity)) / 4;
const slotWord = (capacity: number, lane: number, slot: number): number => laneWord(capacity, lane) + (LANE_HEADER_BYTES + SLOT_BYTES * slot) / 4;

const capacityArb = fc.integer({ min: 1, max: 8 }).map((k) => 2 ** k); // 2 .. 256
const startArb = fc.oneof(
  fc.constantFrom(0, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32 - 2, 2 ** 32 - 256),
  fc.nat({ max: 1024 }).map((d) => 2 ** 32 - 1 - d), // just below the wrap
  fc.tuple(fc.nat(0xffff), fc.nat(0xffff)).map(([hi, lo]) => hi * 0x10000 + lo), // anywhere
);

type Op = { t: 'write'; writer: number; n: number } | { t: 'drain' } | { t: 'die'; writer: number };
const writeOp = fc.record({ t: fc.constant('write' as const), writer: fc.nat(7), n: fc.integer({ min: 1, max: 40 }) });
const drainOp = fc.constant({ t: 'drain' as const });
const dieOp = fc.record({ t: fc.constant('die' as const), writer: fc.nat(7) });

type Totals = RingCounters['totals'];
const zeroTotals = (): Totals => ({ build: { ok: 0, failed: 0 }, spawn: { ok: 0, failed: 0 }, exit: { ok: 0, failed: 0 } });

/** A single-writer lane as the model sees it: its committed records by ticket offset, and the reader there. */
interface LaneModel {
  records: MetricRecord[];
  cursor: number;
  /** Offset of the record whose slot a writer that died mid-write had begun to overwrite. */
  lost: number | undefined;
}

/**
 * Drives a ring from one thread with several logical writers, each through
 * views of its own (a new one after it "dies", as a replacement worker would
 * attach), and keeps a model: which view claimed which lane, each lane's
 * records, the shared lane's tickets (null for one claimed by a writer that
 * died), where the reader is in each. In one thread the ring is
 * deterministic, so the model predicts each drain exactly.
 */
class Harness {
  readonly ring: MetricsRing;
  readonly #streams: Generator<MetricRecord, never, void>[];
  readonly #ringViews: (MetricsRing | undefined)[] = [];
  /** Lane of each writer's current view: an index, 'shared', or undefined before its first write. */
  readonly #laneOf: (number | 'shared' | undefined)[] = [];
  readonly #lanes: LaneModel[] = [];
  readonly #shared: (MetricRecord | null)[] = [];
  #sharedCursor = 0;
  readonly written = new Map<string, MetricRecord>();
  readonly readKeys = new Set<string>();
  readonly lastSeq: number[];
  readonly totals = zeroTotals();
  modelDropped = 0;

  constructor(
    readonly capacity: number,
    readonly lanes: number,
    readonly start: number,
    readonly writers: number,
    seed: number,
  ) {
    this.ring = MetricsRing.create({ capacity, lanes, startCursor: start });
    this.#streams = Array.from({ length: writers }, (_, w) => recordStream(seed, w));
    this.lastSeq = Array.from({ length: writers }, () => -1);
  }

  get modelWritten(): number {
    return this.#lanes.reduce((n, l) => n + l.records.length, 0) + this.#shared.length;
  }

  write(writer: number): void {
    const w = writer % this.writers;
    const view = (this.#ringViews[w] ??= MetricsRing.attach(this.ring.buffer));
    let lane = this.#laneOf[w];
    if (lane === undefined) {
      // Claims go in index order: the next free lane, else the shared one.
      lane = this.#lanes.length < this.lanes ? this.#lanes.push({ records: [], cursor: 0, lost: undefined }) - 1 : 'shared';
      this.#laneOf[w] = lane;
    }
    const r = this.#streams[w]!.next().value;
    this.written.set(`${w}:${r.agentId}`, r);
    if (lane === 'shared') this.#shared.push(r);
    else this.#lanes[lane]!.records.push(r);
    this.totals[r.stage][r.ok ? 'ok' : 'failed']++;
    view.write(r);
  }

  /**
   * The writer's thread dies in the middle of a write: in its own lane, after
   * begun and part of the payload, before the commit; in the shared lane,
   * after taking a ticket. Its next write comes from a new view.
   */
  die(writer: number): void {
    const w = writer % this.writers;
    const lane = this.#laneOf[w];
    this.#ringViews[w] = undefined;
    this.#laneOf[w] = undefined;
    if (lane === undefined) return; // never wrote: never claimed anything
    this.#streams[w]!.next(); // the record it was writing
    const h = new Int32Array(this.ring.buffer);
    if (lane === 'shared') {
      Atomics.add(h, laneWord(this.capacity, this.lanes) + L_CURSOR, 1);
      this.#shared.push(null);
      return;
    }
    const model = this.#lanes[lane]!;
    const n = (this.start + model.records.length) >>> 0;
    Atomics.store(h, laneWord(this.capacity, lane) + L_CURSOR, (n + 1) | 0);
    const slot = slotWord(this.capacity, lane, n & (this.capacity - 1));
    h[slot + 1] = n | 0; // seq
    h[slot + 3] = h[slot + 3]! ^ 0x5a5a; // part of the payload
    if (model.records.length >= this.capacity) model.lost = model.records.length - this.capacity;
  }

  /** What the model says the next drain returns: claimed lanes in index order, then the shared lane. */
  #modelDrain(): MetricRecord[] {
    const out: MetricRecord[] = [];
    for (const lane of this.#lanes) {
      const head = lane.records.length;
      if (head - lane.cursor > this.capacity) {
        this.modelDropped += head - lane.cursor - this.capacity;
        lane.cursor = head - this.capacity;
      }
      for (; lane.cursor < head; lane.cursor++) {
        if (lane.cursor === lane.lost) this.modelDropped++;
        else out.push(lane.records[lane.cursor]!);
      }
    }
    const claim = this.#shared.length;
    let r = this.#sharedCursor;
    while (r !== claim) {
      if (claim - r > this.capacity) {
        this.modelDropped += claim - r - this.capacity;
        r = claim - this.capacity;
        continue;
      }
      const rec = this.#shared[r];
      if (rec === null || rec === undefined) break; // claimed, never committed: blocks the reader
      out.push(rec);
      r++;
    }
    this.#sharedCursor = r;
    return out;
  }

  drain(): MetricRecord[] {
    const want = this.#modelDrain();
    const got: MetricRecord[] = [];
    const visited = this.ring.drain((r) => got.push({ ...r }));
    expect(visited).toBe(got.length);
    for (const r of got) {
      const key = `${r.writerThreadId}:${r.agentId}`;
      // Equal to one written...
      expect(this.written.get(key)).toEqual(r);
      // ...never read twice...
      expect(this.readKeys.has(key)).toBe(false);
      this.readKeys.add(key);
      // ...and in each writer's order.
      expect(r.agentId).toBeGreaterThan(this.lastSeq[r.writerThreadId]!);
      this.lastSeq[r.writerThreadId] = r.agentId;
    }
    expect(got).toEqual(want);
    const c = this.ring.counters();
    expect(c.written).toBe(this.modelWritten);
    expect(c.read).toBe(this.readKeys.size);
    expect(c.dropped).toBe(this.modelDropped);
    expect(c.invalid).toBe(0);
    expect(c.read + c.dropped + c.pending).toBe(c.written);
    // Per-stage totals count every committed write, kept or not.
    expect(c.totals).toEqual(this.totals);
    return got;
  }
}

const lanesArb = fc.integer({ min: 0, max: 3 });

describe('MetricsRing properties (single thread, several logical writers)', () => {
  it('every drain returns exactly what the model predicts; records are written ones, once, in writer order; counters and totals exact', () => {
    fc.assert(
      fc.property(
        capacityArb,
        lanesArb,
        startArb,
        fc.integer({ min: 1, max: 5 }),
        fc.integer(),
        fc.array(fc.oneof({ arbitrary: writeOp, weight: 4 }, { arbitrary: drainOp, weight: 2 }, { arbitrary: dieOp, weight: 1 }), { maxLength: 120 }),
        (capacity, lanes, start, writers, seed, ops) => {
          const h = new Harness(capacity, lanes, start, writers, seed);
          for (const op of ops as Op[]) {
            if (op.t === 'write') for (let i = 0; i < op.n; i++) h.write(op.writer);
            else if (op.t === 'die') h.die(op.writer);
            else h.drain();
          }
          h.drain();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('without deaths, a final drain accounts for every record', () => {
    fc.assert(
      fc.property(
        capacityArb,
        lanesArb,
        startArb,
        fc.integer({ min: 1, max: 5 }),
        fc.integer(),
        fc.array(fc.oneof({ arbitrary: writeOp, weight: 3 }, { arbitrary: drainOp, weight: 1 }), { maxLength: 120 }),
        (capacity, lanes, start, writers, seed, ops) => {
          const h = new Harness(capacity, lanes, start, writers, seed);
          for (const op of ops as Op[]) {
            if (op.t === 'write') for (let i = 0; i < op.n; i++) h.write(op.writer);
            else h.drain();
          }
          h.drain();
          const c = h.ring.counters();
          expect(c.read + c.dropped).toBe(c.written);
          expect(c.written).toBe(h.written.size);
          expect(c.pending).toBe(0);
          expect(c.read).toBeGreaterThanOrEqual(Math.min(capacity, c.written));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a reader that drains at least every `capacity` writes loses nothing', () => {
    fc.assert(
      fc.property(
        capacityArb,
        lanesArb,
        startArb,
        fc.integer({ min: 1, max: 5 }),
        fc.integer(),
        fc.array(fc.array(fc.nat(7), { maxLength: 256 }), { maxLength: 40 }),
        (capacity, lanes, start, writers, seed, chunks) => {
          const h = new Harness(capacity, lanes, start, writers, seed);
          for (const chunk of chunks) {
            // At most `capacity` writes, from interleaved writers, between drains.
            for (const w of chunk.slice(0, capacity)) h.write(w);
            h.drain();
          }
          const c = h.ring.counters();
          expect(c.dropped).toBe(0);
          expect(c.read).toBe(c.written);
          expect(c.pending).toBe(0);
          expect(h.readKeys.size).toBe(h.written.size);
        },
      ),
      { numRuns: 200 },
    );
  });
});
