/** What the ring scenario's main thread and its writer workers say to each other. */

export type Transport = 'ring' | 'post-each' | 'post-batched';

/** Main → worker: write `count` records by `transport`, after the gate opens. */
export interface WriteJob {
  type: 'job';
  transport: Transport;
  writer: number;
  count: number;
  /** The metrics ring (transport 'ring'). */
  ring: SharedArrayBuffer | undefined;
  /** Int32 word 0: the gate (0 wait, 1 go); word 1: writers finished. */
  control: SharedArrayBuffer;
  /** Records per message (transport 'post-batched'). */
  batch: number;
}

/** Worker → main. `ready`: waiting at the gate; `done`: every record written or posted. */
export type WorkerReply = { type: 'ready'; writer: number } | { type: 'done'; writer: number };

/** Float64 words per record in a batched message: every field of a MetricRecord, 64 bytes like a ring slot. */
export const RECORD_WORDS = 8;

/** The value a writer puts in `durationMs` of its record `seq`, so the reader can check every record. */
export function checkValue(writer: number, seq: number): number {
  return writer * 1e9 + seq * 1.5 + 0.25;
}
