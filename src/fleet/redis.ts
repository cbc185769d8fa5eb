/**
 * Reaching Redis: a URL is checked once, up front, so an unreachable server
 * is one clear error naming the URL (password hidden) instead of BullMQ
 * retrying forever in the background.
 */
import { ConfigError } from '../index.ts';
import type { BullMQ } from './bullmq.ts';

/** The URL with its password replaced by `***`, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.href.replace(/\/$/, '');
  } catch {
    return url;
  }
}

/** How long the probe waits for Redis to answer. */
const PROBE_TIMEOUT_MS = 5000;

/**
 * Connects once, without retrying, and closes again.
 *
 * @throws ConfigError "cannot reach Redis at redis://...: connect ECONNREFUSED ...".
 */
export async function probeRedis(bullmq: BullMQ, url: string, prefix: string | undefined): Promise<void> {
  const probe = new bullmq.Queue('spawnpool-probe', {
    connection: { url, retryStrategy: () => null, connectTimeout: PROBE_TIMEOUT_MS, maxRetriesPerRequest: 0, enableOfflineQueue: true },
    ...(prefix === undefined ? {} : { prefix }),
  });
  let lastError: Error | undefined;
  // Without a listener an 'error' event would be thrown.
  probe.on('error', (error: Error) => (lastError ??= error));
  try {
    // Ready means connected, and BullMQ's version check (INFO) answered.
    await withTimeout(probe.waitUntilReady(), PROBE_TIMEOUT_MS);
  } catch (error) {
    const reason = describeError(lastError ?? (error as Error));
    throw new ConfigError(`cannot reach Redis at ${redactUrl(url)}: ${reason}`, { cause: error });
  } finally {
    await probe.close().catch(() => {});
  }
}

function describeError(error: Error): string {
  const e = error as NodeJS.ErrnoException & { errors?: Error[] };
  // Node reports a refused connection to a name with several addresses as an AggregateError.
  if (e.errors?.[0]) return describeError(e.errors[0]);
  return e.message || e.code || String(error);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
