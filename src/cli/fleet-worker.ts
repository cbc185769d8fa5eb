/**
 * `spawnpool worker`: a long-lived process, one per host, running the agent
 * runs of a BullMQ queue through one Spawner. SIGTERM or SIGINT: it stops
 * taking jobs, lets running agents finish up to --shutdown-timeout, then
 * stops them (their jobs go back to the queue) and exits 0. A second signal
 * exits at once (agent trees are still killed; their jobs come back to the
 * queue once their locks expire, as for a dead host).
 */
import { once } from 'node:events';
import os from 'node:os';
import { loadBullmq } from '../fleet/bullmq.ts';
import { probeRedis } from '../fleet/redis.ts';
import { FleetWorker } from '../fleet/worker.ts';
import { Spawner } from '../spawner.ts';
import { msFlag, QUEUE_OPTIONS, QUEUE_USAGE, queueFlags } from './fleet-flags.ts';
import { namingFlags, spawnerFlags } from './option-flags.ts';
import { type SignalStop, stopOnSignals } from './stop-on-signals.ts';
import { startTelemetry, telemetrySpawnerOptions, TELEMETRY_OPTIONS, TELEMETRY_USAGE, type Telemetry, type TelemetryFlags } from './telemetry.ts';
import { intFlag, parseFlags, UsageError } from './usage-error.ts';

export const WORKER_USAGE = `Usage: spawnpool worker --redis URL --queue NAME [options]

Runs the queue's agent runs on this host until SIGTERM or SIGINT.

Options:
${QUEUE_USAGE}
  --concurrency N    agent runs in flight on this host (default 4)
  --host NAME        this host's name in results and status (default: the machine's host name)
  --agents FILE      agents file for jobs that name their agent (enqueue --by-name)
  --root DIR         prompt root; relative paths in jobs' agent specs resolve against it
                     (default: the --agents file's folder, else the working folder)
  --output-dir DIR   save each run's stdout and stderr under DIR/<run>/<agent>/<task>.std{out,err};
                     job results then carry the paths instead of the output
  --shutdown-timeout T
                     on SIGTERM/SIGINT, how long running agents may finish before they are
                     stopped and their jobs put back in the queue (default 30s)
  --stalled-interval T
                     BullMQ: how often to look for jobs of dead workers (default 30s)
  --lock-duration T  BullMQ: a running job's lock, renewed every half of it; a dead host's jobs
                     are taken again after about this plus the stalled interval (default 30s)
  --max-stalled N    BullMQ: times a job may come back from a dead host before it fails (default 1)
  --workers N        prompt-building worker threads (default: cores, at most 4)
  --launcher L       direct, helper or auto (see spawnpool run --help)
  --helpers N        helper processes for --launcher helper or auto (default 1)
${TELEMETRY_USAGE}
  -h, --help         show this help

Durations (T): milliseconds, or with a unit: 500ms, 30s, 2m.`;

export async function workerCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags({
    args: argv,
    allowPositionals: true,
    options: {
      ...QUEUE_OPTIONS,
      concurrency: { type: 'string' },
      host: { type: 'string' },
      agents: { type: 'string' },
      root: { type: 'string' },
      'output-dir': { type: 'string' },
      'shutdown-timeout': { type: 'string' },
      'stalled-interval': { type: 'string' },
      'lock-duration': { type: 'string' },
      'max-stalled': { type: 'string' },
      workers: { type: 'string' },
      launcher: { type: 'string' },
      helpers: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
      ...TELEMETRY_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(`${WORKER_USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`Unexpected argument "${positionals[0]}": the worker takes its agents from the queue\n\n${WORKER_USAGE}`);
  const where = queueFlags(values, WORKER_USAGE);
  const concurrency = intFlag('concurrency', values.concurrency, 1);
  const spawnerOptions = spawnerFlags(values);
  const maxStalledCount = intFlag('max-stalled', values['max-stalled'], 0);
  const shutdownTimeoutMs = msFlag('shutdown-timeout', values['shutdown-timeout']);
  const stalledIntervalMs = msFlag('stalled-interval', values['stalled-interval'], 1);
  const lockDurationMs = msFlag('lock-duration', values['lock-duration'], 1);
  const telemetryOptions = telemetrySpawnerOptions(values);

  // Redis first: unreachable, nothing starts (no worker threads, no history file).
  await probeRedis(await loadBullmq(), where.redis, where.prefix);
  const spawner = namingFlags(spawnerOptions, () => new Spawner({ ...telemetryOptions, ...spawnerOptions }));
  let telemetry: Telemetry | undefined;
  let worker: FleetWorker | undefined;
  let stop: SignalStop | undefined;
  try {
    // A worker's endpoint is scraped for as long as it runs: no waiting for a first scrape before the first job (unless --metrics-linger asks for it).
    const flags: TelemetryFlags & Record<string, unknown> = { ...values };
    if (flags['serve-metrics'] !== undefined && flags['metrics-linger'] === undefined) flags['metrics-linger'] = '0';
    telemetry = await startTelemetry(spawner, flags);
    await spawner.ready;
    worker = await FleetWorker.start({
      ...where,
      spawner,
      ...(concurrency === undefined ? {} : { concurrency }),
      ...(values.host === undefined ? {} : { host: values.host }),
      ...(values.agents === undefined ? {} : { agentsFile: values.agents }),
      ...(values.root === undefined ? {} : { root: values.root }),
      ...(values['output-dir'] === undefined ? {} : { outputDir: values['output-dir'] }),
      ...(shutdownTimeoutMs === undefined ? {} : { shutdownTimeoutMs }),
      ...(stalledIntervalMs === undefined ? {} : { stalledIntervalMs }),
      ...(lockDurationMs === undefined ? {} : { lockDurationMs }),
      ...(maxStalledCount === undefined ? {} : { maxStalledCount }),
      onEvent(event) {
        if (event.kind === 'failed') log(`job ${event.jobId} failed${event.willRetry ? ' (will retry)' : ''}: ${event.reason}`);
        else if (event.kind === 'returned') log(`job ${event.jobId} put back in the queue: ${event.reason}`);
        else if (event.kind === 'error') log(`BullMQ: ${event.message}`);
      },
    });
    const running = worker;
    log(`host ${running.host} taking agent runs from queue "${where.queue}" (concurrency ${concurrency ?? 4}), pid ${process.pid}`);
    stop = stopOnSignals({
      onStop: (signal) =>
        log(
          `${signal}: taking no more jobs; ${running.running} agent run${running.running === 1 ? '' : 's'} in flight, allowed to finish for ${duration(shutdownTimeoutMs ?? 30_000)}`,
        ),
      // A second signal: exit now. The agents' trees are killed on the way out (the spawner's exit hook).
      onAgain: (signal) => process.exit(128 + os.constants.signals[signal]),
    });
    await once(stop.signal, 'abort');
    const { stopped } = await running.close();
    if (stopped > 0) log(`stopped ${stopped} agent run${stopped === 1 ? '' : 's'} at the deadline; their jobs are back in the queue`);
    log('stopped');
    return 0;
  } finally {
    await worker?.close();
    await spawner.close();
    await telemetry?.close();
    // Last: a second signal exits at once until the very end, closing included.
    stop?.dispose();
  }
}

function duration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

function log(message: string): void {
  process.stderr.write(`spawnpool worker: ${message}\n`);
}
