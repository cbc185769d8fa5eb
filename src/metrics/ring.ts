/**
 * The metrics ring: a SharedArrayBuffer that many threads write fixed-size
 * metric records into (build workers, the launch thread, the main thread) and
 * one thread reads (the main thread). Overwriting: a writer never waits for
 * the reader; a reader that falls more than `capacity` records behind a lane
 * loses that lane's oldest records, and counts them.
 *
 * The ring is `lanes` single-writer lanes plus one shared lane. A view claims
 * a lane of its own at its first write (CAS on the lane's owner word: Piscina
 * gives every worker the same workerData, so lanes cannot be handed out
 * before). In its lane a writer needs no lock and no read-modify-write: it
 * alone moves that lane's cursor. Once every lane is owned, further views
 * write to the shared lane, which keeps the multi-writer protocol (a ticket
 * per record, a CAS lock per slot): slower, just as exact.
 *
 * A lane is never given back. A dead thread cannot be told from an idle one
 * through shared memory, and a lane handed to a replacement while its owner
 * still ran would have two writers. So a worker that dies (a build timeout, a
 * heap limit) keeps its lane, and what it committed stays readable and
 * counted; each replacement claims a fresh lane, and when none is left it
 * writes to the shared lane. Nothing is lost when lanes run out, only speed.
 *
 * ## Byte layout (all integers little-endian, as the platform's typed arrays)
 *
 * Ring header, 64 bytes:
 *
 * | offset | type | field                                                    | written by                |
 * |-------:|------|----------------------------------------------------------|---------------------------|
 * |      0 | u32  | magic `SPRL`                                             | creator                   |
 * |      4 | u32  | capacity: slots per lane (power of two)                  | creator                   |
 * |      8 | u32  | lanes: single-writer lanes (the shared lane follows them)| creator                   |
 * |     12 | u32  | start cursor: every lane's first ticket                  | creator                   |
 * |     16 | u32  | dropped: lapped + torn/invalid records                   | reader (published, below) |
 * |     20 | u32  | invalid: the part of dropped that failed checks          | reader (published, below) |
 * |     24 | u32  | read: valid records handed out                           | reader (published, below) |
 * | 28..63 |      | reserved                                                 |                           |
 *
 * Lane `l` (0 .. lanes; lane `lanes` is the shared one) starts at byte
 * `64 + l * (192 + 64 * capacity)`: a 192-byte lane header, then its slots.
 * The header is three cache lines, so that what is written on every record
 * (the totals) and what the reader loads on every record (begun) or stores
 * on every pass (its cursor) never share one: a shared line would move
 * between the writer's and the reader's cores on every record.
 *
 * | offset  | type  | field                                                                                 |
 * |--------:|-------|---------------------------------------------------------------------------------------|
 * |       0 | u32   | owner: 0 free, else threadId + 1 of the view that claimed it (CAS). Shared lane: 0    |
 * |       4 | u32   | single-writer lane: begun, the ticket + 1 of the last write that overwrote a slot the reader may not have read yet. Shared lane: claim cursor (`Atomics.add`) |
 * |   8..63 |       | reserved                                                                              |
 * |  64..87 | u32×6 | committed totals: build ok, build failed, spawn ok, spawn failed, exit ok, exit failed |
 * | 88..127 |       | reserved                                                                              |
 * |     128 | u32   | read cursor: the reader's next ticket in this lane (`Atomics.store`), published below  |
 * | 132..191|       | reserved                                                                              |
 *
 * Slot `i` of a lane (64 bytes) starts at byte `192 + 64 * i` of the lane:
 *
 * | offset | type | field                                                       |
 * |-------:|------|-------------------------------------------------------------|
 * |      0 | i32  | state: shared lane 0 = idle/committed, 1 = being written (CAS lock); single-writer lanes 0 |
 * |      4 | u32  | seq: the ticket of the record held                          |
 * |      8 | u32  | checksum of seq and bytes 12..55                            |
 * |     12 | u32  | agent id                                                    |
 * |     16 | u32  | batch id                                                    |
 * |     20 | u32  | stage (bits 0-7), ok (bits 8-15), error code (bits 16-31)   |
 * |     24 | u32  | writer thread id                                            |
 * |     28 | u32  | pid                                                         |
 * |     32 | f64  | timestamp (ms since epoch)                                  |
 * |     40 | f64  | durationMs                                                  |
 * |     48 | f64  | detailMs                                                    |
 * |     56 | u32×2| reserved, zero (a reader drops a slot where they are not)   |
 *
 * ## Protocol of a single-writer lane
 * The writer keeps its next ticket `n` and its six totals in its view. A
 * record is committed when the writer stores its stage's new total
 * (`Atomics.store`, after the payload); the lane's head is therefore
 * `start + sum of the six totals`: one SeqCst store per record is both the
 * commit and the exact total. A reader that loads the six words one by one
 * may see a later commit and miss an earlier one, but then the sum is lower,
 * never higher, than what it has synchronised with: every ticket below it is
 * committed and visible.
 * Slot `n & (capacity - 1)` holds ticket `n - capacity` until the writer
 * overwrites it. If the lane's published read cursor (reloaded only when the
 * cached one says so) does not show that ticket read, the writer first
 * stores `begun = n + 1`; then it writes seq, payload and the checksum (of
 * `n` and the payload) with plain stores, then commits.
 * The reader loads the head (see #head: plain loads of the six words, and a
 * SeqCst load of each that moved), counts as dropped whatever lies more than
 * `capacity` behind it, then reads up to CHUNK slots at a time between two
 * loads of `begun` (a chunk's second load is the next one's first): a ticket
 * `t` with `begun - t > capacity` was overwritten before the read (lapped:
 * dropped) or during it (torn: dropped and invalid). A read is valid only if
 * its seq is `t`, its checksum matches and its reserved words are zero. Only
 * then are the chunk's records visited, from objects the reader reuses.
 * The reader stores its cursor once it has moved an eighth of a lap since the
 * last store, not on every pass: a writer loads it only when it is about to
 * overwrite a slot, and one that sees an older cursor stores `begun` first
 * in vain, which costs it an Atomics call and loses nothing.
 * A writer that dies mid-write never commits: its record is not written, not
 * counted, and the record it was overwriting is caught by `begun`.
 *
 * ## Protocol of the shared lane
 * A writer takes a ticket `t` with `Atomics.add` on the claim cursor; its slot
 * is `t & (capacity - 1)`. It locks the slot (CAS state 0→1), refuses to
 * overwrite a newer ticket, stores `seq = t`, writes the payload with plain
 * stores, then the checksum, then adds to the totals and releases
 * (`state = 0`). A write refused because the slot holds a newer ticket still
 * counts in the totals. The reader uses the slot as a seqlock: it loads seq
 * then state, copies, loads seq and state again; the copy is valid only if
 * both loads saw `state == 0` and `seq == t` and the checksum matches. Seq is
 * loaded before state because the writer stores seq only once it holds the
 * lock: the other order could see state 0 from before the lock and seq == t
 * from after it. A claimed, uncommitted ticket stops the reader in this lane
 * until it is lapped. A writer that finds a slot locked for too long assumes
 * its holder died and takes it over; should the holder be alive after all,
 * the checksum, which binds the payload to `seq`, exposes the mixed record.
 *
 * In both, tickets are compared with 32-bit modular arithmetic (`(a - b) | 0`),
 * so cursors wrap. The JS memory model does not order plain accesses around
 * atomics tightly enough to make a seqlock airtight on every CPU (x86 is); the
 * checksum catches what would slip through, and any flipped bit.
 *
 * The ring header's reader counters are published every 1024 records read or
 * dropped and at every `counters()`: only diagnostics read them.
 *
 * ## Read order
 * `drain` visits lane 0, 1, ... in index order, then the shared lane; each
 * lane in ticket (its writers') order. There is no global order across lanes.
 */
import { threadId } from 'node:worker_threads';
import { STAGE, STAGE_BY_NUMBER, type MetricRecord, type RecordStage } from './record.ts';

const MAGIC = 0x5350524c; // 'SPRL'
const HEADER_WORDS = 16;
const LANE_HEADER_WORDS = 48;
const SLOT_WORDS = 16;

// Ring header word indexes.
const H_MAGIC = 0;
const H_CAPACITY = 1;
const H_LANES = 2;
const H_START = 3;
const H_DROPPED = 4;
const H_INVALID = 5;
const H_READ = 6;

// Lane header word offsets.
const L_OWNER = 0;
const L_CURSOR = 1; // begun (single-writer lane) or claim cursor (shared lane)
const L_TOTALS = 16; // six words: (stage - 1) * 2 + (ok ? 0 : 1)
const L_READ = 32;

// Slot word offsets.
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

const imul = Math.imul;
// A copy of a slot's three floats, to get at their 32-bit halves: the reader hashes what it read, a writer what it
// meant to write (one per thread: module scope).
const scratchF = new Float64Array(3);
const scratchW = new Int32Array(scratchF.buffer);
/** Slots of a single-writer lane the reader reads between two loads of `begun`. */
const CHUNK = 16;
/** Records read or dropped between two publications of the ring header's counters (and at every `counters()`). */
const PUBLISH_EVERY = 1024;
/** Spins on a locked shared-lane slot before assuming its writer died mid-write. */
const LOCK_SPIN_LIMIT = 1 << 16;

export const MAX_RING_CAPACITY = 1 << 24;
export const MAX_RING_LANES = 64;
/**
 * Build workers (4 by default), the launch thread and the main thread, and
 * two to spare for workers replaced after a timeout or a heap limit.
 */
export const DEFAULT_RING_LANES = 8;

export interface RingOptions {
  /** Slots per lane: a power of two, 2 .. 2^24. Each writer can run `capacity` records ahead of the reader. */
  capacity: number;
  /**
   * Single-writer lanes, 0 .. 64 (default 8): one per writing thread; threads
   * beyond them share one locked lane. The buffer holds `lanes + 1` lanes of
   * `capacity` 64-byte slots.
   */
  lanes?: number;
  /** First ticket of every lane. Only tests set this, to start the cursors near 2^32. */
  startCursor?: number;
}

/** Counters since the ring was created. `read + dropped === written` once the reader has caught up. */
export interface RingCounters {
  /** Records committed to single-writer lanes plus tickets claimed in the shared lane (exact, not limited to 2^32). */
  written: number;
  /** Valid records handed to the reader. */
  read: number;
  /** Records lost: overwritten before they were read, or torn / failing their checksum. */
  dropped: number;
  /** The part of `dropped` that was torn or failed its checksum. */
  invalid: number;
  /** Records written but not yet drained (in the shared lane: claimed but not yet committed, too). */
  pending: number;
  /** Records written per stage and outcome (kept by the window or not), from the lane headers. */
  totals: Record<'build' | 'spawn' | 'exit', { ok: number; failed: number }>;
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export function ringBytes(capacity: number, lanes: number = DEFAULT_RING_LANES): number {
  return HEADER_WORDS * 4 + (lanes + 1) * (LANE_HEADER_WORDS + capacity * SLOT_WORDS) * 4;
}

/**
 * A view of a metrics ring. `create` on the main thread, `attach` on a worker
 * to the same SharedArrayBuffer. Any view may `write`, from the one thread
 * that uses it; only the creator's view may `drain`.
 *
 * @example
 * const ring = MetricsRing.create({ capacity: 8192 });    // main thread
 * new Worker(url, { workerData: { ring: ring.buffer } });
 * const view = MetricsRing.attach(workerData.ring);       // in the worker, once
 * view.write(record);                                     // claims a lane at the first write
 * ring.drain((r) => window.push(r.durationMs, r.ok));     // main thread; copy what you keep
 */
export class MetricsRing {
  readonly buffer: SharedArrayBuffer;
  /** Slots per lane. */
  readonly capacity: number;
  /** Single-writer lanes (the shared lane is not counted). */
  readonly lanes: number;
  readonly #i32: Int32Array;
  readonly #mask: number;
  readonly #start: number;
  // Writer state. #lane: word index of this view's lane header, -1 until the first write.
  #lane = -1;
  #shared = false;
  #ticket = 0;
  #readSeen = 0;
  readonly #counts = new Int32Array(6);
  // Reader state, per lane (index `lanes` is the shared lane); meaningful only on the view that drains.
  // #cursors: next ticket to read. #seen: head (claim cursor in the shared lane) at the previous drain.
  readonly #cursors: number[];
  readonly #seen: number[];
  // Per single-writer lane: the read cursor last stored in its header, and how far the reader gets before storing it again.
  readonly #publishedCursors: number[];
  readonly #publishStep: number;
  // Per single-writer lane, its six commit words as the reader last loaded them (SeqCst).
  readonly #totalsSeen: Int32Array;
  #written = 0;
  #read = 0;
  #dropped = 0;
  #invalid = 0;
  // read + dropped when the header counters were last stored (invalid only moves with dropped).
  #published = 0;
  readonly #f64: Float64Array;
  // The objects drain() hands to visit, reused: a single-writer lane is read CHUNK slots at a time.
  readonly #pool: MetricRecord[] = Array.from({ length: CHUNK }, () => ({
    stage: 'build',
    ok: false,
    errorCode: 0,
    agentId: 0,
    batchId: 0,
    writerThreadId: 0,
    pid: 0,
    timestamp: 0,
    durationMs: 0,
    detailMs: 0,
  }));
  // Lanes below this are claimed (claims only ever extend this prefix: see #claimLane).
  #claimed = 0;

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#i32 = new Int32Array(buffer);
    if (this.#i32[H_MAGIC] !== MAGIC) throw new TypeError('not a spawnpool metrics ring (bad magic)');
    this.#f64 = new Float64Array(buffer);
    this.capacity = this.#i32[H_CAPACITY]!;
    this.lanes = this.#i32[H_LANES]!;
    this.#mask = this.capacity - 1;
    this.#start = this.#i32[H_START]! >>> 0;
    this.#cursors = Array.from({ length: this.lanes + 1 }, () => this.#start);
    this.#seen = Array.from({ length: this.lanes + 1 }, () => this.#start);
    this.#publishedCursors = Array.from({ length: this.lanes }, () => this.#start);
    this.#publishStep = Math.max(1, this.capacity >>> 3);
    this.#totalsSeen = new Int32Array(this.lanes * 6);
  }

  /** Allocates a new ring. Throws a RangeError naming the bad option. */
  static create(options: RingOptions): MetricsRing {
    const { capacity, lanes = DEFAULT_RING_LANES } = options;
    if (!isPowerOfTwo(capacity) || capacity < 2 || capacity > MAX_RING_CAPACITY) {
      throw new RangeError(`Expected the ring \`capacity\` to be a power of two from 2 to ${MAX_RING_CAPACITY}, got \`${String(capacity)}\``);
    }
    if (!Number.isInteger(lanes) || lanes < 0 || lanes > MAX_RING_LANES) {
      throw new RangeError(`Expected the ring \`lanes\` to be an integer from 0 to ${MAX_RING_LANES}, got \`${String(lanes)}\``);
    }
    const start = (options.startCursor ?? 0) >>> 0;
    const buffer = new SharedArrayBuffer(ringBytes(capacity, lanes));
    const i32 = new Int32Array(buffer);
    i32[H_MAGIC] = MAGIC;
    i32[H_CAPACITY] = capacity;
    i32[H_LANES] = lanes;
    i32[H_START] = start | 0;
    for (let lane = 0; lane <= lanes; lane++) {
      const lw = laneWord(lane, capacity);
      i32[lw + L_CURSOR] = start | 0;
      i32[lw + L_READ] = start | 0;
      // Each slot holds, as far as the protocols can tell, the ticket one lap before the first one
      // that will land there: older than any real record (the shared lane's writers rely on it).
      // Storing it also has the OS back every page now rather than in the writers' first lap.
      const slots = lw + LANE_HEADER_WORDS;
      for (let slot = 0; slot < capacity; slot++) {
        const firstTicket = (start + ((slot - start) & (capacity - 1))) >>> 0;
        i32[slots + slot * SLOT_WORDS + S_SEQ] = (firstTicket - capacity) | 0;
      }
    }
    // Publishing happens when the buffer is posted to another thread
    // (postMessage is a synchronisation point), so plain stores suffice here.
    return new MetricsRing(buffer);
  }

  /**
   * A view of an existing ring, for a writer on another thread. Attach once per
   * thread and keep the view: a view that writes takes a lane for good, so a
   * view per task would use the lanes up and send every later writer to the
   * shared lane.
   */
  static attach(buffer: SharedArrayBuffer): MetricsRing {
    return new MetricsRing(buffer);
  }

  /** Appends one record. Never blocks on the reader. A view must be used by one thread only. */
  write(r: MetricRecord): void {
    const stage = stageNumber(r.stage);
    if (this.#lane < 0) this.#claimLane();
    if (this.#shared) {
      this.#writeShared(r, stage);
      return;
    }
    const i32 = this.#i32;
    const lane = this.#lane;
    const n = this.#ticket;
    const k = (stage - 1) * 2 + (r.ok ? 0 : 1);
    if (((n - this.capacity - this.#readSeen) | 0) >= 0) {
      // The slot holds ticket n - capacity, maybe unread. SeqCst load: the reader's cursor, stored after its copies.
      this.#readSeen = Atomics.load(i32, lane + L_READ) >>> 0;
      // SeqCst store before the payload: a reader copying that ticket sees `begun` move on its re-check.
      if (((n - this.capacity - this.#readSeen) | 0) >= 0) Atomics.store(i32, lane + L_CURSOR, (n + 1) | 0);
    }
    const base = lane + LANE_HEADER_WORDS + (n & this.#mask) * SLOT_WORDS;
    i32[base + S_SEQ] = n | 0;
    encode(i32, this.#f64, base, n, r, stage);
    this.#ticket = (n + 1) >>> 0;
    const total = (this.#counts[k]! + 1) | 0;
    this.#counts[k] = total;
    // SeqCst store (release): the commit. Head = start + sum of the totals.
    Atomics.store(i32, lane + L_TOTALS + k, total);
  }

  /**
   * Reads every committed record not yet read, calling `visit` for each valid
   * one: lane by lane in index order, the shared lane last, each lane in its
   * write order. In the shared lane it stops at the first record that is
   * claimed but not yet committed: it and those after it are read by a later
   * drain. Returns the number of valid records visited. Only the creating view
   * may drain.
   *
   * `visit` receives objects the ring reuses (a few, overwritten by later
   * records): read the fields in the callback and copy what you keep
   * (`{ ...record }`); no object is allocated per record.
   */
  drain(visit: (record: Readonly<MetricRecord>) => void): number {
    let visited = 0;
    const claimed = this.#claimedLanes();
    for (let lane = 0; lane < claimed; lane++) visited += this.#drainLane(lane, visit);
    visited += this.#drainShared(visit);
    // Every PUBLISH_EVERY records, not every drain: a reader that polls in a loop would pay three
    // Atomics calls a pass for counters that only diagnostics read (counters() publishes them too).
    if (this.#read + this.#dropped - this.#published >= PUBLISH_EVERY) this.#publish();
    return visited;
  }

  /** Publishes the reader's counters in the ring header, for diagnostics views; the reader's own copy is authoritative. */
  #publish(): void {
    const i32 = this.#i32;
    Atomics.store(i32, H_DROPPED, this.#dropped | 0);
    Atomics.store(i32, H_INVALID, this.#invalid | 0);
    Atomics.store(i32, H_READ, this.#read | 0);
    this.#published = this.#read + this.#dropped;
  }

  /** Counters as of the last drain (written and totals are refreshed now). */
  counters(): RingCounters {
    if (this.#read + this.#dropped !== this.#published) this.#publish();
    const totals = [0, 0, 0, 0, 0, 0];
    let written = this.#written;
    // Unclaimed lanes hold nothing.
    const claimed = this.#claimedLanes();
    for (let lane = 0; lane < claimed; lane++) written += this.#addTotals(lane, totals);
    written += this.#addTotals(this.lanes, totals);
    const pair = (stage: number) => ({ ok: totals[(stage - 1) * 2]!, failed: totals[(stage - 1) * 2 + 1]! });
    return {
      written,
      read: this.#read,
      dropped: this.#dropped,
      invalid: this.#invalid,
      pending: written - this.#read - this.#dropped,
      totals: { build: pair(1), spawn: pair(2), exit: pair(3) },
    };
  }

  /** Adds a lane's six totals to `totals`; returns what it has had written since the last drain. */
  #addTotals(lane: number, totals: number[]): number {
    const i32 = this.#i32;
    const lw = laneWord(lane, this.capacity);
    let head = this.#start;
    for (let k = 0; k < 6; k++) {
      // SeqCst loads: the same words, and the same argument, as #head().
      const total = Atomics.load(i32, lw + L_TOTALS + k);
      head += total;
      totals[k]! += total >>> 0;
    }
    if (lane === this.lanes) head = Atomics.load(i32, lw + L_CURSOR); // the shared lane counts claims
    return ((head >>> 0) - this.#seen[lane]!) >>> 0;
  }

  /** How many lanes are claimed: they are a prefix (see #claimLane), and a claim is never undone. */
  #claimedLanes(): number {
    // SeqCst loads of the owner words past the known prefix: one per call once every lane is seen.
    while (this.#claimed < this.lanes && Atomics.load(this.#i32, laneWord(this.#claimed, this.capacity) + L_OWNER) !== 0) this.#claimed++;
    return this.#claimed;
  }

  /**
   * First write of this view: the first free lane, else the shared one. Every view tries the
   * lanes in index order and a CAS fails only on a claimed lane, so the claimed lanes are always
   * a prefix; the reader relies on that to skip the free ones.
   */
  #claimLane(): void {
    const i32 = this.#i32;
    for (let lane = 0; lane < this.lanes; lane++) {
      const lw = laneWord(lane, this.capacity);
      // SeqCst CAS: one owner per lane, whichever view gets there first.
      if (Atomics.compareExchange(i32, lw + L_OWNER, 0, threadId + 1) !== 0) continue;
      this.#lane = lw;
      let head = this.#start;
      for (let k = 0; k < 6; k++) head += this.#counts[k] = Atomics.load(i32, lw + L_TOTALS + k);
      this.#ticket = head >>> 0;
      this.#readSeen = Atomics.load(i32, lw + L_READ) >>> 0;
      return;
    }
    this.#lane = laneWord(this.lanes, this.capacity);
    this.#shared = true;
  }

  /**
   * Head of single-writer lane `index`: every ticket below it is committed, and visible to this
   * thread. The six commit words are read with plain loads, and only those that moved since the
   * last pass again with a SeqCst load (acquire): one Atomics call a pass where a writer commits,
   * none where nothing moved, instead of six. Each word's value in the sum was loaded by a SeqCst
   * load, now or on an earlier pass, so the argument of the protocol holds: the sum is never higher
   * than the tickets up to the newest commit seen, all of which are committed and visible.
   */
  #head(index: number, lw: number): number {
    const i32 = this.#i32;
    const seen = this.#totalsSeen;
    const at = index * 6;
    let head = this.#start;
    for (let k = 0; k < 6; k++) {
      let total = seen[at + k]!;
      // A plain load that shows no move may be stale: the move is then seen by a later pass.
      if (i32[lw + L_TOTALS + k] !== total) seen[at + k] = total = Atomics.load(i32, lw + L_TOTALS + k);
      head += total;
    }
    return head >>> 0;
  }

  #drainLane(index: number, visit: (record: Readonly<MetricRecord>) => void): number {
    const i32 = this.#i32;
    const cap = this.capacity;
    const lw = laneWord(index, cap);
    const head = this.#head(index, lw);
    this.#written += (head - this.#seen[index]!) >>> 0;
    this.#seen[index] = head;
    let r = this.#cursors[index]!;
    if (r === head) return 0;
    const behind = (head - r) >>> 0;
    if (behind > cap) {
      // Those tickets' slots hold newer ones by now.
      this.#dropped += behind - cap;
      r = (head - cap) >>> 0;
    }
    const slots = lw + LANE_HEADER_WORDS;
    const pool = this.#pool;
    let visited = 0;
    // SeqCst load: tickets below begun - capacity are being, or have been, overwritten.
    let begun = Atomics.load(i32, lw + L_CURSOR);
    while (r !== head) {
      const lapped = (begun - cap - r) | 0;
      if (lapped > 0) {
        const lost = Math.min(lapped, (head - r) >>> 0);
        this.#dropped += lost;
        r = (r + lost) >>> 0;
        continue;
      }
      // Up to CHUNK slots between two loads of begun (an Atomics call costs about 10 ns).
      const n = Math.min((head - r) >>> 0, CHUNK);
      let valid = 0;
      for (let j = 0; j < n; j++) {
        const t = (r + j) >>> 0;
        if (readSlot(i32, this.#f64, slots + (t & this.#mask) * SLOT_WORDS, t, pool[j]!, scratchF, scratchW)) valid |= 1 << j;
      }
      // SeqCst re-load: a writer that began overwriting one of these slots while we read it shows here.
      begun = Atomics.load(i32, lw + L_CURSOR);
      const torn = Math.min(Math.max((begun - cap - r) | 0, 0), n);
      // Bits of the chunk's records to hand out: read intact, and not overwritten while read.
      const good = valid & ~((1 << torn) - 1);
      const from = r;
      if (good === (1 << n) - 1) {
        // The whole chunk, the common case. If `visit` throws, what was handed out stays read.
        let j = 0;
        try {
          for (; j < n; j++) visit(pool[j]!);
        } finally {
          const handed = j === n ? n : j + 1;
          this.#read += handed;
          visited += handed;
          r = (from + handed) >>> 0;
          this.#cursors[index] = r;
        }
        continue;
      }
      for (let j = 0; j < n; j++) {
        r = (from + j + 1) >>> 0;
        if ((good & (1 << j)) === 0) {
          this.#dropped++;
          this.#invalid++;
          continue;
        }
        this.#read++;
        visited++;
        // Saved before the callback: if `visit` throws, what was handed out stays read.
        this.#cursors[index] = r;
        visit(pool[j]!);
      }
    }
    this.#cursors[index] = r;
    // SeqCst store after the reads: a writer that sees it may overwrite those slots without a word.
    // Once an eighth of a lap has been read, not every pass: a writer only loads it when it is about
    // to overwrite a slot, and one that sees an older cursor just stores `begun` first, in vain.
    if ((r - this.#publishedCursors[index]!) >>> 0 >= this.#publishStep) {
      Atomics.store(i32, lw + L_READ, r | 0);
      this.#publishedCursors[index] = r;
    }
    return visited;
  }

  #writeShared(r: MetricRecord, stage: number): void {
    const i32 = this.#i32;
    const lane = this.#lane;
    const total = lane + L_TOTALS + (stage - 1) * 2 + (r.ok ? 0 : 1);
    // SeqCst read-modify-write: every writer gets a distinct ticket.
    const ticket = Atomics.add(i32, lane + L_CURSOR, 1) >>> 0;
    const base = lane + LANE_HEADER_WORDS + (ticket & this.#mask) * SLOT_WORDS;

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
    // SeqCst store before the payload: a reader that copied the old payload sees the seq change on its re-check.
    Atomics.store(i32, base + S_SEQ, ticket | 0);
    // The checksum binds this writer's values to `seq`, never what the slot holds: after a lock
    // takeover the slot may hold a mix of this record and its slow holder's.
    encode(i32, this.#f64, base, ticket, r, stage);
    Atomics.add(i32, total, 1);
    // SeqCst store (release): commits the payload for a reader that loads state == 0 and seq == ticket.
    Atomics.store(i32, base + S_STATE, 0);
  }

  #drainShared(visit: (record: Readonly<MetricRecord>) => void): number {
    const i32 = this.#i32;
    const cap = this.capacity;
    const index = this.lanes;
    const lw = laneWord(index, cap);
    // SeqCst load: every ticket below this has been claimed.
    const claim = Atomics.load(i32, lw + L_CURSOR) >>> 0;
    this.#written += (claim - this.#seen[index]!) >>> 0;
    this.#seen[index] = claim;
    let r = this.#cursors[index]!;
    if (r === claim) return 0;
    let visited = 0;
    while (r !== claim) {
      const behind = (claim - r) >>> 0;
      if (behind > cap) {
        const lost = behind - cap;
        this.#dropped += lost;
        r = (r + lost) >>> 0;
        continue;
      }
      const base = lw + LANE_HEADER_WORDS + (r & this.#mask) * SLOT_WORDS;
      // SeqCst loads (acquire), seq before state: see the protocol.
      const seq1 = Atomics.load(i32, base + S_SEQ) >>> 0;
      const state1 = Atomics.load(i32, base + S_STATE);
      const age = (seq1 - r) | 0;
      if (age > 0) {
        this.#dropped++;
        r = (r + 1) >>> 0;
        continue;
      }
      if (age < 0 || state1 !== 0) break; // claimed, not committed yet
      const ok = readSlot(i32, this.#f64, base, r, this.#pool[0]!, scratchF, scratchW);
      // SeqCst re-loads: anything a writer changed while we read shows here.
      const seq2 = Atomics.load(i32, base + S_SEQ) >>> 0;
      const state2 = Atomics.load(i32, base + S_STATE);
      r = (r + 1) >>> 0;
      if (!ok || seq2 !== seq1 || state2 !== 0) {
        this.#dropped++;
        this.#invalid++;
        continue;
      }
      this.#read++;
      visited++;
      this.#cursors[index] = r;
      visit(this.#pool[0]!);
    }
    this.#cursors[index] = r;
    // Published for diagnostics only: shared-lane writers take tickets, not the reader's word.
    Atomics.store(i32, lw + L_READ, r | 0);
    return visited;
  }
}

/** Word index of lane `lane`'s header. */
function laneWord(lane: number, capacity: number): number {
  return HEADER_WORDS + lane * (LANE_HEADER_WORDS + capacity * SLOT_WORDS);
}

function stageNumber(stage: RecordStage): number {
  // Compared, not looked up: a string-keyed load costs more than the rest of a write's field reads.
  if (stage === 'spawn') return STAGE.spawn;
  if (stage === 'build') return STAGE.build;
  if (stage === 'exit') return STAGE.exit;
  throw new TypeError(`Expected a metric record \`stage\` of build, spawn or exit, got \`${String(stage)}\``);
}

/**
 * Stores the payload of `r` (words 3..15) and its checksum (word 2) into the slot at `base`,
 * reading each field of `r` once. The checksum covers the floats' 32-bit halves, taken from a
 * private copy, never from the slot: in the shared lane a slow holder whose lock was taken over may
 * still store into the slot, and the checksum must bind this writer's values to its ticket. The
 * copy is also the faster way in a lane of its own (single thread, 200,000 records, best of 15:
 * about 3 ns a write less than loading the halves back from the slot just stored).
 */
function encode(i32: Int32Array, f64: Float64Array, base: number, ticket: number, r: MetricRecord, stage: number): void {
  const timestamp = r.timestamp;
  const durationMs = r.durationMs;
  const detailMs = r.detailMs;
  const agent = r.agentId | 0;
  const batch = r.batchId | 0;
  const kind = stage | ((r.ok ? 1 : 0) << 8) | ((r.errorCode & 0xffff) << 16);
  const thread = r.writerThreadId | 0;
  const pid = r.pid | 0;
  const fb = base >> 1;
  f64[fb + F_TIMESTAMP] = timestamp;
  f64[fb + F_DURATION] = durationMs;
  f64[fb + F_DETAIL] = detailMs;
  i32[base + S_AGENT] = agent;
  i32[base + S_BATCH] = batch;
  i32[base + S_KIND] = kind;
  i32[base + S_THREAD] = thread;
  i32[base + S_PID] = pid;
  i32[base + 14] = 0;
  i32[base + 15] = 0;
  scratchF[0] = timestamp;
  scratchF[1] = durationMs;
  scratchF[2] = detailMs;
  i32[base + S_CHECKSUM] = hash(ticket, agent, batch, kind, thread, pid, scratchW[0]!, scratchW[1]!, scratchW[2]!, scratchW[3]!, scratchW[4]!, scratchW[5]!);
}

/**
 * Reads the slot at `base` into `out` and checks it is ticket `ticket`'s record: seq, checksum,
 * a known stage, zero reserved words. Plain loads: the caller's protocol says whether a writer
 * touched the slot meanwhile. The floats are hashed as read, so `out` holds what was checked.
 */
function readSlot(i32: Int32Array, f64: Float64Array, base: number, ticket: number, out: MetricRecord, f: Float64Array, w: Int32Array): boolean {
  const seq = i32[base + S_SEQ]!;
  const sum = i32[base + S_CHECKSUM]!;
  const agent = i32[base + S_AGENT]!;
  const batch = i32[base + S_BATCH]!;
  const kind = i32[base + S_KIND]!;
  const thread = i32[base + S_THREAD]!;
  const pid = i32[base + S_PID]!;
  const reserved = i32[base + 14]! | i32[base + 15]!;
  const fb = base >> 1;
  const timestamp = (f[0] = f64[fb + F_TIMESTAMP]!);
  const durationMs = (f[1] = f64[fb + F_DURATION]!);
  const detailMs = (f[2] = f64[fb + F_DETAIL]!);
  const stage = STAGE_BY_NUMBER[kind & 0xff];
  if (seq !== (ticket | 0) || reserved !== 0 || stage === undefined) return false;
  if (sum !== hash(ticket, agent, batch, kind, thread, pid, w[0]!, w[1]!, w[2]!, w[3]!, w[4]!, w[5]!)) return false;
  out.stage = stage;
  out.ok = ((kind >>> 8) & 0xff) === 1;
  out.errorCode = (kind >>> 16) & 0xffff;
  out.agentId = agent >>> 0;
  out.batchId = batch >>> 0;
  out.writerThreadId = thread >>> 0;
  out.pid = pid >>> 0;
  out.timestamp = timestamp;
  out.durationMs = durationMs;
  out.detailMs = detailMs;
  return true;
}

/**
 * 32-bit checksum of the ticket and slot words 3..13: a sum of each word times its own odd
 * constant, then a final mix. An odd constant is invertible modulo 2^32, so a change to any one
 * word (any flipped bit) always changes the sum, and the mix is a bijection, so it changes the
 * result. The products are independent of each other, which the CPU overlaps. Against a ring with
 * no checksum, in one process (best of 15, 200,000 records, one thread): the FNV chain this replaced
 * cost about 13 ns a record to write and 10 to drain; this one about 5 and 6.
 */
function hash(
  ticket: number,
  w3: number,
  w4: number,
  w5: number,
  w6: number,
  w7: number,
  w8: number,
  w9: number,
  w10: number,
  w11: number,
  w12: number,
  w13: number,
): number {
  let h = (imul(ticket, 0x9e3779b1) + imul(w3, 0x85ebca77)) | 0;
  h = (h + imul(w4, 0xc2b2ae3d)) | 0;
  h = (h + imul(w5, 0x27d4eb2f)) | 0;
  h = (h + imul(w6, 0x165667b1)) | 0;
  h = (h + imul(w7, 0xd3a2646d)) | 0;
  h = (h + imul(w8, 0xfd7046c5)) | 0;
  h = (h + imul(w9, 0xb55a4f09)) | 0;
  h = (h + imul(w10, 0x68e31da5)) | 0;
  h = (h + imul(w11, 0x1b873593)) | 0;
  h = (h + imul(w12, 0xcc9e2d51)) | 0;
  h = (h + imul(w13, 0x01000193)) | 0;
  h = imul(h ^ (h >>> 16), 0x85ebca6b);
  return h ^ (h >>> 13);
}
