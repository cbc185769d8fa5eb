/**
 * The `spawnpool` command. Exit codes: 0 success, 1 agents failed (below
 * --min-success), 2 bad input (usage, agents file, options).
 */
import { pathToFileURL } from 'node:url';
import { ConfigError, HistoryError } from '../errors.ts';
import { closest } from '../options/parse-options.ts';
import { packageRoot } from '../package-root.ts';
import { cleanupCommand } from './cleanup.ts';
import { RUN_USAGE, runCommand } from './run.ts';
import { statsCommand } from './stats.ts';
import { UsageError } from './usage-error.ts';

const USAGE = `Usage: spawnpool <command> [options]

Commands:
  run <agents.json>   spawn every agent of the file at once and report timings
  stats               spawn latency and success rates from the history database
  cleanup             delete old history (--older-than 30d) and check the file
  enqueue <agents.json> --redis URL --queue NAME [--tasks FILE]
                      add a run (every agent once per task) to a BullMQ queue on Redis
  worker --redis URL --queue NAME
                      run the queue's agent runs on this host, until SIGTERM
  status --redis URL --queue NAME
                      the queue's waiting / active / completed / failed runs, per host

Run "spawnpool <command> --help" for a command's options; "spawnpool --version" (-V) for the version.

${RUN_USAGE}`;

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  run: runCommand,
  stats: statsCommand,
  cleanup: cleanupCommand,
  // Loaded on use: only these need bullmq (an optional peer dependency).
  enqueue: async (argv) => (await import('./fleet-enqueue.ts')).enqueueCommand(argv),
  worker: async (argv) => (await import('./fleet-worker.ts')).workerCommand(argv),
  status: async (argv) => (await import('./fleet-status.ts')).statusCommand(argv),
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    process.stdout.write(`spawnpool ${version()}\n`);
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    const near = closest(name, Object.keys(COMMANDS));
    process.stderr.write(`spawnpool: unknown command "${name}"${near === undefined ? '' : `: did you mean "${near}"?`}\n\n${USAGE}\n`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof HistoryError || error instanceof UsageError || isArgError(error)) {
      process.stderr.write(`spawnpool ${name}: ${(error as Error).message}\n`);
      return 2;
    }
    throw error;
  }
}

/** This spawnpool's version, from its package.json. */
function version(): string {
  try {
    return packageRoot(import.meta.url).version;
  } catch {
    return 'unknown';
  }
}

/** node:util parseArgs reports unknown or malformed flags with these codes. */
function isArgError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** Runs the CLI on this process's arguments and sets its exit code. */
export async function runCli(): Promise<void> {
  process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`spawnpool: internal error: ${(error as Error).stack ?? String(error)}\n`);
    return 70;
  });
}

// Run when executed directly (tsx src/cli/main.ts); bin/spawnpool.js calls runCli() itself.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await runCli();
