/**
 * One folder per agent run (the batch option `resultsDir`, the CLI's
 * `--results DIR`): `prompt.txt` (the exact bytes it was given), `stdout` and
 * `stderr` (whole, as they came: the launcher writes them), `result.json`
 * (how it ended). Written on the launch side, so the main thread pays
 * nothing for it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AgentPlan, WireError, WirePrompt, WireResult, WireTimings } from './messages.ts';

/** The folder of one agent under `dir`: its name's `/` make subfolders; `.`, `..` and empty parts cannot climb out. */
export function agentFolder(dir: string, name: string): string {
  const parts = name.split('/').map((p) => (p === '' || p === '.' || p === '..' ? '_' : p.replaceAll('\0', '_')));
  return path.join(dir, ...parts);
}

/** Creates the folder and writes prompt.txt; the error the agent fails with, if that is impossible. */
export async function savePrompt(plan: AgentPlan, bytes: Uint8Array): Promise<WireError | undefined> {
  try {
    await mkdir(plan.saveTo!, { recursive: true });
    await writeFile(path.join(plan.saveTo!, 'prompt.txt'), bytes, { mode: 0o600 });
    return undefined;
  } catch (error) {
    return {
      code: 'E_OUTPUT_FILE',
      message: `Agent "${plan.name}": could not write to its results folder ${plan.saveTo}: ${(error as Error).message}`,
      stage: 'spawn',
    };
  }
}

/** Writes result.json; an agent that succeeded but whose result cannot be saved fails with E_OUTPUT_FILE. */
export async function saveResult(plan: AgentPlan, result: WireResult, timings: WireTimings, prompt: WirePrompt | undefined): Promise<WireResult> {
  // The output itself is in the stdout and stderr files beside it.
  const { stdout: _stdout, stderr: _stderr, ...rest } = result;
  const record = { name: plan.name, ...rest, timings, prompt, stdoutFile: plan.stdoutFile, stderrFile: plan.stderrFile };
  try {
    // An agent that never got to start has no folder yet.
    await mkdir(plan.saveTo!, { recursive: true });
    await writeFile(path.join(plan.saveTo!, 'result.json'), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    return result;
  } catch (error) {
    const failure: WireError = {
      code: 'E_OUTPUT_FILE',
      message: `Agent "${plan.name}": could not write ${path.join(plan.saveTo!, 'result.json')}: ${(error as Error).message}`,
      stage: 'run',
    };
    return result.ok ? { ...result, ok: false, stage: 'run', error: failure } : result;
  }
}
