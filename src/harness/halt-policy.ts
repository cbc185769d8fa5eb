/**
 * When to stop early, with GNU parallel's `--halt` semantics: after N (or N%
 * of the runs to do) have failed, succeeded or ended, stop starting new runs
 * (`soon`) or also kill the running ones (`now`). Runs count once their
 * outcome is final, retries included, as in GNU parallel; percentages are of
 * the runs this invocation has to do.
 */
import { ConfigError } from '../errors.ts';

export type HaltWhen = 'soon' | 'now';
export type HaltWhy = 'fail' | 'success' | 'done';

/**
 * When a harness run stops early, as GNU parallel's `--halt` (parsed by {@link parseHalt}).
 *
 * @example
 * const halt: HaltSpec = { when: 'soon', why: 'fail', value: 10, percent: true }; // --halt soon,fail=10%
 */
export interface HaltSpec {
  /** `soon`: start nothing more and let running attempts finish; `now`: also stop those running. */
  when: HaltWhen;
  /** What is counted: failed, succeeded, or finished runs. */
  why: HaltWhy;
  /** A count (>= 1), or a percentage in (0, 100] when `percent`. */
  value: number;
  /** True when `value` is a percentage of the runs this invocation has to do. */
  percent: boolean;
}

// GNU parallel's short forms.
const SHORT: Record<string, string> = { '0': 'never', '1': 'soon,fail=1', '2': 'now,fail=1', '-1': 'soon,success=1', '-2': 'now,success=1' };

/**
 * Parses GNU parallel's `--halt` forms: `never`, `soon,fail=3`, `now,fail=10%`,
 * `soon,success=1`, `now,done=50%`, and the short `0`, `1`, `2`, `-1`, `-2`, `N%`.
 * Returns undefined for `never`.
 *
 * @throws ConfigError naming `what` (the flag or option).
 * @example
 * parseHalt('now,fail=1', '--halt'); // { when: 'now', why: 'fail', value: 1, percent: false }
 */
export function parseHalt(text: string, what = 'the `halt` option'): HaltSpec | undefined {
  let spec = SHORT[text.trim()] ?? text.trim();
  if (/^\d+(\.\d+)?%$/.test(spec)) spec = `soon,fail=${spec}`;
  if (spec === 'never') return undefined;
  const m = /^(soon|now),(fail|success|done)=(\d+(?:\.\d+)?)(%?)$/.exec(spec);
  const bad = () =>
    new ConfigError(
      `Expected ${what} to be never, or soon|now,fail|success|done=N or N% (e.g. soon,fail=3, now,fail=10%, now,success=1; GNU parallel's 0, 1, 2, -1, -2 too), got \`${text}\``,
    );
  if (m === null) throw bad();
  const value = Number(m[3]);
  const percent = m[4] === '%';
  if (percent ? !(value > 0 && value <= 100) : !(Number.isInteger(value) && value >= 1)) throw bad();
  return { when: m[1] as HaltWhen, why: m[2] as HaltWhy, value, percent };
}

/** The spec back in GNU parallel's words. */
export function formatHalt(spec: HaltSpec): string {
  return `${spec.when},${spec.why}=${spec.value}${spec.percent ? '%' : ''}`;
}

export class HaltPolicy {
  readonly spec: HaltSpec;
  readonly #threshold: number;
  #failed = 0;
  #succeeded = 0;

  /** `toRun`: the runs this invocation has to do (what a percentage is of). */
  constructor(spec: HaltSpec, toRun: number) {
    this.spec = spec;
    this.#threshold = spec.percent ? (toRun * spec.value) / 100 : spec.value;
  }

  /** Counts a run's final outcome; returns `soon` / `now` once the condition is met (and again after). */
  record(ok: boolean): HaltWhen | undefined {
    if (ok) this.#succeeded++;
    else this.#failed++;
    const count = this.spec.why === 'fail' ? this.#failed : this.spec.why === 'success' ? this.#succeeded : this.#failed + this.#succeeded;
    // GNU parallel: halt once count >= N (or >= total * N%); a count of 0 never triggers.
    return count > 0 && count >= this.#threshold ? this.spec.when : undefined;
  }
}
