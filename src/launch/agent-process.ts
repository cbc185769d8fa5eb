/**
 * One agent process, start to finish: deliver the prompt, spawn, report
 * `spawned` / `ready`, stop the tree on timeout or abort, report `exited`
 * exactly once, and clean up (temp prompt file, stragglers in the group).
 * Each step has its file: prompt-delivery, agent-spawn (the child and its stdio),
 * tree-stop (timeout and kill escalation), open-stdin, agent-exit (how the
 * end is reported). Shared by the direct launcher and the helper process.
 */
import { errnoOf, SpawnpoolError } from '../errors.ts';
import { wallClockMs } from '../metrics/record.ts';
import { spawnFailedExit, ranExit } from './agent-exit.ts';
import { spawnAgent } from './agent-spawn.ts';
import { notStartedExit } from './not-started.ts';
import { OpenStdin } from './open-stdin.ts';
import type { LiveTrees } from './process-tree.ts';
import { deliverPrompt, type DeliveredPrompt } from './prompt-delivery.ts';
import { TreeStop } from './tree-stop.ts';
import type { LaunchEvents, LaunchExit, LaunchHandle, LaunchRequest } from './types.ts';

export function startAgentProcess(request: LaunchRequest, events: LaunchEvents, trees: LiveTrees): LaunchHandle {
  const stop = new TreeStop(request.killGraceMs, request.timeoutMs);
  const stdin = new OpenStdin();
  void run(request, events, trees, stop, stdin)
    .then((exit) => events.exited(exit))
    .catch((error: unknown) => {
      // Only a bug gets here; still, the caller must hear an exit.
      events.exited(notStartedExit('E_LAUNCHER', `Agent "${request.agent}": launcher fault: ${(error as Error).message}`));
    });
  return {
    abort: () => stop.stop('aborted'),
    write: (data) => stdin.write(data),
    end: () => stdin.end(),
  };
}

async function run(request: LaunchRequest, events: LaunchEvents, trees: LiveTrees, stop: TreeStop, stdin: OpenStdin): Promise<LaunchExit> {
  let delivered: DeliveredPrompt;
  try {
    delivered = await deliverPrompt(request);
  } catch (error) {
    return notStartedExit(error instanceof SpawnpoolError ? error.code : 'E_SPAWN', (error as Error).message, errnoOf(error));
  }
  if (stop.reason !== undefined) {
    await delivered.cleanup();
    return { ...notStartedExit('E_ABORTED', `Agent "${request.agent}" was aborted before it started`), reason: 'aborted' };
  }

  const spawned = spawnAgent(request, delivered, events, stdin);
  if ('failed' in spawned) {
    const cause = await spawned.failed;
    await delivered.cleanup();
    return spawnFailedExit(request, cause);
  }
  const { child, ended, stdout, stderr, waitsForReady } = spawned.agent;
  let spawnedAt = 0;
  child.once('spawn', () => {
    spawnedAt = wallClockMs();
    const pid = child.pid!;
    trees.add(pid);
    events.spawned(pid, spawnedAt);
    if (!waitsForReady) events.ready(spawnedAt);
    stop.spawned(pid);
  });
  child.once('exit', () => stop.leaderExited());

  const end = await ended;
  const at = wallClockMs();
  stdin.detach();
  const fileError = (await stdout.closeFile()) ?? (await stderr.closeFile());
  stop.dispose();
  // A child that started has its pid, and joined the live trees at its 'spawn', which comes before its close.
  if (end.started) trees.delete(child.pid!);
  await delivered.cleanup();

  if (!end.started) return spawnFailedExit(request, end.cause);
  return ranExit(request, {
    reason: stop.reason ?? 'exit',
    pid: child.pid!,
    exitCode: end.exitCode,
    signal: end.signal,
    stdout,
    stderr,
    spawnedAt,
    at,
    fileError,
  });
}
