/**
 * Turns the Spawner's `launcher` / `helpers` options into a Launcher.
 */
import { ConfigError } from '../errors.ts';
import { AutoLauncher } from './auto-launcher.ts';
import { DirectLauncher } from './direct-launcher.ts';
import { HelperLauncher } from './helper/helper-launcher.ts';
import type { Launcher } from './types.ts';

/** 'direct': fork from this process; 'helper': from helper processes; 'auto': by host RSS; or your own Launcher. */
export type LauncherChoice = 'direct' | 'helper' | 'auto' | Launcher;

/**
 * The Launcher for the Spawner's options. Without a `launcher` option the
 * environment variable SPAWNPOOL_LAUNCHER ('direct' | 'helper' | 'auto')
 * decides, else 'auto': one switch runs a whole program or test suite
 * through either launcher.
 */
export function selectLauncher(option: LauncherChoice | undefined, helpers: number | undefined): Launcher {
  const choice = option ?? envChoice() ?? 'auto';
  if (typeof choice === 'object' && choice !== null && typeof choice.launch === 'function' && typeof choice.close === 'function') {
    if (helpers !== undefined) throw new ConfigError('The `helpers` option applies to launcher "helper" or "auto", not to a Launcher instance: configure the instance instead');
    return choice;
  }
  if (helpers !== undefined && choice === 'direct') throw new ConfigError('The `helpers` option applies to launcher "helper" or "auto", not "direct"');
  switch (choice) {
    case 'direct':
      return new DirectLauncher();
    case 'helper':
      return new HelperLauncher({ helpers });
    case 'auto':
      return new AutoLauncher({ helpers });
    default:
      throw new ConfigError(`Expected the \`launcher\` option to be "direct", "helper", "auto" or a Launcher, got \`${String(choice)}\``);
  }
}

function envChoice(): LauncherChoice | undefined {
  const value = process.env.SPAWNPOOL_LAUNCHER;
  if (value === undefined || value === '') return undefined;
  if (value === 'direct' || value === 'helper' || value === 'auto') return value;
  throw new ConfigError(`Expected the SPAWNPOOL_LAUNCHER environment variable to be "direct", "helper" or "auto", got \`${value}\``);
}
