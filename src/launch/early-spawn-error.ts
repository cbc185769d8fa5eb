/**
 * The one spawn failure execa cannot report. Out of file descriptors
 * (EMFILE, ENFILE), Node's spawn() gives up before it makes the child's
 * stdio and emits the errno on the next tick as an 'error' event; execa
 * then reads the stdio that was never made, throws a TypeError, and never
 * returns the child, so the 'error' has no listener and ends the thread
 * (the direct launcher's launch thread) or the process (the helper). Node
 * announces every ChildProcess it makes on the `child_process` diagnostics
 * channel, synchronously, which lets this call hear the child it made.
 */
import type { ChildProcess } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';

export type Started<T> = { subprocess: T } | { failed: Promise<Error> };

/** Runs `start` (one execa call); if it throws because Node could not make the child's stdio, resolves `failed` with Node's own error. */
export function spawnOrEarlyError<T>(start: () => T): Started<T> {
  let child: ChildProcess | undefined;
  const onChild = (message: unknown) => {
    child = (message as { process: ChildProcess }).process;
  };
  subscribe('child_process', onChild);
  try {
    return { subprocess: start() };
  } catch (error) {
    // A child without stdio is Node's sign that its 'error' is queued; anything else is a fault of ours.
    if (child === undefined || child.stdio !== undefined) throw error;
    return { failed: once(child, 'error').then(([cause]) => cause as Error) };
  } finally {
    unsubscribe('child_process', onChild);
  }
}
