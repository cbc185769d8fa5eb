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

/** Sum of user + system CPU of the live children, in microseconds; 0 where /proc is missing. */
export function childrenCpuUs(): number {
  if (process.platform !== 'linux') return 0;
  ticksPerSecond ??= clockTicks();
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited between the listing and the read
    }
    // Fields after the parenthesised command name (which may contain spaces): state ppid ... utime(14) stime(15).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) !== process.pid) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks / ticksPerSecond) * 1e6;
}

function clockTicks(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}
