/**
 * Shared by the fleet tests: real `spawnpool worker` processes (from source,
 * as test/cli/run-cli.ts runs the CLI), the marker files the fixture agent
 * writes, and a temp folder with an agents file and a task list.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, ROOT } from '../cli/run-cli.ts';

export const MARK_AGENT = fileURLToPath(new URL('./fixtures/mark-agent.sh', import.meta.url));

export interface WorkerProcess {
  readonly host: string;
  readonly pid: number;
  readonly child: ChildProcess;
  stderr(): string;
  /** Settles when the process exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildProcess>();

/** Starts `spawnpool worker --host <host> ...args` and resolves once it takes jobs (its "taking agent runs" line). */
export async function startWorker(host: string, args: string[]): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [...CLI, 'worker', '--host', host, '--workers', '1', ...args], {
    cwd: ROOT,
    env: { ...process.env, FLEET_TEST_HOST: host },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  live.add(child);
  let stderr = '';
  const exited = once(child, 'exit').then(([code, signal]) => {
    live.delete(child);
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });
  const up = new Promise<void>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      if (stderr.includes('taking agent runs')) resolve();
    });
    void exited.then((e) => reject(new Error(`worker ${host} exited (${e.code ?? e.signal}) before taking jobs:\n${stderr}`)));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    await up;
  } finally {
    clearTimeout(timer);
  }
  return { host, pid: child.pid!, child, stderr: () => stderr, exited };
}

/** Kills every worker a test left running (afterAll / afterEach). */
export async function killWorkers(): Promise<void> {
  const children = [...live];
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? once(c, 'exit') : undefined)));
}

export interface Marker {
  kind: 'start' | 'frozen' | 'done';
  task: string;
  host: string;
  pid: number;
  /** The agent's own clock, ms (start and done markers). */
  atMs: number | undefined;
}

/** Every complete marker in `dir` (a marker being written is skipped: poll again). */
export async function readMarkers(dir: string): Promise<Marker[]> {
  const names = (await readdir(dir)).filter((n) => /^(start|frozen|done)\./.test(n));
  const markers = await Promise.all(
    names.map(async (name): Promise<Marker | undefined> => {
      const text = await readFile(path.join(dir, name), 'utf8').catch(() => '');
      const m = /^(\S+) (\S+) (\d+)(?: (\d+))?\n$/.exec(text);
      if (m === null) return undefined;
      return {
        kind: name.split('.')[0] as Marker['kind'],
        task: m[1]!,
        host: m[2]!,
        pid: Number(m[3]),
        atMs: m[4] === undefined ? undefined : Number(BigInt(m[4]) / 1000n) / 1000,
      };
    }),
  );
  return markers.filter((m) => m !== undefined);
}

/** Resolves once `check()` holds, polling every 25 ms; rejects after `withinMs` naming `what`. For facts no event reports (files other processes write). */
export async function until<T>(what: string, check: () => Promise<T | undefined | false>, withinMs = 30_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`still not true after ${withinMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface Workspace {
  dir: string;
  markers: string;
  agentsFile: string;
  tasksFile: string;
  remove(): Promise<void>;
}

/** A temp folder with agents.json (one agent: the marker agent, sleeping `sleep` seconds) and tasks.jsonl (ids t1..tN). */
export async function workspace(tasks: number, sleep = 0): Promise<Workspace> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'spawnpool-fleet-'));
  const markers = path.join(dir, 'markers');
  await mkdir(markers);
  const agentsFile = path.join(dir, 'agents.json');
  const tasksFile = path.join(dir, 'tasks.jsonl');
  await writeFile(agentsFile, JSON.stringify({ agents: [{ name: 'mark', command: MARK_AGENT, args: [markers, '{{task.id}}', '{{task.sleep}}'] }] }));
  await writeFile(tasksFile, Array.from({ length: tasks }, (_, i) => JSON.stringify({ id: `t${i + 1}`, sleep })).join('\n'));
  return { dir, markers, agentsFile, tasksFile, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The task ids t1..tN. */
export function taskIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `t${i + 1}`);
}

/** Counts of each value. */
export function tally<T>(values: Iterable<T>): Map<T, number> {
  const counts = new Map<T, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}
