import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { MetricsRing } from '../../src/metrics/ring.ts';
import type { MetricRecord } from '../../src/metrics/record.ts';
import { recordStream } from './fixtures/ring-gen.ts';

const W_CLAIM = 2;

const capacityArb = fc.integer({ min: 1, max: 8 }).map((k) => 2 ** k); // 2 .. 256
const startArb = fc.oneof(
  fc.constantFrom(0, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32 - 2, 2 ** 32 - 256),
  fc.nat({ max: 1024 }).map((d) => 2 ** 32 - 1 - d), // just below the wrap
  fc.tuple(fc.nat(0xffff), fc.nat(0xffff)).map(([hi, lo]) => hi * 0x10000 + lo), // anywhere
);

type Op = { t: 'write'; writer: number; n: number } | { t: 'drain' } | { t: 'stall' };

const writeOp = fc.record({ t: fc.constant('write' as const), writer: fc.nat(7), n: fc.integer({ min: 1, max: 40 }) });
const drainOp = fc.constant({ t: 'drain' as const });
const stallOp = fc.constant({ t: 'stall' as const });

/**
 * Drives a ring from one thread with several logical writers, and keeps a
 * model of it: which ticket holds which (writer, seq), which tickets were
 * claimed without a commit, where the reader is. In one thread the ring is
 * deterministic, so the model predicts each drain exactly.
 */
class Harness {
  readonly ring: MetricsRing;
  readonly #streams: Generator<MetricRecord, never, void>[];
  readonly #nextSeq: number[];
  /** ticket offset (from start) -> record written with it, or null if stalled. */
  readonly #byTicket: (MetricRecord | null)[] = [];
  #modelCursor = 0;
  readonly written = new Map<string, MetricRecord>();
  readonly readKeys = new Set<string>();
  readonly lastSeq: number[];
  modelDropped = 0;

  constructor(
    readonly capacity: number,
    start: number,
    readonly writers: number,
    seed: number,
  ) {
    this.ring = MetricsRing.create({ capacity, startCursor: start });
    this.#streams = Array.from({ length: writers }, (_, w) => recordStream(seed, w));
    this.#nextSeq = Array.from({ length: writers }, () => 0);
    this.lastSeq = Array.from({ length: writers }, () => -1);
  }

  get claimed(): number {
    return this.#byTicket.length;
  }

  write(writer: number): void {
    const w = writer % this.writers;
    const r = this.#streams[w]!.next().value;
    expect(r.agentId).toBe(this.#nextSeq[w]);
    this.#nextSeq[w]!++;
    this.written.set(`${w}:${r.agentId}`, r);
    this.#byTicket.push(r);
    this.ring.write(r);
  }

  /** A ticket claimed by a writer that never commits it. */
  stall(): void {
    Atomics.add(new Int32Array(this.ring.buffer, 0, 16), W_CLAIM, 1);
    this.#byTicket.push(null);
  }

  /** What the model says the next drain returns. */
  #modelDrain(): MetricRecord[] {
    const out: MetricRecord[] = [];
    const claim = this.#byTicket.length;
    let r = this.#modelCursor;
    while (r !== claim) {
      if (claim - r > this.capacity) {
        this.modelDropped += claim - r - this.capacity;
        r = claim - this.capacity;
        continue;
      }
      const rec = this.#byTicket[r];
      if (rec === null || rec === undefined) break; // stalled: blocks the reader
      out.push(rec);
      r++;
    }
    this.#modelCursor = r;
    return out;
  }

  drain(): MetricRecord[] {
    const want = this.#modelDrain();
    const got: MetricRecord[] = [];
    const visited = this.ring.drain((r) => got.push(r));
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
    expect(c.written).toBe(this.claimed);
    expect(c.read).toBe(this.readKeys.size);
    expect(c.dropped).toBe(this.modelDropped);
    expect(c.invalid).toBe(0);
    expect(c.read + c.dropped + c.pending).toBe(c.written);
    return got;
  }
}

describe('MetricsRing properties (single thread, several logical writers)', () => {
  it('every record read was written, once, in writer order; a final drain accounts for every record', () => {
    fc.assert(
      fc.property(
        capacityArb,
        startArb,
        fc.integer({ min: 1, max: 4 }),
        fc.integer(),
        fc.array(fc.oneof({ arbitrary: writeOp, weight: 3 }, { arbitrary: drainOp, weight: 1 }), { maxLength: 120 }),
        (capacity, start, writers, seed, ops) => {
          const h = new Harness(capacity, start, writers, seed);
          for (const op of ops as Op[]) {
            if (op.t === 'write') for (let i = 0; i < op.n; i++) h.write(op.writer);
            else h.drain();
          }
          h.drain();
          const c = h.ring.counters();
          expect(c.read + c.dropped).toBe(c.written);
          expect(c.written).toBe(h.written.size);
          expect(c.pending).toBe(0);
          expect(c.invalid).toBe(0);
          // The newest min(capacity, written) records always survive a final drain.
          expect(c.read).toBeGreaterThanOrEqual(Math.min(capacity, c.written));
          // Per-stage totals count every write, kept or not.
          const t = c.totals;
          expect(t.build.ok + t.build.failed + t.spawn.ok + t.spawn.failed + t.exit.ok + t.exit.failed).toBe(c.written);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a reader that drains at least every `capacity` writes loses nothing', () => {
    fc.assert(
      fc.property(
        capacityArb,
        startArb,
        fc.integer({ min: 1, max: 4 }),
        fc.integer(),
        fc.array(fc.array(fc.nat(7), { maxLength: 256 }), { maxLength: 40 }),
        (capacity, start, writers, seed, chunks) => {
          const h = new Harness(capacity, start, writers, seed);
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

  it('claimed-but-uncommitted tickets block the reader until lapped; counts stay exact', () => {
    fc.assert(
      fc.property(
        capacityArb,
        startArb,
        fc.integer({ min: 1, max: 3 }),
        fc.integer(),
        fc.array(
          fc.oneof({ arbitrary: writeOp, weight: 4 }, { arbitrary: drainOp, weight: 2 }, { arbitrary: stallOp, weight: 1 }),
          { maxLength: 80 },
        ),
        (capacity, start, writers, seed, ops) => {
          const h = new Harness(capacity, start, writers, seed);
          for (const op of ops as Op[]) {
            if (op.t === 'write') for (let i = 0; i < op.n; i++) h.write(op.writer);
            else if (op.t === 'stall') h.stall();
            else h.drain();
          }
          h.drain();
          // `capacity` more committed writes lap every stalled ticket: nothing is pending after.
          for (let i = 0; i < capacity; i++) h.write(i);
          h.drain();
          const c = h.ring.counters();
          expect(c.pending).toBe(0);
          expect(c.read + c.dropped).toBe(c.written);
          expect(c.invalid).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
