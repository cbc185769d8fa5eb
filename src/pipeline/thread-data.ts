/** What the launch thread is started with (its `workerData`). Plain data: it crosses threads. */
import type { BuildPoolOptions } from '../pool/build-pool.ts';

export interface LaunchThreadData {
  pool: BuildPoolOptions;
  launcher: 'direct' | 'helper' | 'auto';
  helpers: number | undefined;
}
