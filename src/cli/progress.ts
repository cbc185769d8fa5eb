/**
 * The live progress line while agents spawn: a cli-progress bar on an
 * interactive stderr, nothing otherwise (logs stay clean in CI).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  tick(name: string, ok: boolean): void;
  stop(): void;
}

export function startProgress(total: number, enabled: boolean): Progress {
  if (!enabled || !process.stderr.isTTY) return { tick: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    { format: 'spawning {bar} {value}/{total} | ok {ok} failed {failed} | {last}', stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let ok = 0;
  let failed = 0;
  bar.start(total, 0, { ok, failed, last: '' });
  return {
    tick(name, success) {
      if (success) ok++;
      else failed++;
      bar.increment({ ok, failed, last: name });
    },
    stop: () => bar.stop(),
  };
}
