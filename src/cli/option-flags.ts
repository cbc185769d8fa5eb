/**
 * The flags that set library options (--workers, --ring-capacity,
 * --launcher, --helpers, --root, --concurrency, --min-success), turned into
 * those options and checked by the library's own checks: the schemas of
 * src/options, and the library's checks of options together. So
 * `--workers 0` and `new Spawner({ workers: 0 })` get the same message, the
 * flag named first, as a UsageError (exit 2) raised before anything starts.
 */
import { ConfigError } from '../errors.ts';
import { type LauncherName, resolveLauncherChoice } from '../launch/select-launcher.ts';
import { parseOption } from '../options/parse-options.ts';
import { BATCH_OPTION_WORDS, batchOptionsSchema, SPAWNER_OPTION_WORDS, spawnerOptionsSchema } from '../options/schemas.ts';
import { UsageError } from './usage-error.ts';

/** The flag that sets each option. */
const FLAG_OF: Record<string, string> = {
  workers: 'workers',
  ringCapacity: 'ring-capacity',
  launcher: 'launcher',
  helpers: 'helpers',
  root: 'root',
  concurrency: 'concurrency',
  minSuccess: 'min-success',
};

export interface SpawnerFlagValues {
  workers?: string | undefined;
  'ring-capacity'?: string | undefined;
  launcher?: string | undefined;
  helpers?: string | undefined;
  root?: string | undefined;
}

/** The `new Spawner()` options the flags set. */
export interface SpawnerFlagOptions {
  workers?: number;
  ringCapacity?: number;
  launcher?: LauncherName;
  helpers?: number;
  root?: string;
}

/** @throws UsageError naming the flag, with the message `new Spawner()` gives for that value. */
export function spawnerFlags(values: SpawnerFlagValues): SpawnerFlagOptions {
  const options: SpawnerFlagOptions = {};
  const workers = values.workers === undefined ? undefined : spawnerOption('workers', flagValue(values.workers));
  if (workers !== undefined) options.workers = workers;
  const ringCapacity = values['ring-capacity'] === undefined ? undefined : spawnerOption('ringCapacity', flagValue(values['ring-capacity']));
  if (ringCapacity !== undefined) options.ringCapacity = ringCapacity;
  const root = values.root === undefined ? undefined : spawnerOption('root', values.root);
  if (root !== undefined) options.root = root;
  const launcher = values.launcher;
  // The library's messages offer a Launcher instance, which no flag can give: the CLI's own words for the three names.
  if (launcher !== undefined && launcher !== 'direct' && launcher !== 'helper' && launcher !== 'auto') {
    throw new UsageError(`Expected --launcher to be direct, helper or auto, got "${launcher}"`);
  }
  if (launcher !== undefined) options.launcher = launcher;
  if (values.helpers !== undefined && launcher === 'direct') throw new UsageError('--helpers applies to --launcher helper or auto, not direct');
  if (values.helpers !== undefined) {
    const helpers = flagValue(values.helpers);
    // The Spawner checks `helpers` with the launcher (and SPAWNPOOL_LAUNCHER) on whatever it is given, text included: so does this.
    const checked = namingFlags({ ...options, helpers }, () => resolveLauncherChoice(launcher, helpers as number));
    if ('name' in checked && checked.helpers !== undefined) options.helpers = checked.helpers;
  }
  return options;
}

export interface BatchFlagValues {
  concurrency?: string | undefined;
  'min-success'?: string | undefined;
}

/** The `spawnBatch()` options the flags set; --min-success is checked against the agents by {@link checkMinSuccess}. */
export interface BatchFlagOptions {
  concurrency?: number;
  minSuccess?: number;
}

/** @throws UsageError naming the flag, with the message `spawnBatch()` gives for that value. */
export function batchFlags(values: BatchFlagValues): BatchFlagOptions {
  const options: BatchFlagOptions = {};
  const concurrency = values.concurrency === undefined ? undefined : batchOption('concurrency', flagValue(values.concurrency));
  if (concurrency !== undefined) options.concurrency = concurrency;
  const minSuccess = values['min-success'] === undefined ? undefined : batchOption('minSuccess', flagValue(values['min-success']));
  if (minSuccess !== undefined) options.minSuccess = minSuccess;
  return options;
}

/**
 * --min-success against the number of agents, worded as spawnBatch() words
 * it: checked here because spawnBatch() comes after the workers and the
 * telemetry have started, and bad input must start nothing.
 */
export function checkMinSuccess(minSuccess: number | undefined, total: number, of: 'agents' | 'runs'): void {
  if (minSuccess !== undefined && minSuccess > total) {
    throw new UsageError(`--min-success: Expected the \`minSuccess\` option to be an integer from 0 to ${total} (the number of ${of}), got \`${minSuccess}\``);
  }
}

/**
 * Runs `make`, and turns a ConfigError naming an option of `options` into a
 * UsageError naming its flag: for the checks the library makes where options
 * meet (`ringCapacity` against the window size, in `new Spawner()`).
 */
export function namingFlags<T>(options: object, make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const key = /`(\w+)` option/.exec(error.message)?.[1];
    const flag = key !== undefined && Object.hasOwn(options, key) ? FLAG_OF[key] : undefined;
    if (flag === undefined) throw error;
    throw new UsageError(`--${flag}: ${error.message}`, { cause: error });
  }
}

/** A number when the text reads as one; else the text, so that the message shows what was typed. */
function flagValue(text: string): number | string {
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) ? n : text;
}

function spawnerOption<K extends 'workers' | 'ringCapacity' | 'root'>(key: K, value: number | string) {
  return namingFlags({ [key]: value }, () => parseOption(spawnerOptionsSchema, SPAWNER_OPTION_WORDS, key, value, 'new Spawner()'));
}

function batchOption<K extends 'concurrency' | 'minSuccess'>(key: K, value: number | string) {
  return namingFlags({ [key]: value }, () => parseOption(batchOptionsSchema, BATCH_OPTION_WORDS, key, value, 'spawnBatch()'));
}
