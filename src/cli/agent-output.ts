/**
 * What `spawnpool run` shows of the agents' own output, the way GNU parallel
 * and concurrently do: `tag` prints each line as it comes, prefixed with the
 * agent's name (whole lines only: two agents never interleave mid-line);
 * `group` prints each agent's output in one block when it ends; `none` shows
 * only the table. stdout goes to stdout, stderr to stderr.
 */
import type { AgentResult, SpawnOutcome } from '../batch/types.ts';

export type OutputMode = 'tag' | 'group' | 'none';

export const OUTPUT_MODES: readonly OutputMode[] = ['tag', 'group', 'none'];

// Red is kept for failures; these tell agents apart.
const COLOURS = [36, 33, 35, 32, 34, 96, 93, 95, 92, 94];

export interface OutputPrinter {
  /** Starts printing this agent's output (tag) or prints it once it has exited (group). Settles when done. */
  follow(outcome: SpawnOutcome): Promise<void>;
}

export function outputPrinter(mode: OutputMode, names: readonly string[]): OutputPrinter {
  const width = Math.max(...names.map((n) => n.length));
  const colour = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
  const prefixes = new Map(
    names.map((name, i) => {
      const tag = `[${name}]`.padEnd(width + 2);
      return [name, colour ? `\u001b[${COLOURS[i % COLOURS.length]}m${tag}\u001b[0m` : tag];
    }),
  );
  const print = (to: NodeJS.WriteStream, prefix: string, lines: readonly string[]) => {
    if (lines.length > 0) to.write(lines.map((l) => `${prefix} ${l}\n`).join(''));
  };
  return {
    async follow(outcome) {
      const prefix = prefixes.get(outcome.name) ?? `[${outcome.name}]`;
      if (mode === 'none') return;
      if (mode === 'tag') {
        const pump = async (lines: AsyncIterable<string>, to: NodeJS.WriteStream) => {
          for await (const line of lines) print(to, prefix, [line]);
        };
        await Promise.all([pump(outcome.stdout.lines(), process.stdout), pump(outcome.stderr.lines(), process.stderr)]);
        for (const [name, stream] of [
          ['stdout', outcome.stdout],
          ['stderr', outcome.stderr],
        ] as const) {
          if (stream.droppedBytes > 0)
            process.stderr.write(
              `${prefix} spawnpool: ${stream.droppedBytes} bytes of its ${name} were dropped unprinted (it wrote faster than they could be shown); --results DIR keeps all of it\n`,
            );
        }
        return;
      }
      const result = await outcome.result;
      print(process.stdout, prefix, linesOf(result.stdout));
      print(process.stderr, prefix, linesOf(result.stderr));
    },
  };
}

/** The last `n` lines of a failed agent's output, for the failures section. */
export function tail(text: string, n: number): string[] {
  return linesOf(text).slice(-n);
}

function linesOf(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** The failures section's lines for one agent: its error, then the end of what it printed. */
export function failureLines(result: AgentResult, code: string | undefined, message: string | undefined): string[] {
  const lines = [`  ${result.name}: [${code}] ${message}`];
  for (const [stream, text] of [
    ['stderr', result.stderr],
    ['stdout', result.stdout],
  ] as const) {
    const last = tail(text, 5);
    if (last.length > 0) lines.push(`    last ${stream}${result[`${stream}Truncated`] ? ' (kept part)' : ''}:`, ...last.map((l) => `      ${l}`));
  }
  return lines;
}
