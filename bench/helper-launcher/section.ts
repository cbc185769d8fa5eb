/**
 * One section of the helper benchmark, in a fresh process so that each host
 * starts small and carries nothing from the previous section. Prints its
 * result as one JSON line on stdout.
 *
 *   section.ts transport <runs>
 *   section.ts fanout <variant> <agents> <concurrency>
 *   section.ts level <target RSS bytes> <runs> <agents per batch>
 *   section.ts crossover <target RSS bytes> <runs> <agents per burst>
 */
import { Ballast } from './ballast.ts';
import { selfCpuMs } from './cpu.ts';
import { measureCrossover } from './crossover.ts';
import { spawnpool, xargs, type FanoutVariant } from './fanout.ts';
import { measureLevel } from './latency.ts';
import { endToEnd, roundTrips } from './transport.ts';

const [name, ...args] = process.argv.slice(2);
const num = (i: number) => Number(args[i]);

export interface FanoutRun {
  name: string;
  rate: number;
  hostRssMb: number;
  /** CPU ms per agent of the host process (all its threads) and of the helpers; NaN where not measured. */
  hostCpuMsPerAgent: number;
  helperCpuMsPerAgent: number;
}

async function fanout(variant: string, agents: number, concurrency: number): Promise<FanoutRun> {
  const v: FanoutVariant =
    variant === 'xargs'
      ? xargs(agents, concurrency)
      : variant === 'direct'
        ? spawnpool(agents, concurrency, 'direct')
        : spawnpool(agents, concurrency, 'helper', Number(variant.replace('helper-', '')));
  try {
    await v.warmUp();
    const hostRssMb = process.memoryUsage.rss() / 2 ** 20;
    const [host, other] = [selfCpuMs(), v.otherCpuMs()];
    const ms = await v.run();
    const hostCpuMsPerAgent = variant === 'xargs' ? Number.NaN : (selfCpuMs() - host) / agents;
    return { name: v.name, rate: (agents / ms) * 1000, hostRssMb, hostCpuMsPerAgent, helperCpuMsPerAgent: (v.otherCpuMs() - other) / agents };
  } finally {
    await v.close();
  }
}

let result: unknown;
switch (name) {
  case 'transport':
    result = { trips: await roundTrips(num(0)), e2e: await endToEnd(num(0)) };
    break;
  case 'fanout':
    result = await fanout(args[0]!, num(1), num(2));
    break;
  case 'crossover':
  case 'level': {
    const ballast = new Ballast();
    ballast.growTo(num(0));
    result = await (name === 'crossover' ? measureCrossover : measureLevel)(num(2), num(1));
    // Referenced until the measurement is over, so the pages stay resident throughout.
    ballast.release();
    break;
  }
  default:
    throw new Error(`unknown section ${String(name)}`);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
