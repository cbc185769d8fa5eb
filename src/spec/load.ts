import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { resolveAgentsFile, type ResolvedAgent } from './resolve.ts';

/** An agents file read and validated by {@link loadAgentsFile}. */
export interface LoadedAgentsFile {
  /** Absolute path of the file. */
  file: string;
  /** The file's folder: relative `cwd`s resolve against it, and it is the default prompt root. */
  baseDir: string;
  /** Its agents, validated, with the file's `defaults` applied: ready for `spawnBatch`. */
  agents: ResolvedAgent[];
}

/**
 * Reads and validates an agents file (`{ "defaults": {...}, "agents": [...] }`).
 * Relative `cwd`s, `stdoutFile`s and `stderrFile`s resolve against the file's folder.
 *
 * @throws ConfigError naming the file, the agent and the field (or that the file cannot be read or is not JSON).
 * @example
 * const { agents, baseDir } = await loadAgentsFile('agents.json');
 * const spawner = new Spawner({ root: baseDir });
 * const done = await spawner.spawnBatch(agents).done;
 */
export async function loadAgentsFile(file: string): Promise<LoadedAgentsFile> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ConfigError(`${file}: cannot read the agents file: ${reason}`, { file, cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file}: not valid JSON: ${(error as Error).message}`, { file, cause: error });
  }
  const baseDir = path.dirname(absolute);
  return { file: absolute, baseDir, agents: resolveAgentsFile(json, { baseDir, file }) };
}
