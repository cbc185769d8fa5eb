/**
 * CPU time of this process's main thread alone (Linux: the first field of
 * /proc/self/task/<pid>/schedstat, in ns, which the scheduler keeps per
 * thread). process.cpuUsage() adds every thread, and spawnpool's work is
 * meant to happen on the others.
 */
import { readFileSync } from 'node:fs';

const FILE = `/proc/self/task/${process.pid}/schedstat`;

/** Main-thread CPU since it started, in us; undefined where /proc has no schedstat. */
export function mainThreadCpuUs(): number | undefined {
  try {
    return Number(readFileSync(FILE, 'utf8').split(' ')[0]) / 1000;
  } catch {
    return undefined;
  }
}
