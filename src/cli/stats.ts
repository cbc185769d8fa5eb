/**
 * `spawnpool stats`: spawn latency quantiles, success rates and counts per
 * agent from the history database, with a chart of p95 per day.
 */
import { parseDuration } from '../history/duration.ts';
import { History } from '../history/history.ts';
import type { DayStats, HistoryStats, RunStats } from '../history/types.ts';
import { MIN_TAIL_SAMPLES } from '../metrics/stats.ts';
import { bar } from './chart.ts';
import { ms, pct, table } from './format.ts';
import { dbPath, DB_USAGE } from './history-flags.ts';
import { parseFlags, UsageError } from './usage-error.ts';

export const STATS_USAGE = `Usage: spawnpool stats [options]

Options:
  --since DURATION   only batches started within it, e.g. 24h, 7d, 2w (default: all)
  --agent NAME       only this agent
  --json             print the figures as one JSON object
${DB_USAGE}
  -h, --help         show this help`;

const CHART_WIDTH = 32;

export async function statsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags({
    args: argv,
    allowPositionals: true,
    options: {
      since: { type: 'string' },
      agent: { type: 'string' },
      json: { type: 'boolean', default: false },
      db: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${STATS_USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`Unexpected argument "${positionals[0]}"\n\n${STATS_USAGE}`);
  const since = values.since === undefined ? undefined : Date.now() - parseDuration(values.since, '--since');
  // Read-only, creating no file: stats may be run by a user who can only read the owner's database.
  const history = History.open({ path: dbPath(values.db), readonly: true });
  let stats: HistoryStats;
  try {
    stats = history.stats({ since, agent: values.agent });
  } finally {
    await history.close();
  }
  if (values.json) process.stdout.write(`${JSON.stringify({ db: history.path, ...stats }, (_k, v: unknown) => (v === undefined ? null : v), 2)}\n`);
  else process.stdout.write(`${render(history.path, stats, values.since)}\n`);
  return 0;
}

function render(file: string, s: HistoryStats, sinceFlag: string | undefined): string {
  const scope = `${s.since === null ? 'all history' : `since ${s.since} (${sinceFlag})`}, ${s.agent === null ? 'all agents' : `agent "${s.agent}"`}`;
  if (s.total === 0) return `${file}: no agent runs (${scope})`;
  const rows = s.agents.map((a) => [a.agent, ...counts(a), ms(a.latency.p50Ms), ms(a.latency.p95Ms), ms(a.latency.p99Ms)]);
  const tailNote = s.agents.some((a) => a.spawned > 0 && a.latency.p95Ms === undefined) ? `\n(p95/p99 are n/a under ${MIN_TAIL_SAMPLES} spawns)` : '';
  return [
    `${file}: ${scope}`,
    `${s.batches} batches, ${s.total} agent runs: ${s.spawned} spawned (${pct(s.spawnSuccessRate)}), ${s.succeeded} succeeded (${pct(s.successRate)}), ${s.failed} failed${failures(s)}`,
    `spawn latency ms: p50 ${ms(s.latency.p50Ms)}  p95 ${ms(s.latency.p95Ms)}  p99 ${ms(s.latency.p99Ms)}  (${s.latency.samples} spawns)`,
    '',
    table(['agent', 'runs', 'spawned', 'ok', 'failed', 'spawn %', 'ok %', 'p50 ms', 'p95 ms', 'p99 ms'], rows) + tailNote,
    '',
    'p95 spawn latency per day (UTC)',
    ...chart(s.daily),
  ].join('\n');
}

function counts(r: RunStats): string[] {
  return [String(r.total), String(r.spawned), String(r.succeeded), String(r.failed), pct(r.spawnSuccessRate), pct(r.successRate)];
}

function failures(s: HistoryStats): string {
  const parts = Object.entries(s.failedByStage).map(([stage, n]) => `${stage} ${n}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

function chart(days: DayStats[]): string[] {
  if (days.length === 0) return ['  (no spawns)'];
  const max = Math.max(0, ...days.map((d) => d.p95Ms ?? 0));
  return days.map((d) => {
    const count = `${d.spawned} spawns`;
    if (d.p95Ms === undefined) return `${d.day}  ${'n/a'.padEnd(CHART_WIDTH)}  ${''.padStart(8)}  (${count}, needs ${MIN_TAIL_SAMPLES})`;
    return `${d.day}  ${bar(d.p95Ms, max, CHART_WIDTH).padEnd(CHART_WIDTH)}  ${`${ms(d.p95Ms)} ms`.padStart(8)}  (${count})`;
  });
}
