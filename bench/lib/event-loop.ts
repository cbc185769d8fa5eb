/**
 * Main-thread event-loop delay during one run, with perf_hooks'
 * monitorEventLoopDelay sampling every 1 ms. A fresh histogram per run: a
 * re-enabled one would count the idle gap between runs as one long delay.
 * The histogram holds the time between samples, so the delay is that minus
 * the 1 ms interval.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

const RESOLUTION_MS = 1;

export interface LoopDelay {
  p99Ms: number;
  maxMs: number;
  samples: number;
}

/** Runs `work` and returns its value with the event-loop delay seen while it ran. */
export async function measureLoopDelay<T>(work: () => Promise<T>): Promise<{ value: T; delay: LoopDelay }> {
  const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  h.enable();
  try {
    const value = await work();
    h.disable();
    const ms = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
    const delay = h.count === 0 ? { p99Ms: 0, maxMs: 0, samples: 0 } : { p99Ms: ms(h.percentile(99)), maxMs: ms(h.max), samples: h.count };
    return { value, delay };
  } finally {
    h.disable();
  }
}
