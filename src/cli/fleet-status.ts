/** `spawnpool status`: a queue's waiting / active / completed / failed jobs, per host, with rate and ETA. */
import { fleetStatus, type FleetStatus } from '../fleet/status.ts';
import { msFlag, QUEUE_OPTIONS, QUEUE_USAGE, queueFlags } from './fleet-flags.ts';
import { table } from './format.ts';
import { parseFlags, UsageError } from './usage-error.ts';

export const STATUS_USAGE = `Usage: spawnpool status --redis URL --queue NAME [options]

Options:
${QUEUE_USAGE}
  --window T         the rate is of agent runs finished over the last T (default 60s)
  --json             print one JSON object
  -h, --help         show this help`;

export async function statusCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags({
    args: argv,
    allowPositionals: true,
    options: { ...QUEUE_OPTIONS, window: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    process.stdout.write(`${STATUS_USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`Unexpected argument "${positionals[0]}"\n\n${STATUS_USAGE}`);
  const where = queueFlags(values, STATUS_USAGE);
  const windowMs = msFlag('window', values.window, 1);
  const status = await fleetStatus({ ...where, ...(windowMs === undefined ? {} : { windowMs }) });
  process.stdout.write(values.json ? `${JSON.stringify(status, null, 2)}\n` : `${render(status)}\n`);
  return 0;
}

function render(s: FleetStatus): string {
  const rate = (r: number | null) => (r === null ? '-' : r.toFixed(2));
  const eta = s.etaSeconds === null ? 'unknown (no recent finishes)' : s.remaining === 0 ? 'done' : `${s.etaSeconds.toFixed(0)} s`;
  const lines = [
    `queue "${s.queue}" at ${s.redis}: ${s.waiting} waiting, ${s.active} active, ${s.completed} completed, ${s.failed} failed, ${s.delayed} delayed (retry backoff or put back)`,
    `rate: ${rate(s.rate.perSecond)} agent runs/s (${s.rate.finished} finished in the last ${Math.round(s.rate.windowMs / 1000)} s); ${s.remaining} to go, ETA ${eta}`,
    `rate limit: ${s.rateLimit === null ? 'none' : `${s.rateLimit.max} per ${s.rateLimit.durationMs} ms, across every worker`}`,
    '',
    s.hosts.length === 0
      ? 'no hosts yet'
      : table(
          ['host', 'workers', 'active', 'completed', 'failed', 'runs/s'],
          s.hosts.map((h) => [h.host, String(h.workers), String(h.active), String(h.completed), String(h.failed), rate(h.ratePerSecond)]),
        ),
  ];
  if (s.runs.length > 0) {
    lines.push(
      '',
      table(
        ['run', 'state', 'total', 'succeeded', 'failed', 'pending'],
        s.runs.map((r) => [r.run, r.state === 'completed' ? 'done' : r.state, String(r.total), String(r.succeeded), String(r.failed), String(r.pending)]),
      ),
    );
  }
  return lines.join('\n');
}
