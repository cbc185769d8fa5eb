/**
 * Which runs a named run still has to do. GNU parallel's `--resume` skips
 * the jobs its joblog says ended (succeeded or failed) and `--resume-failed`
 * runs the failed ones again; here the joblog is the history database (see
 * journal.ts). A run interrupted (Ctrl-C, halt `now`, a crash) or never
 * started is run in both cases.
 */
import { ConfigError } from '../errors.ts';
import type { PreviousRun, RunJournal } from './journal.ts';
import type { HarnessRun } from './types.ts';

export interface ResumePlan {
  /** What the named run holds, by run name: the next attempt is numbered after `lastAttempt`. */
  previous: Map<string, PreviousRun>;
  /** Runs not to run, with what they did before. */
  skip: Map<string, 'succeeded' | 'failed'>;
}

/**
 * `mode`: 'done' (resume: skip succeeded and failed), 'succeeded' (resume
 * failed: skip succeeded only), or undefined (a new run: the name must not
 * be in use, so a repeated command cannot run every task a second time).
 *
 * @throws ConfigError when the name is in use and no resume mode is given.
 */
export function planResume(journal: RunJournal, runs: readonly HarnessRun[], mode: 'done' | 'succeeded' | undefined): ResumePlan {
  if (mode === undefined) {
    const attempts = journal.attempts;
    if (attempts > 0) {
      throw new ConfigError(
        `${journal.file}: run "${journal.runName}" already has ${attempts} attempt${attempts === 1 ? '' : 's'} in the history: resume it (CLI: --resume, or --resume-failed to run its failed runs again; library: \`resume\` / \`resumeFailed\`), or give another run name`,
      );
    }
    return { previous: new Map(), skip: new Map() };
  }
  const previous = journal.previous();
  const skip = new Map<string, 'succeeded' | 'failed'>();
  for (const run of runs) {
    const p = previous.get(run.name);
    if (p === undefined) continue;
    if (p.succeeded) skip.set(run.name, 'succeeded');
    else if (p.failed && mode === 'done') skip.set(run.name, 'failed');
  }
  return { previous, skip };
}
