/** CPU time of processes (user + system, in ms), to see what bounds a launch rate. */
import { cpuUsOf } from '../../test/support/procfs.ts';

/** user + system CPU ms of a live process, its reaped children excluded. */
export function cpuMsOf(pid: number): number {
  return cpuUsOf(pid) / 1000;
}

/** This process's own CPU ms (all threads), at microsecond resolution. */
export function selfCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
