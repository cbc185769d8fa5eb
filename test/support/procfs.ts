/**
 * Process facts from /proc (Linux), for the tests (no orphans left) and the
 * bench (CPU the Node API does not report). A zombie counts as gone: it runs
 * nothing, and here pid 1 does not reap the orphans it adopts.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  pgid: number;
  /** utime + stime, in clock ticks (its reaped children excluded). */
  cpuTicks: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited, or no /proc
  }
  // The command name may hold spaces and parentheses: the fields after it start at the last ')', with state (field 3).
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, state: fields[0]!, ppid: Number(fields[1]), pgid: Number(fields[2]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

function pids(): number[] {
  return readdirSync('/proc').flatMap((entry) => (/^\d+$/.test(entry) ? [Number(entry)] : []));
}

/** A process that runs (not a zombie), as /proc shows it. */
export interface LiveProcess {
  pid: number;
  state: string;
  ppid: number;
  pgid: number;
  /** Its arguments joined by spaces; empty unless asked for. */
  cmdline: string;
}

/** Every process on the machine that runs (zombies left out), with its command line when `withCmdline`. */
export function liveProcesses(withCmdline = false): LiveProcess[] {
  return pids().flatMap((pid) => {
    const stat = readStat(pid);
    if (stat === undefined || stat.state === 'Z' || stat.state === 'X') return [];
    let cmdline = '';
    if (withCmdline) {
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      } catch {
        return []; // gone meanwhile
      }
    }
    return [{ pid, state: stat.state, ppid: stat.ppid, pgid: stat.pgid, cmdline }];
  });
}

/** Pids of every live descendant of `pid`, children first. */
export function descendantsOf(pid: number): number[] {
  const live = liveProcesses();
  const out: number[] = [];
  const walk = (parent: number) => {
    for (const p of live) {
      if (p.ppid !== parent) continue;
      out.push(p.pid);
      walk(p.pid);
    }
  };
  walk(pid);
  return out;
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
  return liveProcesses()
    .filter((p) => p.pgid === pgid)
    .map((p) => p.pid);
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

/** user + system CPU of a live process in us (its reaped children excluded); NaN if it cannot be read. */
export function cpuUsOf(pid: number): number {
  const stat = readStat(pid);
  return stat === undefined ? Number.NaN : ticksToUs(stat.cpuTicks);
}

/**
 * user + system CPU of this process's live children, in us; 0 where /proc is
 * missing. With the helper launcher the forking happens in a helper child,
 * whose CPU process.cpuUsage() does not see. Agents are reaped by whoever
 * spawned them, so between runs only long-lived children (the helpers)
 * remain and the difference of two readings is their work.
 */
export function childrenCpuUs(): number {
  if (process.platform !== 'linux') return 0;
  let ticks = 0;
  for (const pid of pids()) {
    const stat = readStat(pid);
    if (stat?.ppid === process.pid) ticks += stat.cpuTicks;
  }
  return ticksToUs(ticks);
}

/**
 * CPU of this process's main thread alone since it started, in us (the first
 * field of /proc/self/task/<pid>/schedstat, in ns, which the scheduler keeps
 * per thread); undefined where there is no schedstat. process.cpuUsage() adds
 * every thread, and spawnpool's work is meant to happen on the others.
 */
export function mainThreadCpuUs(): number | undefined {
  return mainThreadSched()?.ranUs;
}

/**
 * The main thread's scheduler times since it started, in us (the first two
 * fields of its schedstat): `ran` on a core, and `waited` runnable for one
 * that another thread or process held. Undefined where there is no schedstat.
 */
export function mainThreadSched(): { ranUs: number; waitedUs: number } | undefined {
  try {
    const [ran, waited] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ');
    return { ranUs: Number(ran) / 1000, waitedUs: Number(waited) / 1000 };
  } catch {
    return undefined;
  }
}

/** The machine's busy CPU time so far, all cores, in us: user, nice, system, irq, softirq and steal of /proc/stat's first line. */
export function machineBusyUs(): number {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  return ticksToUs((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0));
}

/** Resident memory of a process, in bytes (VmRSS of /proc/PID/status); NaN without a pid. */
export function rssOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return kb === undefined ? Number.NaN : Number(kb) * 1024;
}

let ticksPerSecond: number | undefined;

function ticksToUs(ticks: number): number {
  ticksPerSecond ??= clockTicks();
  return (ticks / ticksPerSecond) * 1e6;
}

/** Clock ticks per second of /proc's CPU times (getconf CLK_TCK, 100 if it cannot say). */
function clockTicks(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}
