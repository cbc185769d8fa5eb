/** What the history stores about one batch and its agents (see schema.ts for the columns). */

export interface BatchRow {
  /** The Spawner instance that ran the batch. */
  runId: string;
  /** The Spawner's batch id. */
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
  /** ms; null when not measured (no prompt: no build; never spawned: no launch or run). */
  queueMs: number | null;
  buildMs: number | null;
  launchMs: number | null;
  spawnMs: number | null;
  runMs: number | null;
  spawnedAt: number | null;
  exitedAt: number | null;
}

export interface BatchEntry {
  batch: BatchRow;
  agents: AgentRow[];
}
