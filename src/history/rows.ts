/** What the history stores about one batch and its agents (see schema.ts for the columns). */

export interface BatchRow {
  /** The Spawner instance that ran the batch: its `metrics.runId`, as in the JSON lines. */
  runId: string;
  /** The Spawner's batch id (`batchId` in the JSON lines). */
  batchSeq: number;
  host: string;
  pid: number;
  /** ms since the epoch. */
  startedAt: number;
  endedAt: number;
  total: number;
  spawned: number;
  /** Spawned, ran and exited 0. */
  succeeded: number;
  failed: number;
  wallMs: number | null;
}

export interface AgentRow {
  agent: string;
  index: number;
  ok: boolean;
  /** null when the agent's spawn record was lost (ring overrun). */
  spawned: boolean | null;
  stage: string | null;
  errorCode: string | null;
  pid: number | null;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** ms; null when not measured (no prompt: no build; never spawned: no run; its record lost: none). */
  /** The batch start to the build starting (every agent). */
  queueMs: number | null;
  buildMs: number | null;
  /** Not in the ring records since schema 2: always null in new rows (the CLI's table still shows it). */
  launchMs: number | null;
  /** Spawn latency: the build starting to spawned, or to the spawn failing (queue wait not included). */
  spawnMs: number | null;
  runMs: number | null;
  spawnedAt: number | null;
  exitedAt: number | null;
}

export interface BatchEntry {
  batch: BatchRow;
  agents: AgentRow[];
}
