/**
 * spawnpool/bullmq: agent runs spread over many hosts through a BullMQ
 * queue on Redis. Each host runs a {@link FleetWorker} (one Spawner); a run
 * (agents × tasks) is enqueued with {@link enqueueRun}; {@link waitForRun}
 * resolves when it is done; {@link fleetStatus} reads the queue.
 *
 * bullmq is an optional peer dependency of spawnpool: install it to use
 * this entry point (`npm install bullmq`). The core entry never loads it.
 *
 * @example
 * import { FleetWorker, enqueueRun, waitForRun, loadTasks } from 'spawnpool/bullmq';
 * const redis = 'redis://127.0.0.1:6379';
 * const worker = await FleetWorker.start({ redis, queue: 'evals', concurrency: 8 });
 * const { run } = await enqueueRun({ redis, queue: 'evals', agents: { agents: [{ name: 'fix', command: 'my-agent', args: ['{{task.repo}}'] }] }, tasks: await loadTasks('tasks.jsonl') });
 * console.log(await waitForRun({ redis, queue: 'evals', run }));
 * await worker.close();
 */
export { FleetWorker, type FleetWorkerEvent, type FleetWorkerOptions } from './worker.ts';
export { enqueueRun, waitForRun, defaultRunName, type EnqueueOptions, type EnqueueReport, type WaitForRunOptions } from './enqueue.ts';
export { fleetStatus, type FleetStatus, type FleetStatusOptions, type HostStatus, type RunStatus } from './status.ts';
export { agentRunJobId, runsQueueName, AGENT_RUN_JOB, RUN_JOB, type AgentRunData, type AgentRunResult, type RunData, type RunSummary } from './job.ts';
export { loadTasks, parseTasks, type LoadTasksOptions, type Task, type TaskFormat } from '../tasks/load-tasks.ts';
export { expandRun, expandRuns, type AgentRun, type RunInput } from '../tasks/expand.ts';
