/**
 * Process facts from /proc, for the no-orphan tests. A zombie counts as
 * gone: it runs nothing, and here pid 1 does not reap the orphans it adopts.
 */
import { readdirSync, readFileSync } from 'node:fs';

interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  pgid: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name may hold spaces and parentheses: the fields after it start at the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, state: fields[0]!, ppid: Number(fields[1]), pgid: Number(fields[2]) };
}

/** True while the process exists and is not a zombie. */
export function running(pid: number): boolean {
  const stat = readStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

export function parentOf(pid: number): number | undefined {
  return readStat(pid)?.ppid;
}

/** Pids of the group's members that still run. */
export function runningInGroup(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat?.pgid === pgid && running(stat.pid)) pids.push(stat.pid);
  }
  return pids;
}

/**
 * Resolves once `check` holds, checking every 20 ms; rejects after `withinMs`.
 * For facts no event reports (another process's death), not to wait out a delay.
 */
export async function eventually(what: string, check: () => boolean, withinMs = 10_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`still not true after ${withinMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
