/**
 * `spawnpool enqueue`: one run (every agent of a file, once per task) into a
 * BullMQ queue, as one job per agent run under one parent job. Validated and
 * pre-flighted first: bad input enqueues nothing (exit 2).
 */
import { enqueueRun, waitForRun } from '../fleet/enqueue.ts';
import type { RunSummary } from '../fleet/job.ts';
import { ConfigError } from '../errors.ts';
import { readAgentsFile } from '../spec/load.ts';
import { loadTasks } from '../tasks/load-tasks.ts';
import { msFlag, QUEUE_OPTIONS, QUEUE_USAGE, queueFlags } from './fleet-flags.ts';
import { intFlag, parseFlags, UsageError } from './usage-error.ts';

export const ENQUEUE_USAGE = `Usage: spawnpool enqueue --redis URL --queue NAME <agents.json> [options]

Adds one run to the queue: one job per agent per task (id <run>/<agent>/<task id>), all
children of the run's parent job. Enqueueing the same run again adds nothing.

Options:
${QUEUE_USAGE}
  --tasks FILE       task list, JSON lines (.jsonl) or CSV with a header (.csv): each agent runs
                     once per row, with the row's fields as {{task.<field>}}; rows are identified
                     by their "id" field, or numbered 1, 2, ... when there is no id
  --run-name NAME    the run's name (letters, digits, ".", "_", "-", starting with a letter;
                     default: run-<12 hex digits of the sha256 of the agents and tasks>)
  --attempts N       tries per agent run, a failed agent being retried (default 1)
  --backoff T        exponential backoff: first retry after T, then 2T, 4T... (default 1s)
  --rate-limit N/T   at most N agent runs started per T across every worker of the queue
                     (BullMQ's global rate limit, kept in Redis), e.g. 50/1m; "off" removes it
  --by-name          jobs carry agent names, not specs: workers need the same file (--agents)
  --no-preflight     do not check template and context files on this host first
  --wait             wait until the run is done, print its summary; exit 1 if any run failed
  --timeout T        with --wait: give up after T (exit 1)
  --json             print JSON
  -h, --help         show this help

Relative paths in the agents (cwd, templateFile, context) are checked against the agents file's
folder here, and resolve against each worker's --root there.`;

export async function enqueueCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags({
    args: argv,
    allowPositionals: true,
    options: {
      ...QUEUE_OPTIONS,
      tasks: { type: 'string' },
      'run-name': { type: 'string' },
      attempts: { type: 'string' },
      backoff: { type: 'string' },
      'rate-limit': { type: 'string' },
      'by-name': { type: 'boolean', default: false },
      'no-preflight': { type: 'boolean', default: false },
      wait: { type: 'boolean', default: false },
      timeout: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${ENQUEUE_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`Expected exactly one agents file\n\n${ENQUEUE_USAGE}`);
  const where = queueFlags(values, ENQUEUE_USAGE);
  const attempts = intFlag('attempts', values.attempts, 1);
  const backoffMs = msFlag('backoff', values.backoff);
  const timeoutMs = msFlag('timeout', values.timeout, 1);
  if (timeoutMs !== undefined && !values.wait) throw new UsageError('--timeout applies to --wait');
  const rateLimit = rateLimitFlag(values['rate-limit']);
  const run = values['run-name'];
  if (run !== undefined && !/^[A-Za-z][A-Za-z0-9._-]{0,99}$/.test(run)) {
    throw new UsageError(`Expected --run-name to be 1 to 100 letters, digits, ".", "_" or "-", starting with a letter, got "${run}"`);
  }

  const file = positionals[0]!;
  // As written: the workers apply defaults and tasks per job; enqueueRun validates every run.
  const { written: agents } = await readAgentsFile(file);
  const tasks = values.tasks === undefined ? undefined : await loadTasks(values.tasks);
  const report = await enqueueRun({
    ...where,
    agents,
    agentsFile: file,
    ...(tasks === undefined ? {} : { tasks }),
    ...(run === undefined ? {} : { run }),
    byName: values['by-name'],
    preflight: !values['no-preflight'],
    ...(attempts === undefined ? {} : { attempts }),
    ...(backoffMs === undefined ? {} : { backoffMs }),
    ...(rateLimit === undefined ? {} : { rateLimit }),
  });
  const line = `run "${report.run}": ${report.jobs} agent run${report.jobs === 1 ? '' : 's'} in queue "${report.queue}" (${report.added} added, ${report.jobs - report.added} already there)`;
  if (!values.wait) {
    process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : `${line}\n`);
    return 0;
  }
  if (!values.json) process.stderr.write(`${line}; waiting until it is done\n`);
  let summary: RunSummary;
  try {
    summary = await waitForRun({ ...where, run: report.run, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    process.stderr.write(`spawnpool enqueue: ${(error as Error).message}\n`);
    return 1;
  }
  if (values.json) process.stdout.write(`${JSON.stringify({ ...report, summary })}\n`);
  else {
    const failures = summary.failures.map((f) => `  ${f.jobId}: ${f.reason}`);
    process.stdout.write(
      [`run "${summary.run}" done: ${summary.succeeded}/${summary.total} succeeded, ${summary.failed} failed`, ...failures].join('\n') + '\n',
    );
  }
  return summary.failed === 0 ? 0 : 1;
}

function rateLimitFlag(value: string | undefined): { max: number; durationMs: number } | null | undefined {
  if (value === undefined) return undefined;
  if (value === 'off') return null;
  const m = /^(\d+)\/(.+)$/.exec(value);
  const max = m === null ? Number.NaN : Number(m[1]);
  if (m === null || !Number.isSafeInteger(max) || max < 1)
    throw new UsageError(`Expected --rate-limit to be N/T (at most N starts per duration T, e.g. 50/1m or 5/1000), or off, got "${value}"`);
  return { max, durationMs: msFlag('rate-limit', m[2], 1)! };
}
