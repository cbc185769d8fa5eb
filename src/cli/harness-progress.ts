/**
 * A harness run's progress: on an interactive stderr, a bar with done /
 * failed / running counts, the rate and the ETA, redrawn as runs end and
 * four times a second; otherwise nothing until the one summary line at
 * the end (logs stay short in CI).
 */
import cliProgress from 'cli-progress';
import type { HarnessProgress, HarnessSummary } from '../harness/types.ts';
import { ms } from './format.ts';

/** Runs ended per second over the last `spanMs` (the whole run while shorter). */
export class RateWindow {
  readonly #spanMs: number;
  // [time, done count] samples, oldest first, one per update.
  #samples: [number, number][] = [];

  constructor(spanMs = 10_000) {
    this.#spanMs = spanMs;
  }

  /** `done` runs had ended at `now` (ms). Returns runs per second. */
  mark(now: number, done: number): number {
    this.#samples.push([now, done]);
    while (this.#samples.length > 2 && this.#samples[1]![0] <= now - this.#spanMs) this.#samples.shift();
    const [t0, d0] = this.#samples[0]!;
    return now > t0 ? ((done - d0) / (now - t0)) * 1000 : 0;
  }
}

export interface ProgressFigures {
  /** Runs ended per second, recently. */
  rate: number;
  /** undefined until a rate is known. */
  etaMs: number | undefined;
  /** Runs left to end. */
  left: number;
}

/** The figures a progress line shows. */
export function progressFigures(p: HarnessProgress, rate: number): ProgressFigures {
  const left = p.total - p.skipped - p.done;
  return { rate, left, etaMs: left === 0 ? 0 : rate > 0 ? (left / rate) * 1000 : undefined };
}

export interface ProgressDisplay {
  /** Redraws now (after a run ended). */
  update(): void;
  stop(): void;
}

/** A bar on a TTY stderr, else nothing. `read` gives the live counts. */
export function startHarnessProgress(read: () => HarnessProgress, enabled: boolean): ProgressDisplay {
  if (!enabled || !process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const first = read();
  const bar = new cliProgress.SingleBar(
    {
      format: '{bar} {done}/{todo} | ok {ok} failed {failed} | running {running} retrying {retrying} | {rate}/s | ETA {eta_text}',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  const window = new RateWindow();
  const payload = () => {
    const p = read();
    const f = progressFigures(p, window.mark(p.elapsedMs, p.done));
    return {
      value: p.done,
      payload: {
        done: p.done,
        todo: p.total - p.skipped,
        ok: p.succeeded,
        failed: p.failed,
        running: p.running + p.starting,
        retrying: p.retrying,
        rate: f.rate.toFixed(1),
        eta_text: f.etaMs === undefined ? '?' : duration(f.etaMs),
      },
    };
  };
  const start = payload();
  bar.start(Math.max(1, first.total - first.skipped), start.value, start.payload);
  const draw = () => {
    const { value, payload: data } = payload();
    bar.update(value, data);
  };
  const timer = setInterval(draw, 250);
  timer.unref();
  return {
    update: draw,
    stop() {
      clearInterval(timer);
      bar.stop();
    },
  };
}

/** The one line a non-interactive run prints at the end (and a TTY one too, after the bar). */
export function summaryLine(s: HarnessSummary): string {
  const parts = [`${s.succeeded} succeeded`, `${s.failed} failed`];
  if (s.interrupted > 0) parts.push(`${s.interrupted} interrupted`);
  if (s.notStarted > 0) parts.push(`${s.notStarted} not started`);
  if (s.skipped > 0) parts.push(`${s.skipped} skipped (${s.previouslySucceeded} succeeded before)`);
  const retried = s.retried > 0 ? `, ${s.retried} retried` : '';
  const halted = s.halted === undefined ? '' : `; halted (${s.halted.when}): ${s.halted.reason}`;
  return `${s.runName === undefined ? 'harness' : `run "${s.runName}"`}: ${s.total} runs: ${parts.join(', ')}; ${s.attempts} attempts${retried}; wall ${duration(s.wallMs)}, ${s.runsPerSecond.toFixed(1)} runs/s${halted}`;
}

/** 850 ms, 12.3 s, 4 m 05 s, 1 h 02 m. */
export function duration(msValue: number): string {
  if (msValue < 1000) return `${ms(msValue)} ms`;
  const s = msValue / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} m`;
}
