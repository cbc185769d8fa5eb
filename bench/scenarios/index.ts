/** Every scenario, in the order a full run takes them: the ring first, before any spawner has run in the process (see its notes). */
import type { Scenario } from '../lib/types.ts';
import { busyHostScenario } from './busy-host.ts';
import { cpu8 } from './cpu-8.ts';
import { cycles100 } from './cycles-100.ts';
import { fanout2000 } from './fanout-2000.ts';
import { fleet1000 } from './fleet-1000.ts';
import { harness1000 } from './harness-1000.ts';
import { ringScenario } from './ring.ts';
import { seed3 } from './seed-3.ts';
import { statsScenario } from './stats.ts';
import { streamingScenario } from './streaming.ts';

export const SCENARIOS: readonly Scenario[] = [
  ringScenario,
  seed3,
  busyHostScenario,
  cpu8,
  fanout2000,
  harness1000,
  cycles100,
  statsScenario,
  fleet1000,
  streamingScenario,
];
