import { describe, it, expect } from 'vitest';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { setImmediate as tick } from 'node:timers/promises';
import { MetricsRing, type RingCounters } from '../../src/metrics/ring.ts';
import type { MetricRecord } from '../../src/metrics/record.ts';
import { recordStream } from '../support/ring-writer-records.ts';
import type { RingWriterData } from '../support/ring-writer.ts';

const WRITER_URL = new URL('../support/ring-writer.ts', import.meta.url);
const SEED = Number(process.env['RING_SEED'] ?? 0x5eed);

/**
 * A worker running a TypeScript file. On Node 20, `execArgv: ['--import', 'tsx']`
 * does not help: preload modules given to a Worker are not run there, and the
 * worker fails with "Unknown file extension .ts". So the worker starts from a
 * small .mjs bootstrap that registers tsx's loader, then imports the script.
 */
const TS_WORKER_BOOT = new URL('./fixtures/ts-worker.mjs', import.meta.url);
function tsWorker(script: URL, workerData: unknown): Worker {
  return new Worker(TS_WORKER_BOOT, { argv: [script.href], workerData });
}

/** Recomputes each writer's stream and checks what the reader got against it. */
class Verifier {
  readonly #streams = new Map<number, { it: Generator<MetricRecord, never, void>; pos: number }>();
  readonly lastSeq = new Map<number, number>();
  readonly perWriter = new Map<number, number>();
  readonly totals = { build: { ok: 0, failed: 0 }, spawn: { ok: 0, failed: 0 }, exit: { ok: 0, failed: 0 } };
  read = 0;
  readonly errors: string[] = [];

  constructor(
    readonly seed: number,
    readonly writers: number,
  ) {}

  check = (r: MetricRecord): void => {
    this.read++;
    const w = r.writerThreadId;
    const seq = r.agentId;
    if (!(w >= 0 && w < this.writers)) {
      this.errors.push(`record from unknown writer ${w}: ${JSON.stringify(r)}`);
      return;
    }
    const last = this.lastSeq.get(w) ?? -1;
    if (seq <= last) {
      // Strictly increasing also rules out duplicates.
      this.errors.push(`writer ${w}: seq ${seq} after ${last}`);
      return;
    }
    this.lastSeq.set(w, seq);
    this.perWriter.set(w, (this.perWriter.get(w) ?? 0) + 1);
    this.totals[r.stage][r.ok ? 'ok' : 'failed']++;
    let s = this.#streams.get(w);
    if (s === undefined) {
      s = { it: recordStream(this.seed, w), pos: 0 };
      this.#streams.set(w, s);
    }
    let want: MetricRecord | undefined;
    while (s.pos <= seq) {
      want = s.it.next().value;
      s.pos++;
    }
    if (want === undefined || !sameRecord(want, r)) {
      this.errors.push(`writer ${w} seq ${seq}: got ${JSON.stringify(r)}, wrote ${JSON.stringify(want)}`);
    }
  };
}

function sameRecord(a: MetricRecord, b: MetricRecord): boolean {
  return (
    a.stage === b.stage &&
    a.ok === b.ok &&
    a.errorCode === b.errorCode &&
    a.agentId === b.agentId &&
    a.batchId === b.batchId &&
    a.writerThreadId === b.writerThreadId &&
    a.pid === b.pid &&
    Object.is(a.timestamp, b.timestamp) &&
    Object.is(a.durationMs, b.durationMs) &&
    Object.is(a.detailMs, b.detailMs)
  );
}

interface RunResult {
  ring: MetricsRing;
  verifier: Verifier;
  written: number;
  drains: number;
  drainsDuringWrites: number;
}

/**
 * `workers` writer threads (writer ids 1..workers) plus the main thread
 * (writer id 0) write concurrently; the main thread drains between its own
 * writes, yielding to the event loop with setImmediate, until every writer is
 * done, then drains once more.
 */
async function run(opts: {
  capacity: number;
  lanes?: number;
  workers: number;
  perWorker: number;
  mainCount: number;
  seed: number;
  startCursor?: number;
}): Promise<RunResult> {
  const ring = MetricsRing.create({ capacity: opts.capacity, ...(opts.lanes === undefined ? {} : { lanes: opts.lanes }), startCursor: opts.startCursor ?? 0 });
  const gate = new SharedArrayBuffer(4);
  const verifier = new Verifier(opts.seed, opts.workers + 1);
  const workers = Array.from({ length: opts.workers }, (_, i) => {
    const workerData: RingWriterData = { buffer: ring.buffer, gate, writer: i + 1, count: opts.perWorker, seed: opts.seed };
    return tsWorker(WRITER_URL, workerData);
  });
  const exited = workers.map(async (w) => {
    const [code] = (await once(w, 'exit')) as [number];
    return code;
  });
  const failed = new Promise<never>((_, reject) => {
    for (const w of workers) w.once('error', reject);
  });
  // Wait until every worker is ready, then open the gate for all at once.
  await Promise.race([Promise.all(workers.map((w) => once(w, 'message'))), failed]);
  let running = workers.length;
  for (const e of exited) void e.then(() => running--);
  const gate32 = new Int32Array(gate);
  Atomics.store(gate32, 0, 1);
  Atomics.notify(gate32, 0);

  const main = recordStream(opts.seed, 0);
  let mainWritten = 0;
  let drains = 0;
  let drainsDuringWrites = 0;
  while (running > 0 || mainWritten < opts.mainCount) {
    for (let i = 0; i < 64 && mainWritten < opts.mainCount; i++, mainWritten++) ring.write(main.next().value);
    if (running > 0) drainsDuringWrites++;
    drains++;
    ring.drain(verifier.check);
    await Promise.race([tick(), failed]);
  }
  const codes = await Promise.race([Promise.all(exited), failed]);
  expect(codes).toEqual(workers.map(() => 0));
  ring.drain(verifier.check);
  drains++;
  return { ring, verifier, written: opts.workers * opts.perWorker + opts.mainCount, drains, drainsDuringWrites };
}

type Totals = RingCounters['totals'];

/** Per-stage totals of everything the writers wrote, recomputed from their streams. */
function expectedTotals(seed: number, counts: readonly number[]): Totals {
  const t: Totals = { build: { ok: 0, failed: 0 }, spawn: { ok: 0, failed: 0 }, exit: { ok: 0, failed: 0 } };
  counts.forEach((count, writer) => {
    const it = recordStream(seed, writer);
    for (let i = 0; i < count; i++) {
      const r = it.next().value;
      t[r.stage][r.ok ? 'ok' : 'failed']++;
    }
  });
  return t;
}

describe('MetricsRing across worker_threads', () => {
  it.each([
    { capacity: 64, lanes: 8, workers: 3, seed: SEED },
    { capacity: 64, lanes: 8, workers: 3, seed: SEED + 100 },
    { capacity: 4, lanes: 8, workers: 2, seed: SEED + 200 },
    // More writers than lanes: two workers and the main thread share the locked lane.
    { capacity: 64, lanes: 1, workers: 3, seed: SEED + 300 },
    { capacity: 4, lanes: 0, workers: 2, seed: SEED + 400 },
  ])(
    'small capacity ($capacity), $lanes lanes, $workers writer workers + main, seed $seed: every record read is right, read + dropped === written',
    async ({ capacity, lanes, workers, seed }) => {
      const perWorker = 100_000;
      const mainCount = 40_000;
      const { ring, verifier, written, drainsDuringWrites } = await run({ capacity, lanes, workers, perWorker, mainCount, seed });
      expect(verifier.errors.slice(0, 5)).toEqual([]);
      const c = ring.counters();
      expect(c.written).toBe(written);
      expect(c.read).toBe(verifier.read);
      expect(c.invalid).toBeLessThanOrEqual(c.dropped);
      expect(c.read + c.dropped).toBe(written);
      expect(c.pending).toBe(0);
      // Per-stage totals count every record written, whether the window kept it or not.
      expect(c.totals).toEqual(expectedTotals(seed, [mainCount, ...Array.from({ length: workers }, () => perWorker)]));
      // Overwrites did happen, and the reader ran while the writers were writing.
      expect(c.dropped).toBeGreaterThan(0);
      expect(drainsDuringWrites).toBeGreaterThan(0);
    },
    30_000,
  );

  it('large capacity (1<<16), 2 writer workers + main, near the 2^32 wrap: nothing dropped, everything read', async () => {
    const perWorker = 20_000;
    const mainCount = 20_000;
    const seed = SEED + 1;
    const { ring, verifier, written, drainsDuringWrites } = await run({
      capacity: 1 << 16,
      workers: 2,
      perWorker,
      mainCount,
      seed,
      startCursor: 2 ** 32 - 30_000,
    });
    // Fewer records than slots: no slot is ever reused, so nothing may be lost.
    expect(written).toBeLessThanOrEqual(1 << 16);
    expect(verifier.errors.slice(0, 5)).toEqual([]);
    const c = ring.counters();
    expect(c).toMatchObject({ written, read: written, dropped: 0, invalid: 0, pending: 0 });
    expect(verifier.read).toBe(written);
    expect(verifier.perWriter.get(0)).toBe(mainCount);
    expect(verifier.perWriter.get(1)).toBe(perWorker);
    expect(verifier.perWriter.get(2)).toBe(perWorker);
    expect(c.totals).toEqual(verifier.totals);
    expect(c.totals).toEqual(expectedTotals(seed, [mainCount, perWorker, perWorker]));
    expect(drainsDuringWrites).toBeGreaterThan(0);
  }, 30_000);

  it('writers terminated while writing keep their lanes; their replacements write to the shared lane; every committed record is read', async () => {
    const capacity = 1 << 16;
    const lanes = 3;
    const seed = SEED + 2;
    const ring = MetricsRing.create({ capacity, lanes });
    const h = new Int32Array(ring.buffer);
    // Layout, restated from ring.ts: lane l's header at byte 64 + l * (192 + 64 * capacity); owner word 0, totals words 16..21.
    const laneWord = (lane: number) => (64 + lane * (192 + 64 * capacity)) / 4;
    const laneHead = (lane: number) => [0, 1, 2, 3, 4, 5].reduce((sum, k) => sum + Atomics.load(h, laneWord(lane) + 16 + k), 0);
    const verifier = new Verifier(seed, 6);

    const start = async (writers: number[], count: number, linger: boolean): Promise<{ workers: Worker[]; exited: Promise<unknown>[] }> => {
      const gate = new SharedArrayBuffer(4);
      const workers = writers.map((writer) => tsWorker(WRITER_URL, { buffer: ring.buffer, gate, writer, count, seed, linger } satisfies RingWriterData));
      const exited = workers.map((w) => once(w, 'exit'));
      await Promise.all(workers.map((w) => once(w, 'message')));
      Atomics.store(new Int32Array(gate), 0, 1);
      Atomics.notify(new Int32Array(gate), 0);
      return { workers, exited };
    };

    // Three workers, one lane each, killed once each has committed a few thousand of its 50,000 records.
    const first = await start([1, 2, 3], 50_000, true);
    const threadIds = first.workers.map((w) => w.threadId); // -1 once a worker has stopped
    while ([0, 1, 2].some((lane) => laneHead(lane) < 3000)) ring.drain(verifier.check);
    await Promise.all(first.workers.map((w) => w.terminate()));
    await Promise.all(first.exited);
    expect([0, 1, 2].map((lane) => h[laneWord(lane)]! - 1).sort()).toEqual([...threadIds].sort());

    // Their replacements find no free lane: they and the main thread share the locked one.
    const second = await start([4, 5], 20_000, false);
    const main = recordStream(seed, 0);
    let exited = 0;
    for (const e of second.exited) void e.then(() => exited++);
    for (let i = 0; i < 5_000 || exited < 2; i++) {
      if (i < 5_000) ring.write(main.next().value);
      if (i % 64 === 0) {
        ring.drain(verifier.check);
        await tick();
      }
    }
    ring.drain(verifier.check);

    expect(verifier.errors.slice(0, 5)).toEqual([]);
    const c = ring.counters();
    // Nothing was lapped, so nothing may be lost: every committed record of the dead writers was read.
    expect(c).toMatchObject({ dropped: 0, invalid: 0, pending: 0 });
    expect(c.read).toBe(c.written);
    expect(verifier.read).toBe(c.read);
    threadIds.forEach((id, i) => {
      const lane = [0, 1, 2].find((l) => h[laneWord(l)] === id + 1)!;
      const committed = laneHead(lane);
      // A prefix of its stream, none missing: what it had committed when it died.
      expect(verifier.perWriter.get(i + 1)).toBe(committed);
      expect(verifier.lastSeq.get(i + 1)).toBe(committed - 1);
    });
    expect([verifier.perWriter.get(4), verifier.perWriter.get(5), verifier.perWriter.get(0)]).toEqual([20_000, 20_000, 5_000]);
    expect(c.totals).toEqual(verifier.totals);
  }, 60_000);
});
