/** stopOnSignals() through real signals sent to this process: the first one stops, later ones only call onAgain. */
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { stopOnSignals } from '../../src/cli/stop-on-signals.ts';

describe('stopOnSignals', () => {
  it('aborts at the first SIGTERM, exit code 143; a second SIGINT calls onAgain and leaves the stop as it was', async () => {
    const before = { SIGINT: process.listenerCount('SIGINT'), SIGTERM: process.listenerCount('SIGTERM') };
    const events: string[] = [];
    let again!: () => void;
    const secondSeen = new Promise<void>((resolve) => (again = resolve));
    const stop = stopOnSignals({
      onStop: (signal) => events.push(`stop ${signal} aborted=${stop.signal.aborted}`),
      onAgain: (signal) => {
        events.push(`again ${signal}`);
        again();
      },
    });
    try {
      expect({ stoppedBy: stop.stoppedBy, exitCode: stop.exitCode, aborted: stop.signal.aborted }).toEqual({
        stoppedBy: undefined,
        exitCode: undefined,
        aborted: false,
      });
      process.kill(process.pid, 'SIGTERM');
      await once(stop.signal, 'abort');
      process.kill(process.pid, 'SIGINT');
      await secondSeen;
      // onStop ran before the abort, so what it writes comes before what the abort sets off.
      expect(events).toEqual(['stop SIGTERM aborted=false', 'again SIGINT']);
      expect({ stoppedBy: stop.stoppedBy, exitCode: stop.exitCode }).toEqual({ stoppedBy: 'SIGTERM', exitCode: 143 });
    } finally {
      stop.dispose();
    }
    expect({ SIGINT: process.listenerCount('SIGINT'), SIGTERM: process.listenerCount('SIGTERM') }).toEqual(before);
  });
});
