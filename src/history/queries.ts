/**
 * Reading the history: spawn latency quantiles, success rates and counts per
 * agent, and p95 per day. Tail quantiles follow the rest of spawnpool: under
 * 20 samples they are undefined, never estimated.
 */
import type { Database } from 'better-sqlite3';
import { latencyStats } from '../metrics/stats.ts';
import type { HistoryStats, RunStats, StatsOptions } from './types.ts';

interface Accumulator {
  total: number;
  spawned: number;
  succeeded: number;
  failedByStage: Record<string, number>;
  latencies: number[];
}

/** Computes the statistics in one pass over the matching agent runs. */
export function queryStats(db: Database, options: StatsOptions = {}): HistoryStats {
  const since = options.since ?? 0;
  const agentFilter = options.agent === undefined ? '' : 'AND agent = @agent';
  const params = { since, ...(options.agent === undefined ? {} : { agent: options.agent }) };
  // Schema 2 marks how spawn_ms was measured; a file opened read-only may still be at schema 1.
  const columns = (db.pragma('table_info(agent_runs)') as { name: string }[]).map((c) => c.name);
  const latency = columns.includes('spawn_ms_from')
    ? "CASE WHEN spawn_ms_from = 'build_start' THEN spawn_ms ELSE spawn_ms - coalesce(queue_ms, 0) END"
    : 'spawn_ms - coalesce(queue_ms, 0)';
  const rows = db
    .prepare(`SELECT agent, ok, spawned, stage, ${latency}, started_at FROM agent_runs WHERE started_at >= @since ${agentFilter} ORDER BY started_at`)
    .raw()
    .iterate(params) as IterableIterator<[string, number, number | null, string | null, number | null, number]>;

  const all = accumulator();
  const byAgent = new Map<string, Accumulator>();
  const byDay = new Map<string, number[]>();
  for (const [agent, ok, spawned, stage, spawnMs, startedAt] of rows) {
    let a = byAgent.get(agent);
    if (a === undefined) byAgent.set(agent, (a = accumulator()));
    for (const acc of [all, a]) {
      acc.total++;
      if (ok === 1) acc.succeeded++;
      else acc.failedByStage[stage ?? 'unknown'] = (acc.failedByStage[stage ?? 'unknown'] ?? 0) + 1;
      if (spawned === 1) {
        acc.spawned++;
        if (spawnMs !== null) acc.latencies.push(spawnMs);
      }
    }
    if (spawned === 1 && spawnMs !== null) {
      const day = new Date(startedAt).toISOString().slice(0, 10);
      let list = byDay.get(day);
      if (list === undefined) byDay.set(day, (list = []));
      list.push(spawnMs);
    }
  }
  const batches = db.prepare(`SELECT count(DISTINCT batch_id) FROM agent_runs WHERE started_at >= @since ${agentFilter}`).pluck().get(params) as number;

  return {
    since: options.since === undefined ? null : new Date(options.since).toISOString(),
    agent: options.agent ?? null,
    batches,
    ...finish(all),
    agents: [...byAgent].sort(([x], [y]) => x.localeCompare(y)).map(([agent, acc]) => ({ agent, ...finish(acc) })),
    daily: [...byDay]
      .sort(([x], [y]) => x.localeCompare(y))
      .map(([day, list]) => {
        const s = latencyStats(list);
        return { day, spawned: list.length, p50Ms: s.p50Ms, p95Ms: s.p95Ms };
      }),
  };
}

function accumulator(): Accumulator {
  return { total: 0, spawned: 0, succeeded: 0, failedByStage: {}, latencies: [] };
}

function finish(acc: Accumulator): RunStats {
  return {
    total: acc.total,
    spawned: acc.spawned,
    succeeded: acc.succeeded,
    failed: acc.total - acc.succeeded,
    failedByStage: acc.failedByStage,
    spawnSuccessRate: acc.total === 0 ? undefined : acc.spawned / acc.total,
    successRate: acc.total === 0 ? undefined : acc.succeeded / acc.total,
    latency: latencyStats(acc.latencies),
  };
}
