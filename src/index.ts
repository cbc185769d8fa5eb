/**
 * spawnpool: launch many agent processes at once, with prompts built on
 * worker threads and every spawn measured through a SharedArrayBuffer ring.
 *
 * @example
 * import { Spawner } from 'spawnpool';
 * const spawner = new Spawner({ workers: 2 });
 * const batch = spawner.spawnBatch([{ name: 'a', command: 'node', args: ['agent.js'], prompt: { template: 'Hi {{agent}}' } }]);
 * for await (const o of batch) console.log(o.name, o.ok, o.timings.spawnMs);
 * console.log(await batch.summary, spawner.metrics.snapshot());
 * await spawner.close();
 */
export { Spawner, type SpawnerOptions } from './spawner.ts';
export { Batch } from './batch/batch.ts';
export type { AgentResult, AgentStdin, BatchDone, BatchOptions, BatchSummary, PromptInfo, SpawnOutcome, SpawnTimings } from './batch/types.ts';
export { OutputStream } from './batch/output-stream.ts';
export type { AgentSpec, AgentDefaults, PromptVia } from './spec/schema.ts';
export { resolveAgents, resolveAgentsFile, type ResolvedAgent } from './spec/resolve.ts';
export { loadAgentsFile, readAgentsFile, type LoadedAgentsFile, type WrittenAgentsFile } from './spec/load.ts';
export { preflightAgents, type PreflightOptions } from './spec/preflight.ts';
export type { PromptSpec, PromptBuilder, BuilderInput } from './prompt/types.ts';
export type { AgentCounts, MetricsSnapshot, NamedRecord, QueuedBatch, SpawnerMetrics } from './metrics/spawner-metrics.ts';
export type { BuildRecord, DecodedRecord, ExitRecord, RecordHeader, SpawnRecord } from './metrics/record.ts';
export type { RingCounters } from './metrics/ring.ts';
export type { LatencyStats } from './metrics/stats.ts';
export type { WindowStats } from './metrics/window.ts';
export { BuildError, ConfigError, HistoryError, SpawnError, SpawnpoolError, ERROR_CODES, type ErrorCode, type FailureStage } from './errors.ts';
export { serveMetrics, type MetricsServer } from './export/metrics-server.ts';
export { JsonlWriter, type JsonlLine, type JsonlOptions } from './export/jsonl.ts';
export { otelPrometheusViews, type RenameView } from './export/otel.ts';
export { createPusher, type MetricsPusher, type PushOptions } from './export/pushgateway.ts';
export { writeTextfile } from './export/textfile.ts';
export { History, type HistoryOptions } from './history/history.ts';
export type { HistoryStats, AgentStats, DayStats, RunStats, StatsOptions, CleanupOptions, CleanupReport } from './history/types.ts';
export type { CleanupSchedule, ScheduleOptions } from './history/schedule.ts';
export type { Launcher, LaunchRequest, LaunchEvents, LaunchExit, LaunchHandle } from './launch/types.ts';
export type { LauncherChoice } from './launch/select-launcher.ts';
export { DirectLauncher } from './launch/direct-launcher.ts';
export { HelperLauncher, type HelperLauncherOptions } from './launch/helper/helper-launcher.ts';
export { AutoLauncher, AUTO_HELPER_RSS_BYTES, type AutoLauncherOptions } from './launch/auto-launcher.ts';
export { runHarness, Harness } from './harness/harness.ts';
export { harnessRuns } from './harness/runs.ts';
export { dryRunHarness, type DryRun, type DryRunOptions, type PlannedRun } from './harness/dry-run.ts';
export { parseHalt, type HaltSpec } from './harness/halt-policy.ts';
export type { HarnessOptions, HaltObject, RateLimit } from './harness/options.ts';
export type { RetryOn, RetryOptions } from './harness/retry-policy.ts';
export type { RelativeTimeout } from './harness/timeout-policy.ts';
export type {
  AttemptNext,
  AttemptOutcome,
  HaltInfo,
  HarnessProgress,
  HarnessRun,
  HarnessSummary,
  RunRecord,
  RunStatus,
  SpawnHook,
  StageStats,
} from './harness/types.ts';
export { loadTasks, parseTasks, type LoadTasksOptions, type Task, type TaskFormat } from './tasks/load-tasks.ts';
export { expandRun, expandRuns, type AgentRun, type RunInput } from './tasks/expand.ts';
