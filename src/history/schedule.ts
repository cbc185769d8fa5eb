/**
 * Periodic cleanup inside a long-running host. The next run is armed only
 * when the previous one has finished, so runs never overlap however long one
 * takes; the timer is unref'd, so a schedule never keeps the process alive.
 */
import type { CleanupOptions, CleanupReport } from './types.ts';
import { parseDuration } from './duration.ts';

/**
 * A periodic cleanup of the history (`history.scheduleCleanup()`): what `cleanup()` takes, plus how often.
 *
 * @example
 * const schedule = spawner.history?.scheduleCleanup({ every: '1d', olderThan: '30d', runNow: true });
 */
export interface ScheduleOptions extends Omit<CleanupOptions, 'signal' | 'now'> {
  /** Time from the end of one run to the start of the next: ms, or a duration such as `1d`. */
  every: number | string;
  /**
   * Also run once right away; otherwise the first run is `every` from now.
   * @default false
   */
  runNow?: boolean;
  /** Called with each run's report. */
  onResult?: (report: CleanupReport) => void;
  /** Called when a run fails; the schedule goes on. Default: a process warning. */
  onError?: (error: Error) => void;
}

const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** A running schedule. `stop()` it, or close the history (which stops it). */
export class CleanupSchedule {
  readonly everyMs: number;
  readonly #run: (signal: AbortSignal) => Promise<CleanupReport>;
  readonly #options: ScheduleOptions;
  readonly #stopper = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  // The run in progress, if any; never more than one.
  #current: Promise<void> | undefined;
  #runs = 0;

  /** @internal Use `history.scheduleCleanup()`. */
  constructor(run: (signal: AbortSignal) => Promise<CleanupReport>, options: ScheduleOptions) {
    this.everyMs = parseDuration(options.every, 'the `every` option');
    this.#run = run;
    this.#options = options;
    if (options.runNow) this.#start();
    else this.#arm();
  }

  /** Runs finished so far (successful or not). */
  get runs(): number {
    return this.#runs;
  }

  get running(): boolean {
    return this.#current !== undefined;
  }

  get stopped(): boolean {
    return this.#stopper.signal.aborted;
  }

  /** No more runs; a run in progress stops after its current chunk. Settles once it has. Idempotent. */
  async stop(): Promise<void> {
    this.#stopper.abort();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#current;
  }

  #arm(remainingMs = this.everyMs): void {
    if (this.stopped) return;
    // setTimeout fires at once past 2^31-1 ms (~24.8 days): longer periods are waited in steps.
    const step = Math.min(remainingMs, MAX_TIMEOUT_MS);
    this.#timer = setTimeout(() => (remainingMs > step ? this.#arm(remainingMs - step) : this.#start()), step);
    this.#timer.unref();
  }

  #start(): void {
    this.#timer = undefined;
    if (this.stopped) return;
    this.#current = (async () => {
      try {
        // Not `onResult?.(await run())`: without onResult, that would skip the run itself.
        const report = await this.#run(this.#stopper.signal);
        this.#options.onResult?.(report);
      } catch (error) {
        const onError = this.#options.onError ?? warn;
        try {
          onError(error as Error);
        } catch (thrown) {
          // A throwing callback must not end the schedule.
          warn(thrown as Error);
        }
      } finally {
        this.#runs++;
        this.#current = undefined;
        this.#arm();
      }
    })();
  }
}

function warn(error: Error): void {
  process.emitWarning(`spawnpool: scheduled history cleanup failed: ${error.message}`);
}
