/**
 * `spawnpool cleanup --older-than 30d [--vacuum]`: checks the history
 * database, then deletes old batches with their agent runs in bounded
 * chunks and reports what it removed and reclaimed. A damaged file is left
 * untouched: exit code 1, the damage listed.
 */
import type { CleanupReport } from '../history/types.ts';
import { History } from '../history/history.ts';
import { dbPath, DEFAULT_DB } from './history-flags.ts';
import { parseFlags, UsageError } from './usage-error.ts';

export const CLEANUP_USAGE = `Usage: spawnpool cleanup --older-than DURATION [options]

Options:
  --older-than DURATION  delete batches started longer ago than this, e.g. 30d, 12h, 2w
  --vacuum               then rebuild the file so it shrinks on disk (locks out writers meanwhile)
  --json                 print the report as one JSON object
  --db PATH              history database (default ${DEFAULT_DB})
  -h, --help             show this help`;

export async function cleanupCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags({
    args: argv,
    allowPositionals: true,
    options: {
      'older-than': { type: 'string' },
      vacuum: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      db: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${CLEANUP_USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`Unexpected argument "${positionals[0]}"\n\n${CLEANUP_USAGE}`);
  if (values['older-than'] === undefined) throw new UsageError(`Expected --older-than, e.g. --older-than 30d\n\n${CLEANUP_USAGE}`);
  // An older schema is migrated only once the integrity check has passed: a damaged file gets no write at all.
  const history = History.openForCleanup({ path: dbPath(values.db), mustExist: true });
  let report: CleanupReport;
  try {
    report = await history.cleanup({ olderThan: values['older-than'], vacuum: values.vacuum });
  } finally {
    await history.close();
  }
  if (values.json) process.stdout.write(`${JSON.stringify({ db: history.path, ...report }, null, 2)}\n`);
  else process.stdout.write(`${render(history.path, report, values['older-than'])}\n`);
  return report.integrity === 'ok' ? 0 : 1;
}

function render(file: string, r: CleanupReport, olderThan: string): string {
  if (Array.isArray(r.integrity)) {
    return [
      `${file}: integrity_check FAILED, nothing was removed (the file is left as it was):`,
      ...r.integrity.map((line) => `  ${line}`),
      'Copy what can be read out of it (sqlite3 FILE .recover), or move it aside: spawnpool neither repairs nor replaces it.',
    ].join('\n');
  }
  const integrity = r.integrity;
  const size = `size ${bytes(r.bytesBefore)} -> ${bytes(r.bytesAfter)}: ${bytes(r.bytesReclaimed)} reclaimed`;
  const free = r.vacuumed || r.freeBytes === 0 ? '' : `; ${bytes(r.freeBytes)} free inside the file for new rows (--vacuum gives it back to the disk)`;
  return [
    `${file}: removing batches started before ${r.cutoff} (older than ${olderThan})`,
    `removed ${r.batchesRemoved} batches and ${r.agentRunsRemoved} agent runs in ${r.chunks} chunks${r.vacuumed ? ', then vacuumed' : ''}`,
    `${size}${free}`,
    `integrity_check: ${integrity}`,
  ].join('\n');
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
