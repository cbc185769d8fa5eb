/**
 * BullMQ is an optional peer dependency: the core package pulls no Redis
 * client. Everything in src/fleet loads it through here, on first use.
 */
import { ConfigError } from '../index.ts';

export type BullMQ = typeof import('bullmq');

let loading: Promise<BullMQ> | undefined;

/**
 * The bullmq module, or a ConfigError saying to install it.
 *
 * @throws ConfigError when bullmq is not installed.
 */
export function loadBullmq(): Promise<BullMQ> {
  loading ??= import('bullmq').catch((error: unknown) => {
    loading = undefined;
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ERR_MODULE_NOT_FOUND' && /['"]bullmq['"]/.test(e.message)) {
      throw new ConfigError(
        'spawnpool/bullmq and the enqueue, worker and status commands need the bullmq package (an optional peer dependency of spawnpool): npm install bullmq',
        { cause: error },
      );
    }
    throw error;
  });
  return loading;
}
