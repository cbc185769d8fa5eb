/**
 * Shared helpers of the reliability suite: fixture paths, temp folders,
 * running a batch to the end, and looking at /proc to prove that no process
 * of an agent's tree is left.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Batch } from '../../src/batch/batch.ts';
import type { AgentResult, SpawnOutcome } from '../../src/batch/types.ts';
import type { Spawner, SpawnerOptions } from '../../src/spawner.ts';
import { agentScript, withSpawner as withSpawnerReady } from '../support/fixtures.ts';
import { liveProcesses } from '../support/procfs.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

export { agentScript } from '../support/fixtures.ts';

/** file: URL of a fixture builder module (test/fixtures/builders/<name>). */
export function builderUrl(name: string): string {
  return pathToFileURL(path.join(FIXTURES, 'builders', name)).href;
}

/** A fresh private folder for one test. */
export function tempDir(prefix = 'spawnpool-rel-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/**
 * A word unique to one test. Fixture agents get it as their last argument
 * (they ignore it; fork-grandchild passes it on), so /proc can be searched
 * for every process a test started, grandchildren included.
 */
export function newTag(): string {
  return `sp-tag-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** A `node <fixture> ...args` agent command. */
export function nodeAgent(script: string, ...args: string[]): { command: string; args: string[] } {
  return { command: process.execPath, args: [agentScript(script), ...args] };
}

/** Matches the "ready ..." line the long-running fixtures print. */
export const READY = { stdout: '^ready' } as const;

/** Runs `fn` with a new Spawner and always closes it; `ready` is the test's own business here. */
export function withSpawner<T>(options: SpawnerOptions, fn: (spawner: Spawner) => Promise<T>): Promise<T> {
  return withSpawnerReady(options, fn, { ready: false });
}

export interface Finished {
  /** In the order the iterator yielded them. */
  outcomes: SpawnOutcome[];
  /** In input order. */
  results: AgentResult[];
  byName: Map<string, { outcome: SpawnOutcome; result: AgentResult }>;
}

/** Iterates the batch to its end, then waits for every exit. */
export async function finish(batch: Batch, onOutcome?: (o: SpawnOutcome, seen: number) => void): Promise<Finished> {
  const outcomes: SpawnOutcome[] = [];
  for await (const outcome of batch) {
    outcomes.push(outcome);
    onOutcome?.(outcome, outcomes.length);
  }
  const results = await batch.results;
  const byName = new Map<string, { outcome: SpawnOutcome; result: AgentResult }>();
  for (const outcome of outcomes) byName.set(outcome.name, { outcome, result: results[outcome.index]! });
  return { outcomes, results, byName };
}

/** The outcome and result of one agent; fails the test if it is missing. */
export function agent(done: Finished, name: string): { outcome: SpawnOutcome; result: AgentResult } {
  const found = done.byName.get(name);
  if (found === undefined) throw new Error(`no outcome for agent "${name}"`);
  return found;
}

/**
 * What is still alive: processes whose command line holds `tag`, members of
 * the process groups `pgids`, and the processes `pids` (zombies count as gone:
 * they hold nothing but a process-table entry until reaped).
 */
export async function leftovers(what: { tag?: string; pgids?: Iterable<number>; pids?: Iterable<number> }): Promise<string[]> {
  const groups = new Set(what.pgids ?? []);
  const pids = new Set(what.pids ?? []);
  return liveProcesses(what.tag !== undefined)
    .filter((p) => (what.tag !== undefined && p.cmdline.includes(what.tag)) || groups.has(p.pgid) || pids.has(p.pid))
    .map((p) => `pid ${p.pid} (pgrp ${p.pgid}, state ${p.state}) ${p.cmdline}`.trim());
}

/**
 * Waits until `leftovers(what)` is empty and returns what is left at the
 * deadline (empty on success). SIGKILL is delivered asynchronously and a
 * grandchild is not ours to wait for, so /proc is polled; the deadline only
 * bounds a failing test.
 */
export async function settleLeftovers(what: Parameters<typeof leftovers>[0], deadlineMs = 10_000): Promise<string[]> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const left = await leftovers(what);
    if (left.length === 0 || Date.now() > end) return left;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The pids printed on "ready <pid>" lines. */
export function readyPids(stdout: string): number[] {
  return [...stdout.matchAll(/^ready (\d+)$/gm)].map((m) => Number(m[1]));
}

/** Every pid known from a batch: the process groups to check afterwards. */
export function pidsOf(done: Finished): number[] {
  const pids = new Set<number>();
  for (const o of done.outcomes) if (o.pid !== undefined) pids.add(o.pid);
  for (const r of done.results) if (r.pid !== undefined) pids.add(r.pid);
  return [...pids];
}
