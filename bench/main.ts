/**
 * `npm run bench [-- flags]`: runs the benchmark scenarios, prints the tables,
 * writes bench/results/latest.{json,md,svg}.
 *
 *   --full              full mode (more runs, 1M ring records); default quick (< ~3 min on 2 cores)
 *   --scenario NAME     only these scenarios (repeatable, or a comma list)
 *   --runs N            measured runs per variant, for every scenario
 *   --warmup N          warm-up rounds, discarded (default 1)
 *   --tiny              tiny sizes: checks the wiring in seconds, measures nothing
 *   --launcher L        direct | helper | auto: how spawnpool forks agents (default: the library's default)
 *   --json FILE         also write the JSON report to FILE
 *   --out DIR           write latest.* here instead of bench/results
 *   --quiet             no progress bar, no tables: only where the report went
 */
import { parseArgs } from 'node:util';
import { runBench, SCENARIO_NAMES, type BenchOptions } from './lib/harness.ts';

const USAGE = `Usage: npm run bench -- [--full] [--scenario NAME[,NAME]] [--runs N] [--warmup N] [--tiny] [--launcher direct|helper|auto] [--json FILE] [--out DIR] [--quiet]
Scenarios: ${SCENARIO_NAMES.join(', ')}`;

function parse(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      full: { type: 'boolean', default: false },
      scenario: { type: 'string', multiple: true },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      tiny: { type: 'boolean', default: false },
      launcher: { type: 'string' },
      json: { type: 'string' },
      out: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  return {
    mode: values.full ? 'full' : 'quick',
    scenarios: (values.scenario ?? [])
      .flatMap((s) => s.split(','))
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    ...(values.runs === undefined ? {} : { runs: integer('--runs', values.runs) }),
    ...(values.warmup === undefined ? {} : { warmup: integer('--warmup', values.warmup) }),
    tiny: values.tiny,
    ...(values.launcher === undefined ? {} : { launcher: values.launcher as BenchOptions['launcher'] }),
    ...(values.json === undefined ? {} : { jsonFile: values.json }),
    ...(values.out === undefined ? {} : { outDir: values.out }),
    quiet: values.quiet,
  };
}

function integer(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n)) throw new RangeError(`Expected \`${flag}\` to be an integer, got \`${text}\``);
  return n;
}

try {
  const options = parse(process.argv.slice(2));
  const { files, markdown, report } = await runBench(options);
  if (!options.quiet) console.log(markdown);
  const failed = report.scenarios.filter((s) => s.error !== undefined);
  for (const s of failed) console.error(`bench: scenario ${s.name} failed: ${s.error ?? ''}`);
  if (failed.length > 0) process.exitCode = 1;
  console.log(`\nReport: ${files.markdown}\n        ${files.json}\n        ${files.svg}${files.extraJson ? `\n        ${files.extraJson}` : ''}`);
} catch (error) {
  console.error(`bench: ${(error as Error).message}`);
  if (!(error instanceof RangeError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) console.error(error);
  console.error(USAGE);
  process.exitCode = 1;
}
