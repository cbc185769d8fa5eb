/**
 * Turns the Spawner's `launcher` / `helpers` options into a launcher: by
 * name (built on the spawner's launch thread) or a Launcher instance (used
 * as it is, on the main thread).
 */
import { ConfigError } from '../errors.ts';
import { AutoLauncher } from './auto-launcher.ts';
import { DirectLauncher } from './direct-launcher.ts';
import { HelperLauncher } from './helper/helper-launcher.ts';
import type { Launcher } from './types.ts';

/** 'direct': fork from this process; 'helper': from helper processes; 'auto': by host RSS; or your own Launcher. */
export type LauncherChoice = 'direct' | 'helper' | 'auto' | Launcher;

export type LauncherName = 'direct' | 'helper' | 'auto';

/**
 * Checks the options. Without a `launcher` option the environment variable
 * SPAWNPOOL_LAUNCHER ('direct' | 'helper' | 'auto') decides, else 'auto':
 * one switch runs a whole program or test suite through either launcher.
 * Throws a ConfigError naming the option.
 */
export function resolveLauncherChoice(
  option: LauncherChoice | undefined,
  helpers: number | undefined,
): { name: LauncherName; helpers: number | undefined } | { instance: Launcher } {
  const choice = option ?? envChoice() ?? 'auto';
  if (typeof choice === 'object' && choice !== null && typeof choice.launch === 'function' && typeof choice.close === 'function') {
    if (helpers !== undefined)
      throw new ConfigError('The `helpers` option applies to launcher "helper" or "auto", not to a Launcher instance: configure the instance instead');
    return { instance: choice };
  }
  if (choice !== 'direct' && choice !== 'helper' && choice !== 'auto') {
    throw new ConfigError(`Expected the \`launcher\` option to be "direct", "helper", "auto" or a Launcher, got \`${String(choice)}\``);
  }
  if (helpers !== undefined && choice === 'direct') throw new ConfigError('The `helpers` option applies to launcher "helper" or "auto", not "direct"');
  if (helpers !== undefined && !(Number.isInteger(helpers) && helpers >= 1)) {
    throw new ConfigError(`Expected the \`helpers\` option to be a positive integer, got \`${String(helpers)}\``);
  }
  return { name: choice, helpers };
}

/** The launcher of that name (on the thread that will use it). */
export function createLauncher(name: LauncherName, helpers: number | undefined): Launcher {
  switch (name) {
    case 'direct':
      return new DirectLauncher();
    case 'helper':
      return new HelperLauncher({ helpers });
    case 'auto':
      return new AutoLauncher({ helpers });
  }
}

function envChoice(): LauncherChoice | undefined {
  const value = process.env.SPAWNPOOL_LAUNCHER;
  if (value === undefined || value === '') return undefined;
  if (value === 'direct' || value === 'helper' || value === 'auto') return value;
  throw new ConfigError(`Expected the SPAWNPOOL_LAUNCHER environment variable to be "direct", "helper" or "auto", got \`${value}\``);
}
