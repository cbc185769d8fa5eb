/**
 * CPU time of this process's live child processes, from /proc (Linux). With
 * spawnpool's helper launcher the forking happens in a helper child, whose
 * CPU process.cpuUsage() does not see; this does. Agents are reaped by
 * whoever spawned them, so between runs only long-lived children (the
 * helpers) remain and the difference of two readings is their work.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** user + system CPU of a live process in microseconds (its reaped children excluded); NaN if it cannot be read. */
export function cpuUsOf(pid: number | string): number {
  const fields = statFields(pid);
  return fields === undefined ? Number.NaN : cpuUs(fields);
}

/** Sum of user + system CPU of the live children, in microseconds; 0 where /proc is missing. */
export function childrenCpuUs(): number {
  if (process.platform !== 'linux') return 0;
  let us = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(entry);
    if (fields !== undefined && Number(fields[1]) === process.pid) us += cpuUs(fields);
  }
  return us;
}

/** The fields of /proc/PID/stat after the parenthesised command name (which may contain spaces): state(3) ppid(4) ... */
function statFields(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // exited, or no /proc
  }
}

/** utime(14) + stime(15), in microseconds. */
function cpuUs(fields: string[]): number {
  ticksPerSecond ??= clockTicks();
  return ((Number(fields[11]) + Number(fields[12])) / ticksPerSecond) * 1e6;
}

function clockTicks(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}
