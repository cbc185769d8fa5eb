/**
 * The options objects of the library, as zod schemas, with the words their
 * messages use. Checked here: keys and types; the values that depend on
 * each other (ringCapacity against windowSize, minSuccess against the
 * number of agents, helpers against the launcher) are checked where they meet.
 */
import { z } from 'zod';
import type { OptionWords } from './parse-options.ts';

const positiveInt = z.number().int().positive();
const object = z.custom<object>((v) => typeof v === 'object' && v !== null);
const positiveOrInfinity = z.union([positiveInt, z.literal(Number.POSITIVE_INFINITY)]);

export const spawnerOptionsSchema = z.strictObject({
  workers: positiveInt.optional(),
  builder: z.union([z.string().min(1), z.instanceof(URL)]).optional(),
  root: z.string().min(1).optional(),
  ringCapacity: positiveInt.optional(),
  windowSize: positiveInt.optional(),
  concurrency: positiveOrInfinity.optional(),
  buildTimeoutMs: positiveInt.optional(),
  workerResourceLimits: z.strictObject({ maxOldGenerationSizeMb: positiveInt.optional(), maxYoungGenerationSizeMb: positiveInt.optional() }).optional(),
  workerNice: z.number().int().min(0).max(19).optional(),
  launcher: z.union([z.enum(['direct', 'helper', 'auto']), object]).optional(),
  helpers: z.unknown().optional(),
  prometheus: z.boolean().optional(),
  prometheusRegistry: object.optional(),
  meter: object.optional(),
  history: object.optional(),
  agentLabels: z.boolean().optional(),
  jsonl: z.union([z.string().min(1), object]).optional(),
  runId: z.string().min(1).optional(),
});

export const SPAWNER_OPTION_WORDS: OptionWords = {
  workers: 'a positive integer',
  builder: 'a module path or URL',
  root: 'a folder path',
  ringCapacity: 'a power of two',
  windowSize: 'a positive integer',
  concurrency: 'a positive integer',
  buildTimeoutMs: 'a positive integer',
  workerResourceLimits: 'an object with maxOldGenerationSizeMb and/or maxYoungGenerationSizeMb (positive integers)',
  workerNice: 'an integer from 0 to 19',
  launcher: '"direct", "helper", "auto" or a Launcher',
  helpers: 'a positive integer',
  prometheus: 'true or false',
  prometheusRegistry: 'a prom-client Registry',
  meter: 'an OpenTelemetry Meter',
  history: 'history options ({ path, ... })',
  agentLabels: 'true or false',
  jsonl: 'a file path or { path, flushIntervalMs, maxQueued }',
  runId: 'a non-empty string',
};

export const batchOptionsSchema = z.strictObject({
  signal: z.instanceof(AbortSignal).optional(),
  concurrency: positiveOrInfinity.optional(),
  mode: z.enum(['concurrent', 'sequential']).optional(),
  minSuccess: z.number().int().min(0).optional(),
  root: z.string().min(1).optional(),
  stream: z.boolean().optional(),
  streamBufferBytes: positiveInt.optional(),
  resultsDir: z.string().min(1).optional(),
});

export const BATCH_OPTION_WORDS: OptionWords = {
  signal: 'an AbortSignal',
  concurrency: 'a positive integer',
  mode: '"concurrent" or "sequential"',
  minSuccess: 'an integer from 0 to the number of agents',
  root: 'a folder path',
  stream: 'true or false',
  streamBufferBytes: 'a positive integer',
  resultsDir: 'a folder path',
};
