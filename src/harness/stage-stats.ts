/** Per-stage figures over a harness's attempts: samples kept as they come, statistics at the end. */
import { latencyStats } from '../metrics/stats.ts';
import type { StageStats } from './types.ts';

export type Stage = keyof StageStats;

export class StageSamples {
  readonly #samples: Record<Stage, number[]> = { wait: [], queue: [], build: [], launch: [], spawn: [], run: [] };

  add(stage: Stage, ms: number): void {
    this.#samples[stage].push(ms);
  }

  stats(): StageStats {
    const s = this.#samples;
    return {
      wait: latencyStats(s.wait),
      queue: latencyStats(s.queue),
      build: latencyStats(s.build),
      launch: latencyStats(s.launch),
      spawn: latencyStats(s.spawn),
      run: latencyStats(s.run),
    };
  }
}
