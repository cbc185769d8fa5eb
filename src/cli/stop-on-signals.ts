import os from 'node:os';

/** What {@link stopOnSignals} returns: the stop as an AbortSignal, and how the process should exit for it. */
export interface SignalStop {
  /** Aborted at the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** The first of them received, if any. */
  readonly stoppedBy: NodeJS.Signals | undefined;
  /** 128 + the number of `stoppedBy` (the shell's convention: 130 for Ctrl-C), undefined until then. */
  readonly exitCode: number | undefined;
  /** Stops listening: SIGINT and SIGTERM get Node's default handling again. */
  dispose(): void;
}

export interface StopOnSignalsOptions {
  /** Called at the first signal, before `signal` is aborted (so what it writes comes first). */
  onStop?: (signal: NodeJS.Signals) => void;
  /**
   * Called at every later one. Default: say on stderr that the stop is still
   * under way, and go on stopping: dying then would lose what the stop
   * still has to write (the batch in the history, the last metrics).
   */
  onAgain?: (signal: NodeJS.Signals) => void;
}

/**
 * Ctrl-C (SIGINT) or SIGTERM as a clean stop: the first one aborts `signal`,
 * which the command passes to what it runs; later ones call `onAgain`.
 * Call `dispose()` in a `finally`.
 *
 * @example
 * const stop = stopOnSignals();
 * try {
 *   await work(stop.signal);
 *   return stop.exitCode ?? 0;
 * } finally {
 *   stop.dispose();
 * }
 */
export function stopOnSignals(options: StopOnSignalsOptions = {}): SignalStop {
  const controller = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onAgain =
    options.onAgain ??
    ((signal: NodeJS.Signals) => process.stderr.write(`spawnpool: ${signal} again: still stopping (killing agent trees, writing the history)\n`));
  const onSignal = (signal: NodeJS.Signals) => {
    if (stoppedBy !== undefined) {
      onAgain(signal);
      return;
    }
    stoppedBy = signal;
    options.onStop?.(signal);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    get stoppedBy() {
      return stoppedBy;
    },
    get exitCode() {
      return stoppedBy === undefined ? undefined : 128 + os.constants.signals[stoppedBy];
    },
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
