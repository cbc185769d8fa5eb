/**
 * What the fleet API's options objects share: the schemas of a Redis URL, a
 * queue, a run name and a key prefix. Each object is checked by the options
 * module (src/options/parse-options.ts), in the words new Spawner() uses.
 */
import { z } from 'zod';

/** A redis:// or rediss:// URL. */
export const redisUrlSchema = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return u.protocol === 'redis:' || u.protocol === 'rediss:';
  } catch {
    return false;
  }
}, 'to be a redis:// or rediss:// URL');

/** BullMQ forbids ':' in queue names; spawnpool keeps them to characters safe in keys, file names and URLs. */
export const queueNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'to be 1 to 100 letters, digits, ".", "_" or "-" (starting with a letter or digit)');

/** A run's name is its parent job's id: it must not look like a number (BullMQ refuses integer custom ids). */
export const runNameSchema = z.string().regex(/^[A-Za-z][A-Za-z0-9._-]{0,99}$/, 'to be 1 to 100 letters, digits, ".", "_" or "-", starting with a letter');

/** BullMQ's key prefix. */
export const prefixSchema = z.string().regex(/^[A-Za-z0-9._-]{1,50}$/, 'to be 1 to 50 letters, digits, ".", "_" or "-"');

export const positiveInt = z.number().int().positive();
