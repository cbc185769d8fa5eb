/**
 * The real agent CLIs (Claude Code, Codex, Gemini CLI) against the local mock
 * LLM of ../shared/real-agents: find or install the CLIs, start and stop the
 * mock, write a throwaway HOME, and the environment each CLI needs. Used by
 * test/e2e; examples/real-agents/run.sh does the same in bash.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The kit's folder: SPAWNPOOL_REAL_AGENTS_KIT, else ../shared/real-agents beside the repo. */
export const KIT = process.env.SPAWNPOOL_REAL_AGENTS_KIT ?? path.resolve(ROOT, '../shared/real-agents');
/** Where install-clis.sh installs by default. */
export const DEFAULT_BIN = path.join(os.homedir(), '.cache', 'spawnpool-real-agents', 'node_modules', '.bin');

export type RealCli = 'claude' | 'codex' | 'gemini';
export const REAL_CLIS: readonly RealCli[] = ['claude', 'codex', 'gemini'];

export interface RealClis {
  bin: string;
  claude: string;
  codex: string;
  gemini: string;
}

async function executable(file: string): Promise<boolean> {
  return access(file, constants.X_OK).then(
    () => true,
    () => false,
  );
}

async function allIn(bin: string): Promise<boolean> {
  const found = await Promise.all(REAL_CLIS.map((cli) => executable(path.join(bin, cli))));
  return found.every(Boolean);
}

/**
 * The three CLIs, installed by install-clis.sh if they are not there yet
 * (about 760 MB from the npm registry: minutes on a fresh machine, said on
 * `log` first). Throws, with the installer's output, if they cannot be had.
 */
export async function findOrInstallClis(log: (message: string) => void = (m) => console.log(m)): Promise<RealClis> {
  let bin = DEFAULT_BIN;
  if (!(await allIn(bin))) {
    log(
      `real agents: claude, codex and gemini are not in ${bin}: installing them with ${path.join(KIT, 'install-clis.sh')} (about 760 MB; this can take minutes)`,
    );
    try {
      const { stdout } = await run('bash', [path.join(KIT, 'install-clis.sh')], { timeout: 20 * 60_000, maxBuffer: 16 << 20 });
      bin = stdout.trim().split('\n').at(-1) ?? bin;
    } catch (error) {
      const e = error as { message: string; stderr?: string };
      throw new Error(`real agents: install-clis.sh failed: ${e.message}\n${e.stderr ?? ''}`);
    }
    if (!(await allIn(bin))) throw new Error(`real agents: install-clis.sh ran but claude, codex and gemini are not all in ${bin}`);
    log(`real agents: installed in ${bin}`);
  }
  return { bin, claude: path.join(bin, 'claude'), codex: path.join(bin, 'codex'), gemini: path.join(bin, 'gemini') };
}

export interface MockLlm {
  port: number;
  /** http://127.0.0.1:PORT */
  url: string;
  /** Stops the server and waits for its exit. */
  stop(): Promise<void>;
}

/** Starts mock-llm.mjs on a free 127.0.0.1 port (the kernel picks it); resolves once it listens. */
export async function startMockLlm(env: Record<string, string> = {}, startTimeoutMs = 15_000): Promise<MockLlm> {
  const child = spawn(process.execPath, [path.join(KIT, 'mock-llm.mjs'), '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    const port = await listeningPort(child, startTimeoutMs);
    return { port, url: `http://127.0.0.1:${port}`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function listeningPort(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`mock-llm did not print its port within ${timeoutMs} ms: ${err}`)), timeoutMs);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = /^MOCK_LLM_PORT=(\d+)$/m.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`mock-llm exited (${code ?? signal}) before listening: ${err}`));
    });
  });
}

/** Writes the config files codex and gemini need into `home` (setup-home.sh). */
export async function setupHome(home: string, port: number): Promise<void> {
  await run('bash', [path.join(KIT, 'setup-home.sh'), home, String(port)]);
}

/** The environment one CLI needs to talk to the mock from `home` (the kit's README recipes). */
export function cliEnv(cli: RealCli, home: string, port: number): Record<string, string> {
  const url = `http://127.0.0.1:${port}`;
  const common = { HOME: home, NO_COLOR: '1', TERM: 'dumb' };
  switch (cli) {
    case 'claude':
      return {
        ...common,
        ANTHROPIC_BASE_URL: url,
        ANTHROPIC_API_KEY: 'test',
        DISABLE_TELEMETRY: '1',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_AUTOUPDATER: '1',
      };
    case 'codex':
      return { ...common, CODEX_HOME: path.join(home, '.codex'), OPENAI_API_KEY: 'test' };
    case 'gemini':
      return { ...common, GEMINI_API_KEY: 'test', GOOGLE_GEMINI_BASE_URL: url, GEMINI_CLI_TRUST_WORKSPACE: 'true', GEMINI_CLI_NO_RELAUNCH: 'true' };
  }
}

/** The mock's answer for `prompt` carries these: `len=<UTF-16 units> ` and `sha=<first 8 hex of sha256(UTF-8)>`. */
export function echoMarks(prompt: string, sha256Hex: string): { len: string; sha: string } {
  return { len: `len=${prompt.length} `, sha: `sha=${sha256Hex.slice(0, 8)}` };
}
