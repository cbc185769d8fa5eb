/**
 * The metrics ring: a SharedArrayBuffer that many threads write fixed-size
 * metric records into (every build worker and the main thread) and one thread
 * reads (the main thread). Multi-producer, single-consumer, overwriting: a
 * writer never waits for the reader; a reader that falls more than `capacity`
 * records behind loses the oldest ones, and counts them.
 *
 * ## Byte layout (all integers little-endian, as the platform's typed arrays)
 *
 * Header, 64 bytes:
 *
 * | offset | type | field          | written by                                   |
 * |-------:|------|----------------|----------------------------------------------|
 * |      0 | u32  | magic `SPRG`    | creator                                      |
 * |      4 | u32  | capacity       | creator (power of two, slots)                |
 * |      8 | u32  | claim cursor   | writers, `Atomics.add` (wraps at 2^32)       |
 * |     12 | u32  | read cursor    | reader, `Atomics.store` (published for views)|
 * |     16 | u32  | dropped        | reader: lapped + torn/invalid records        |
 * |     20 | u32  | invalid        | reader: the part of dropped that failed checks |
 * |     24 | u32  | read           | reader: valid records handed out             |
 * |     28 | u32  | start cursor   | creator                                      |
 * | 32..55 | u32×6| committed totals: build ok, build failed, spawn ok, spawn failed, exit ok, exit failed | writers, `Atomics.add` |
 * | 56..63 |      | reserved       |                                              |
 *
 * Slot `i` (64 bytes) starts at byte `64 + 64 * i`:
 *
 * | offset | type | field                                                  |
 * |-------:|------|--------------------------------------------------------|
 * |      0 | i32  | state: 0 = idle/committed, 1 = being written (CAS lock) |
 * |      4 | u32  | seq: the ticket (claim cursor value) of the record held |
 * |      8 | u32  | checksum of seq and bytes 12..63                        |
 * |     12 | u32  | agent id                                               |
 * |     16 | u32  | batch id                                               |
 * |     20 | u32  | stage (bits 0-7), ok (bits 8-15), error code (bits 16-31) |
 * |     24 | u32  | writer thread id                                       |
 * |     28 | u32  | pid                                                    |
 * |     32 | f64  | timestamp (ms since epoch)                             |
 * |     40 | f64  | durationMs                                             |
 * |     48 | f64  | detailMs                                               |
 * |     56 | u32×2| reserved, zero (covered by the checksum)                |
 *
 * ## Protocol
 * A writer takes a ticket `t` with `Atomics.add` on the claim cursor; its slot
 * is `t & (capacity - 1)`. It locks the slot (CAS state 0→1), refuses to
 * overwrite a newer ticket, stores `seq = t`, writes the payload with plain
 * typed-array stores, then the checksum (of `t` and the values it meant to
 * write, never re-read from the slot), then adds to the committed totals and
 * releases (`state = 0`). A write refused because the slot holds a newer
 * ticket still counts in the totals: they count every record written,
 * whatever the window keeps.
 * Float64 words cannot be stored atomically, so the reader uses the slot as a
 * seqlock: it loads seq then state, copies the checksum and payload, loads seq
 * and state again; the copy is valid only if both loads saw `state == 0` and
 * `seq == expected ticket` and the checksum of the copy matches. Tickets are
 * compared with 32-bit modular arithmetic (`(a - b) | 0`), so the cursors may wrap.
 *
 * A writer that finds a slot locked for too long assumes its holder died
 * mid-write (a worker terminated by its resource limits) and takes the slot
 * over; should the holder be alive after all, the checksum, which binds the
 * payload to `seq`, exposes the mixed record and the reader drops it.
 */
import { STAGE, STAGE_BY_NUMBER, type MetricRecord } from './record.ts';

const MAGIC = 0x53505247; // 'SPRG'
const HEADER_BYTES = 64;
const SLOT_BYTES = 64;
const SLOT_WORDS = SLOT_BYTES / 4;

// Header word indexes (Int32Array over the whole buffer).
const H_MAGIC = 0;
const H_CAPACITY = 1;
const H_CLAIM = 2;
const H_READ_CURSOR = 3;
const H_DROPPED = 4;
const H_INVALID = 5;
const H_READ = 6;
const H_START = 7;
const H_TOTALS = 8; // six words: (stage - 1) * 2 + (ok ? 0 : 1)

// Slot word offsets (Int32 words from the slot start).
const S_STATE = 0;
const S_SEQ = 1;
const S_CHECKSUM = 2;
const S_AGENT = 3;
const S_BATCH = 4;
const S_KIND = 5;
const S_THREAD = 6;
const S_PID = 7;
// Float64 offsets from the slot start, in f64 words.
const F_TIMESTAMP = 4;
const F_DURATION = 5;
const F_DETAIL = 6;

/** Spins on a locked slot before assuming its writer died mid-write. */
const LOCK_SPIN_LIMIT = 1 << 16;

export const MAX_RING_CAPACITY = 1 << 24;

export interface RingOptions {
  /** Number of slots: a power of two, 2 .. 2^24. */
  capacity: number;
  /** First ticket. Only tests set this, to start the cursors near 2^32. */
  startCursor?: number;
}

/** Counters since the ring was created. `read + dropped === written` once the reader has caught up. */
export interface RingCounters {
  /** Records claimed by writers (exact, not limited to 2^32). */
  written: number;
  /** Valid records handed to the reader. */
  read: number;
  /** Records lost: overwritten before they were read, or torn / failing their checksum. */
  dropped: number;
  /** The part of `dropped` that was torn or failed its checksum. */
  invalid: number;
  /** Records claimed but not yet committed, or not yet drained. */
  pending: number;
  /** Records written per stage and outcome (kept by the window or not), straight from the header atomics. */
  totals: Record<'build' | 'spawn' | 'exit', { ok: number; failed: number }>;
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export function ringBytes(capacity: number): number {
  return HEADER_BYTES + capacity * SLOT_BYTES;
}

/**
 * A view of a metrics ring. `create` on the main thread, `attach` on a worker
 * to the same SharedArrayBuffer. Any view may `write`; only one view, the
 * creator's, may `drain`.
 */
export class MetricsRing {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  readonly #i32: Int32Array;
  readonly #mask: number;
  // Reader state; meaningful only on the one view that drains.
  // #cursor: next ticket to read. #lastClaim: claim cursor at the previous drain.
  #cursor: number;
  #lastClaim: number;
  #written = 0;
  #read = 0;
  #dropped = 0;
  #invalid = 0;
  // Scratch: write() puts the three floats here to read their 32-bit halves; drain() copies a slot's words 0..15.
  readonly #wF64 = new Float64Array(3);
  readonly #wI32 = new Int32Array(this.#wF64.buffer);
  readonly #rI32 = new Int32Array(SLOT_WORDS);
  readonly #rF64 = new Float64Array(this.#rI32.buffer);

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#i32 = new Int32Array(buffer);
    if (this.#i32[H_MAGIC] !== MAGIC) throw new TypeError('not a spawnpool metrics ring (bad magic)');
    this.capacity = this.#i32[H_CAPACITY]!;
    this.#mask = this.capacity - 1;
    // Readers of another view start where the creator started; only the creator drains.
    this.#cursor = this.#i32[H_START]! >>> 0;
    this.#lastClaim = this.#cursor;
  }

  /** Allocates a new ring. Throws a RangeError naming the bad capacity. */
  static create(options: RingOptions): MetricsRing {
    const { capacity } = options;
    if (!isPowerOfTwo(capacity) || capacity < 2 || capacity > MAX_RING_CAPACITY) {
      throw new RangeError(
        `Expected the ring \`capacity\` to be a power of two from 2 to ${MAX_RING_CAPACITY}, got \`${String(capacity)}\``,
      );
    }
    const start = (options.startCursor ?? 0) >>> 0;
    const buffer = new SharedArrayBuffer(ringBytes(capacity));
    const i32 = new Int32Array(buffer);
    i32[H_MAGIC] = MAGIC;
    i32[H_CAPACITY] = capacity;
    i32[H_CLAIM] = start | 0;
    i32[H_READ_CURSOR] = start | 0;
    i32[H_START] = start | 0;
    // Each slot holds, as far as the protocol can tell, the ticket one lap
    // before the first one that will land there: older than any real record.
    for (let slot = 0; slot < capacity; slot++) {
      const firstTicket = (start + ((slot - start) & (capacity - 1))) >>> 0;
      i32[HEADER_BYTES / 4 + slot * SLOT_WORDS + S_SEQ] = (firstTicket - capacity) | 0;
    }
    // Publishing happens when the buffer is posted to another thread
    // (postMessage is a synchronisation point), so plain stores suffice here.
    return new MetricsRing(buffer);
  }

  /** A view of an existing ring, for a writer on another thread. */
  static attach(buffer: SharedArrayBuffer): MetricsRing {
    return new MetricsRing(buffer);
  }

  /** Appends one record. Safe from any thread, never blocks on the reader. */
  write(r: MetricRecord): void {
    const i32 = this.#i32;
    const stage = STAGE[r.stage];
    const total = H_TOTALS + (stage - 1) * 2 + (r.ok ? 0 : 1);
    // SeqCst read-modify-write: every writer gets a distinct ticket.
    const ticket = Atomics.add(i32, H_CLAIM, 1) >>> 0;
    const base = HEADER_BYTES / 4 + (ticket & this.#mask) * SLOT_WORDS;

    // SeqCst CAS: exclusive ownership of the slot against a writer one lap away.
    let spins = 0;
    while (Atomics.compareExchange(i32, base + S_STATE, 0, 1) !== 0 && ++spins < LOCK_SPIN_LIMIT);

    // SeqCst load: which ticket the slot holds now.
    const held = Atomics.load(i32, base + S_SEQ) >>> 0;
    if (((held - ticket) | 0) > 0) {
      // A writer one lap ahead got here first; the reader will count ours as dropped.
      // The totals still count it: they do not depend on what the window keeps.
      Atomics.add(i32, total, 1);
      Atomics.store(i32, base + S_STATE, 0);
      return;
    }
    // SeqCst store before the payload: a reader that copied the old payload
    // sees the seq change on its re-check.
    Atomics.store(i32, base + S_SEQ, ticket | 0);

    // The checksum is computed from the values this writer means to store, never re-read from
    // the slot: a writer that took over a stale lock may share the slot with its holder, and the
    // checksum must bind this writer's values to `seq`, not whatever mix the slot holds by then.
    // The float fields go through a private scratch image to get at their 32-bit halves.
    const f = this.#wF64;
    f[0] = r.timestamp;
    f[1] = r.durationMs;
    f[2] = r.detailMs;
    const w = this.#wI32;
    const agent = r.agentId | 0;
    const batch = r.batchId | 0;
    const kind = stage | ((r.ok ? 1 : 0) << 8) | ((r.errorCode & 0xffff) << 16);
    const thread = r.writerThreadId | 0;
    const pid = r.pid | 0;
    const t0 = w[0]!, t1 = w[1]!, d0 = w[2]!, d1 = w[3]!, e0 = w[4]!, e1 = w[5]!;
    i32[base + S_AGENT] = agent;
    i32[base + S_BATCH] = batch;
    i32[base + S_KIND] = kind;
    i32[base + S_THREAD] = thread;
    i32[base + S_PID] = pid;
    i32[base + 8] = t0;
    i32[base + 9] = t1;
    i32[base + 10] = d0;
    i32[base + 11] = d1;
    i32[base + 12] = e0;
    i32[base + 13] = e1;
    i32[base + 14] = 0;
    i32[base + 15] = 0;
    let h = (0x811c9dc5 ^ ticket) | 0;
    h = mix(h, agent);
    h = mix(h, batch);
    h = mix(h, kind);
    h = mix(h, thread);
    h = mix(h, pid);
    h = mix(h, t0);
    h = mix(h, t1);
    h = mix(h, d0);
    h = mix(h, d1);
    h = mix(h, e0);
    h = mix(h, e1);
    h = mix(h, 0);
    h = mix(h, 0);
    i32[base + S_CHECKSUM] = h;

    // SeqCst RMW: exact per-stage totals, independent of what the window keeps.
    Atomics.add(i32, total, 1);
    // SeqCst store (release): commits the payload for a reader that loads state == 0 and seq == ticket.
    Atomics.store(i32, base + S_STATE, 0);
  }

  /**
   * Reads every committed record not yet read, in ticket order, calling
   * `visit` for each valid one. Stops at the first record that is claimed but
   * not yet committed: it and those after it are read by a later drain.
   * Returns the number of valid records visited. Only the creating view may drain.
   */
  drain(visit: (record: MetricRecord) => void): number {
    const i32 = this.#i32;
    const cap = this.capacity;
    // SeqCst load: every ticket below this has been claimed.
    const claim = Atomics.load(i32, H_CLAIM) >>> 0;
    this.#written += (claim - this.#lastClaim) >>> 0;
    this.#lastClaim = claim;

    let r = this.#cursor;
    let visited = 0;
    const copy = this.#rI32;
    while (r !== claim) {
      const behind = (claim - r) >>> 0;
      if (behind > cap) {
        // Those tickets' slots are (or will be) reused by newer tickets.
        const lost = behind - cap;
        this.#dropped += lost;
        r = (r + lost) >>> 0;
        continue;
      }
      const base = HEADER_BYTES / 4 + (r & this.#mask) * SLOT_WORDS;
      // SeqCst loads (acquire), seq first: the writer of r stores seq = r only after locking the
      // slot (state 1) and unlocks it only once the payload is in, so seq == r then state == 0
      // means ticket r is committed. The other order could see state 0 from before the lock and
      // seq == r from after it, and drop a record still being written as torn.
      const seq1 = Atomics.load(i32, base + S_SEQ) >>> 0;
      const state1 = Atomics.load(i32, base + S_STATE);
      const age = (seq1 - r) | 0;
      if (age > 0) {
        this.#dropped++;
        r = (r + 1) >>> 0;
        continue;
      }
      if (age < 0 || state1 !== 0) break; // claimed, not committed yet

      // Copy checksum and payload once; everything below checks and decodes the copy.
      for (let i = S_CHECKSUM; i < SLOT_WORDS; i++) copy[i] = i32[base + i]!;
      // SeqCst re-loads: anything a writer changed while we copied shows here.
      const seq2 = Atomics.load(i32, base + S_SEQ) >>> 0;
      const state2 = Atomics.load(i32, base + S_STATE);
      r = (r + 1) >>> 0;
      const record = decode(copy, this.#rF64, 0);
      if (seq2 !== seq1 || state2 !== 0 || copy[S_CHECKSUM] !== checksum(copy, 0, seq1) || record === undefined) {
        this.#dropped++;
        this.#invalid++;
        continue;
      }
      this.#read++;
      visited++;
      // Saved before the callback: if `visit` throws, what was handed out stays read.
      this.#cursor = r;
      visit(record);
    }
    this.#cursor = r;
    // Published for diagnostics views; the reader's own copy is authoritative.
    Atomics.store(i32, H_READ_CURSOR, r | 0);
    Atomics.store(i32, H_DROPPED, this.#dropped | 0);
    Atomics.store(i32, H_INVALID, this.#invalid | 0);
    Atomics.store(i32, H_READ, this.#read | 0);
    return visited;
  }

  /** Counters as of the last drain (written is refreshed now). */
  counters(): RingCounters {
    const claim = Atomics.load(this.#i32, H_CLAIM) >>> 0;
    const written = this.#written + ((claim - this.#lastClaim) >>> 0);
    const total = (stage: number, failed: number) => Atomics.load(this.#i32, H_TOTALS + (stage - 1) * 2 + failed) >>> 0;
    return {
      written,
      read: this.#read,
      dropped: this.#dropped,
      invalid: this.#invalid,
      pending: written - this.#read - this.#dropped,
      totals: {
        build: { ok: total(STAGE.build, 0), failed: total(STAGE.build, 1) },
        spawn: { ok: total(STAGE.spawn, 0), failed: total(STAGE.spawn, 1) },
        exit: { ok: total(STAGE.exit, 0), failed: total(STAGE.exit, 1) },
      },
    };
  }
}

/** FNV-style 32-bit mix of the ticket and payload words 3..15: cheap, and it changes when any bit does. */
function checksum(i32: Int32Array, base: number, ticket: number): number {
  let h = (0x811c9dc5 ^ ticket) | 0;
  for (let w = S_AGENT; w < SLOT_WORDS; w++) h = mix(h, i32[base + w]!);
  return h;
}

/** One step of {@link checksum}; write() unrolls it over the words it stores. */
function mix(h: number, word: number): number {
  h = Math.imul(h ^ word, 0x01000193);
  return h ^ (h >>> 15);
}

function decode(i32: Int32Array, f64: Float64Array, base: number): MetricRecord | undefined {
  const kind = i32[base + S_KIND]!;
  const stage = STAGE_BY_NUMBER[kind & 0xff];
  if (stage === undefined) return undefined;
  const f = base >> 1;
  return {
    stage,
    ok: ((kind >>> 8) & 0xff) === 1,
    errorCode: (kind >>> 16) & 0xffff,
    agentId: i32[base + S_AGENT]! >>> 0,
    batchId: i32[base + S_BATCH]! >>> 0,
    writerThreadId: i32[base + S_THREAD]! >>> 0,
    pid: i32[base + S_PID]! >>> 0,
    timestamp: f64[f + F_TIMESTAMP]!,
    durationMs: f64[f + F_DURATION]!,
    detailMs: f64[f + F_DETAIL]!,
  };
}
