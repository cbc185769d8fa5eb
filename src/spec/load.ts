import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { checkAgentsFileTop, resolveAgentsFile, type ResolvedAgent } from './resolve.ts';

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
  const { file: absolute, baseDir, written } = await readAgentsFile(file);
  return { file: absolute, baseDir, agents: resolveAgentsFile(written, { baseDir, file }) };
}

/** An agents file as written, from {@link readAgentsFile}. */
export interface WrittenAgentsFile {
  /** Absolute path of the file. */
  file: string;
  /** The file's folder. */
  baseDir: string;
  /** The JSON as written: its top level checked, its agents not yet (`{{task.*}}` fields are filled per task first). */
  written: { defaults?: unknown; agents: unknown[] };
}

/**
 * Reads an agents file and checks its top level (an object with an `agents` list, no unknown
 * fields), leaving the agents as written: for callers that fill in tasks before validating each
 * run (the harness) or send the specs on to other machines (the fleet).
 *
 * @throws ConfigError naming the file: unreadable, not JSON, or a bad top level.
 * @example
 * const { written, baseDir } = await readAgentsFile('agents.json');
 * const runs = harnessRuns(written, tasks, { baseDir });
 */
export async function readAgentsFile(file: string): Promise<WrittenAgentsFile> {
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
    throw new ConfigError(`${file}:${jsonErrorAt(text, (error as Error).message)} not valid JSON: ${(error as Error).message}`, { file, cause: error });
  }
  const o = json as { defaults?: unknown; agents?: unknown };
  const shape = `${file}: expected an object { "defaults"?: {...}, "agents": [...] }`;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(shape, { file });
  // The schema's check names an unknown field first (a misspelt "agents" among them); with none, a missing list gets the shape.
  const unknownFields = Object.keys(json).some((k) => k !== 'defaults' && k !== 'agents');
  if (!unknownFields && !Array.isArray(o.agents)) throw new ConfigError(shape, { file });
  checkAgentsFileTop(json, file);
  const written = { ...(o.defaults === undefined ? {} : { defaults: o.defaults }), agents: o.agents as unknown[] };
  return { file: absolute, baseDir: path.dirname(absolute), written };
}

/** ` line L, column C:` of the position V8 names in a JSON.parse message ("... at position 68", or the end), or '' when it names none. */
export function jsonErrorAt(text: string, message: string): string {
  const at = /at position (\d+)/.exec(message);
  // "Unexpected end of JSON input" names no position: the end it means is the text's.
  if (at === null && !/end of JSON input/.test(message)) return '';
  const before = at === null ? text.trimEnd() : text.slice(0, Number(at[1]));
  const line = before.split('\n').length;
  return ` line ${line}, column ${before.length - before.lastIndexOf('\n')}:`;
}
