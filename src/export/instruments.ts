/**
 * The instruments spawnpool exports, defined once so that prom-client and
 * OpenTelemetry report the same observations under the same Prometheus
 * names; the one mapping from a record to those observations; and
 * `RecordInstruments`, which creates, zeroes and updates the record-driven
 * instruments through whichever library an exporter wraps.
 *
 * Series are bounded: every label takes a value from a fixed, documented set
 * (`outcome`, `stage`, `error_type`), unless per-agent labels are switched on
 * (`agentLabels`), which adds `agent` to the per-outcome counters and the
 * histograms. OpenTelemetry names follow the semantic conventions (dotted,
 * the unit in `unit`, never in the name; failures carry `error.type`); the
 * name plus the unit suffix the Prometheus compatibility spec adds is the
 * prom-client name (`spawnpool.spawn.duration` + `s` = `spawnpool_spawn_duration_seconds`).
 */
import type { ErrorCode, FailureStage } from '../errors.ts';
import type { NamedRecord } from '../metrics/spawner-metrics.ts';

/**
 * Renard preferred numbers (ISO 3): R40 steps by at most 7.1%, R20 by 12.5%, R5 by 60%.
 * Mantissas in [1, 10), rounded as the standard rounds them.
 */
const R40 = [
  1, 1.06, 1.12, 1.18, 1.25, 1.32, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2, 2.12, 2.24, 2.36, 2.5, 2.65, 2.8, 3, 3.15, 3.35, 3.55, 3.75, 4, 4.25, 4.5, 4.75, 5, 5.3,
  5.6, 6, 6.3, 6.7, 7.1, 7.5, 8, 8.5, 9, 9.5,
];
const R20 = [1, 1.12, 1.25, 1.4, 1.6, 1.8, 2, 2.24, 2.5, 2.8, 3.15, 3.55, 4, 4.5, 5, 5.6, 6.3, 7.1, 8, 9];
const R5 = [1, 1.6, 2.5, 4, 6.3];

/** Every number of `series` from `from` to `to` inclusive (seconds). */
function preferred(series: readonly number[], from: number, to: number): number[] {
  const out: number[] = [];
  for (let exponent = Math.floor(Math.log10(from)); 10 ** exponent <= to; exponent++) {
    for (const mantissa of series) {
      const value = Number((mantissa * 10 ** exponent).toPrecision(3));
      if (value >= from && value <= to) out.push(value);
    }
  }
  return out;
}

/**
 * Spawn latency, seconds. R40 from 5 ms to 2 s (adjacent bounds at most 7.1%
 * apart, so `histogram_quantile`'s answer is within 7.1% of the observation
 * at the quantile's rank), R20 to 5 s (12.5%) for a loaded machine, then coarse.
 */
export const SPAWN_BUCKETS: readonly number[] = [0.001, 0.0025, ...preferred(R40, 0.005, 2), ...preferred(R20, 2.24, 5), 6.3, 8, 10, 15, 20, 30];
/** Queue wait: nothing to minutes (a long batch under a small `concurrency`). R5, 0.1 ms to 630 s. */
export const QUEUE_BUCKETS: readonly number[] = preferred(R5, 0.0001, 630);
/** Prompt build on a worker: sub-millisecond to the 60 s build timeout. R5, 0.1 ms to 63 s. */
export const BUILD_BUCKETS: readonly number[] = preferred(R5, 0.0001, 63);
/** Agent run time: a failing command's milliseconds to an hour. R5, 10 ms to 1 h. */
export const RUN_BUCKETS: readonly number[] = [...preferred(R5, 0.01, 2500), 4000];

export type HistogramKey = 'spawn' | 'queue' | 'build' | 'run';
export type Outcome = 'ok' | 'failed';
export const OUTCOMES: readonly Outcome[] = ['ok', 'failed'];

export interface Named {
  /** prom-client name (counters with `_total`). */
  prometheus: string;
  /** OpenTelemetry name. */
  otel: string;
  /** UCUM unit (`s`), or an annotation in braces for counts. */
  unit: string;
  help: string;
}

export interface HistogramDef extends Named {
  key: HistogramKey;
  buckets: readonly number[];
  /** Whether the histogram is split by `outcome`. */
  byOutcome: boolean;
}

/** Histograms in seconds. Labels: `outcome` where `byOutcome`, plus `agent` with per-agent labels. */
export const HISTOGRAMS: readonly HistogramDef[] = [
  {
    key: 'spawn',
    prometheus: 'spawnpool_spawn_duration_seconds',
    otel: 'spawnpool.spawn.duration',
    unit: 's',
    buckets: SPAWN_BUCKETS,
    byOutcome: true,
    help: 'Spawn latency: the prompt build starting to the agent counting as spawned (or its spawn failing). Queue wait is not included: see spawnpool_queue_wait_seconds.',
  },
  {
    key: 'queue',
    prometheus: 'spawnpool_queue_wait_seconds',
    otel: 'spawnpool.queue.wait',
    unit: 's',
    buckets: QUEUE_BUCKETS,
    byOutcome: false,
    help: "Queue wait: the batch start to the agent's prompt build starting (the concurrency limit and the worker pool), for every agent.",
  },
  {
    key: 'build',
    prometheus: 'spawnpool_build_duration_seconds',
    otel: 'spawnpool.build.duration',
    unit: 's',
    buckets: BUILD_BUCKETS,
    byOutcome: true,
    help: 'Prompt build time on a worker thread (agents with a prompt).',
  },
  {
    key: 'run',
    prometheus: 'spawnpool_run_duration_seconds',
    otel: 'spawnpool.run.duration',
    unit: 's',
    buckets: RUN_BUCKETS,
    byOutcome: true,
    help: 'Agent run time: spawned to exit. outcome ok: exited with code 0.',
  },
];

export type CounterKey = 'builds' | 'spawns' | 'runs';

export interface CounterDef extends Named {
  key: CounterKey;
}

/** One counter per meaning, each labelled `outcome` (plus `agent` with per-agent labels). */
export const COUNTERS: readonly CounterDef[] = [
  {
    key: 'builds',
    prometheus: 'spawnpool_builds_total',
    otel: 'spawnpool.builds',
    unit: '{build}',
    help: 'Prompt builds on a worker thread (agents with a prompt), by outcome: ok = built, failed = the build failed.',
  },
  {
    key: 'spawns',
    prometheus: 'spawnpool_spawns_total',
    otel: 'spawnpool.spawns',
    unit: '{agent}',
    help: 'Agents whose spawn is known, one per agent, by outcome: ok = spawned (its process exists, or printed its ready line); failed = never spawned (its prompt build failed, it could not be started or never became ready, or it was stopped first).',
  },
  {
    key: 'runs',
    prometheus: 'spawnpool_runs_total',
    otel: 'spawnpool.runs',
    unit: '{agent}',
    help: 'Spawned agents that exited, one per spawned agent, by outcome: ok = exited with code 0; failed = non-zero exit, killed by a signal, past its timeout, or stopped.',
  },
];

export const ERRORS: Named = {
  prometheus: 'spawnpool_errors_total',
  otel: 'spawnpool.errors',
  unit: '{agent}',
  help: 'Failed agents, one per failed agent, by the stage that failed (build, spawn, run, timeout, aborted) and error code (error_type).',
};

export const BATCHES: Named = {
  prometheus: 'spawnpool_batches_total',
  otel: 'spawnpool.batches',
  unit: '{batch}',
  help: 'Batches started (spawnBatch calls).',
};

export const RING_WRITTEN: Named = {
  prometheus: 'spawnpool_ring_records_written_total',
  otel: 'spawnpool.ring.records.written',
  unit: '{record}',
  help: 'Metric records written to the ring by every thread.',
};

export const RING_DROPPED: Named = {
  prometheus: 'spawnpool_ring_records_dropped_total',
  otel: 'spawnpool.ring.records.dropped',
  unit: '{record}',
  help: 'Metric records lost: overwritten before they were read, or torn. Every figure above misses what they said.',
};

export type AgentGaugeKey = 'running' | 'pending';

/** Agents now, read from the ring's exact totals at scrape time. */
export const AGENT_GAUGES: readonly (Named & { key: AgentGaugeKey })[] = [
  { key: 'running', prometheus: 'spawnpool_agents_running', otel: 'spawnpool.agents.running', unit: '{agent}', help: 'Agents spawned and not exited yet.' },
  {
    key: 'pending',
    prometheus: 'spawnpool_agents_pending',
    otel: 'spawnpool.agents.pending',
    unit: '{agent}',
    help: 'Agents of started batches whose spawn is not known yet (queued, building or launching).',
  },
];

export type LastBatchKey = 'agents' | 'spawned' | 'succeeded' | 'duration' | 'end';

/** The last batch that ended (every agent spawned and exited, or failed): what a Pushgateway or textfile user reads. 0 until one has. */
export const LAST_BATCH: readonly (Named & { key: LastBatchKey })[] = [
  {
    key: 'agents',
    prometheus: 'spawnpool_last_batch_agents',
    otel: 'spawnpool.last_batch.agents',
    unit: '{agent}',
    help: 'Agents in the last batch that ended.',
  },
  {
    key: 'spawned',
    prometheus: 'spawnpool_last_batch_spawned',
    otel: 'spawnpool.last_batch.spawned',
    unit: '{agent}',
    help: 'Agents of the last batch that ended that spawned.',
  },
  {
    key: 'succeeded',
    prometheus: 'spawnpool_last_batch_succeeded',
    otel: 'spawnpool.last_batch.succeeded',
    unit: '{agent}',
    help: 'Agents of the last batch that ended that exited with code 0.',
  },
  {
    key: 'duration',
    prometheus: 'spawnpool_last_batch_duration_seconds',
    otel: 'spawnpool.last_batch.duration',
    unit: 's',
    help: 'The last batch that ended: its start to its last agent ending.',
  },
  {
    key: 'end',
    prometheus: 'spawnpool_last_batch_end_timestamp_seconds',
    otel: 'spawnpool.last_batch.end_timestamp',
    unit: 's',
    help: 'When the last batch that ended did, in seconds since the epoch; 0 before any has.',
  },
];

export const SPAWNER_INFO: Named = {
  prometheus: 'spawnpool_spawner_info',
  otel: 'spawnpool.spawner.info',
  unit: '1',
  help: "Always 1; run_id is the spawner's run id, as in the JSON lines and the history (batches.run_id).",
};

export type ErrorType = ErrorCode | 'unknown';

/**
 * The documented error series: created at 0 when the spawner starts. A code
 * outside this table (a future one) still counts, in a series of its own.
 */
export const ERROR_SERIES: Readonly<Record<FailureStage, readonly ErrorCode[]>> = {
  build: ['E_BUILD', 'E_BUILD_WORKER', 'E_BUILD_TIMEOUT', 'E_CONTEXT_ESCAPE', 'E_CONTEXT_READ', 'E_TEMPLATE'],
  spawn: ['E_ENOENT', 'E_EACCES', 'E_CWD', 'E_SPAWN', 'E_ARG_TOO_LONG', 'E_READY', 'E_TIMEOUT', 'E_LAUNCHER'],
  run: ['E_EXIT', 'E_SIGNAL', 'E_LAUNCHER'],
  timeout: ['E_TIMEOUT'],
  aborted: ['E_ABORTED', 'E_CLOSED'],
};

const BUILD_CODES = new Set<ErrorType>(ERROR_SERIES.build);
const STOP_CODES = new Set<ErrorType>(ERROR_SERIES.aborted);

/** What one ring record contributes to the exported instruments. */
export interface RecordObservations {
  agent: string;
  counter: CounterKey;
  outcome: Outcome;
  /** Set when this record ends a failed agent (a failed build is followed by its failed spawn, which counts). */
  error: { stage: FailureStage; type: ErrorType } | undefined;
  /** Seconds per histogram; a histogram absent here is not observed. */
  seconds: Partial<Record<HistogramKey, number>>;
}

/**
 * Maps a record to its observations. The SPAWN record carries the queue wait
 * of every agent (the BUILD record only of those with a prompt), so it is
 * observed from there. Every agent has exactly one SPAWN record and, if
 * spawned, one EXIT record, so an agent ends in one failed SPAWN or one
 * EXIT: the record that counts its error.
 */
export function observationsOf(record: NamedRecord): RecordObservations {
  const outcome: Outcome = record.ok ? 'ok' : 'failed';
  const type: ErrorType = record.error ?? 'unknown';
  const base = { agent: record.agent, outcome };
  switch (record.stage) {
    case 'build':
      return { ...base, counter: 'builds', error: undefined, seconds: { build: seconds(record.buildMs) } };
    case 'spawn':
      return {
        ...base,
        counter: 'spawns',
        error: record.ok ? undefined : { stage: BUILD_CODES.has(type) ? 'build' : STOP_CODES.has(type) ? 'aborted' : 'spawn', type },
        seconds: { spawn: seconds(record.spawnMs), queue: seconds(record.queueMs) },
      };
    case 'exit':
      return {
        ...base,
        counter: 'runs',
        error: record.ok ? undefined : { stage: type === 'E_TIMEOUT' ? 'timeout' : STOP_CODES.has(type) ? 'aborted' : 'run', type },
        seconds: { run: seconds(record.runMs) },
      };
  }
}

/** [stage, error type] of every documented error series. */
export function errorSeries(): [FailureStage, ErrorCode][] {
  return (Object.entries(ERROR_SERIES) as [FailureStage, readonly ErrorCode[]][]).flatMap(([stage, codes]) =>
    codes.map((code): [FailureStage, ErrorCode] => [stage, code]),
  );
}

type Labels = Record<string, string>;

/**
 * The library-specific half of an exporter: how prom-client or OpenTelemetry
 * creates and updates one instrument. `H` and `C` are its histogram and
 * counter types.
 */
export interface InstrumentLibrary<H, C> {
  /** The key of an error's code: `error_type` in Prometheus, `error.type` in the OpenTelemetry conventions. */
  readonly errorTypeLabel: string;
  /** `labelNames`: every label the instrument's series will carry (prom-client declares them up front). */
  histogram(def: HistogramDef, labelNames: readonly string[]): H;
  counter(def: Named, labelNames: readonly string[]): C;
  observe(histogram: H, seconds: number, labels: Labels): void;
  add(counter: C, by: number, labels: Labels): void;
  /** Creates a histogram series at 0; absent where the library cannot (OpenTelemetry has no point before the first measurement). */
  zero?(histogram: H, labels: Labels): void;
}

/**
 * The instruments that records drive (the histograms, the per-outcome
 * counters and the error counter), created through `library` from the
 * definitions above. Every series of a fixed label set exists at 0 from the
 * start; with per-agent labels, an agent's series from when its name is
 * first declared; each record is observed as `observationsOf` maps it.
 */
export class RecordInstruments<H, C> {
  readonly #library: InstrumentLibrary<H, C>;
  readonly #agentLabels: boolean;
  readonly #histograms: Record<HistogramKey, { def: HistogramDef; instrument: H }>;
  readonly #counters: Record<CounterKey, C>;
  readonly #errors: C;
  // Agent names whose series exist (per-agent labels only).
  readonly #agents = new Set<string>();

  constructor(library: InstrumentLibrary<H, C>, agentLabels: boolean) {
    this.#library = library;
    this.#agentLabels = agentLabels;
    const agent = agentLabels ? ['agent'] : [];
    this.#histograms = byKey(HISTOGRAMS, (def) => ({ def, instrument: library.histogram(def, [...(def.byOutcome ? ['outcome'] : []), ...agent]) }));
    this.#counters = byKey(COUNTERS, (def) => library.counter(def, ['outcome', ...agent]));
    this.#errors = library.counter(ERRORS, ['stage', library.errorTypeLabel]);
    for (const [stage, code] of errorSeries()) library.add(this.#errors, 0, { stage, [library.errorTypeLabel]: code });
    if (!agentLabels) this.#zero({});
  }

  /** Creates an agent's series at 0 the first time its name is seen (per-agent labels only). */
  declareAgents(names: readonly string[]): void {
    if (!this.#agentLabels) return;
    for (const name of names) {
      if (this.#agents.has(name)) continue;
      this.#agents.add(name);
      this.#zero({ agent: name });
    }
  }

  observe(record: NamedRecord): void {
    const o = observationsOf(record);
    const agent: Labels = this.#agentLabels ? { agent: o.agent } : {};
    for (const [key, value] of Object.entries(o.seconds) as [HistogramKey, number][]) {
      const { def, instrument } = this.#histograms[key];
      this.#library.observe(instrument, value, def.byOutcome ? { outcome: o.outcome, ...agent } : agent);
    }
    this.#library.add(this.#counters[o.counter], 1, { outcome: o.outcome, ...agent });
    if (o.error !== undefined) this.#library.add(this.#errors, 1, { stage: o.error.stage, [this.#library.errorTypeLabel]: o.error.type });
  }

  #zero(extra: Labels): void {
    const lib = this.#library;
    for (const outcome of OUTCOMES) for (const counter of Object.values<C>(this.#counters)) lib.add(counter, 0, { outcome, ...extra });
    if (lib.zero === undefined) return;
    for (const { def, instrument } of Object.values(this.#histograms)) {
      if (def.byOutcome) for (const outcome of OUTCOMES) lib.zero(instrument, { outcome, ...extra });
      else lib.zero(instrument, extra);
    }
  }
}

/** One value per definition, by its key: every key of `defs` is present. */
function byKey<K extends string, D extends { key: K }, V>(defs: readonly D[], make: (def: D) => V): Record<K, V> {
  return Object.fromEntries(defs.map((def) => [def.key, make(def)])) as Record<K, V>;
}

// Clocks of different threads may disagree by a hair; a negative duration is noise, not data.
function seconds(ms: number): number {
  return Math.max(0, ms) / 1000;
}
