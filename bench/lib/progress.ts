/**
 * The progress bar (cli-progress, on stderr so stdout stays the report).
 * Scenarios announce work as they learn its size, so the total grows.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** Adds `units` of upcoming work. */
  plan(units: number): void;
  /** One unit done; `label` says which. */
  tick(label: string): void;
  stop(): void;
}

/** A bar on stderr, or nothing when quiet or stderr is not a terminal. */
export function createProgress(quiet: boolean): Progress {
  if (quiet || !process.stderr.isTTY) return { plan() {}, tick() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: 'bench {bar} {percentage}% | {value}/{total} | {label}', hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let total = 0;
  let started = false;
  return {
    plan(units) {
      total += units;
      if (!started) {
        bar.start(total, 0, { label: '' });
        started = true;
      } else bar.setTotal(total);
    },
    tick(label) {
      if (started) bar.increment(1, { label });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
