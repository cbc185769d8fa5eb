/** The machine a report was measured on: figures mean little without it. */
import os from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  /** Logical cores (os.cpus()). */
  cores: number;
  /** What Node may use (os.availableParallelism(): cgroup / affinity aware). */
  availableParallelism: number;
  totalMemoryMb: number;
  node: string;
  platform: string;
  arch: string;
  osRelease: string;
  /** 1, 5 and 15 minute load averages when the run started and ended: a busy machine shows here. */
  loadAvgStart: number[];
  loadAvgEnd: number[];
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    totalMemoryMb: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    osRelease: os.release(),
    loadAvgStart: os.loadavg().map(round2),
    loadAvgEnd: [],
  };
}

export function loadAvg(): number[] {
  return os.loadavg().map(round2);
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
