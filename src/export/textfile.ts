/**
 * Writes a spawner's Prometheus metrics to a file for node_exporter's
 * textfile collector (`--collector.textfile.directory`): the whole
 * exposition, replaced atomically (written next to it, then renamed), so the
 * collector never reads half a file.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import type { SpawnerMetrics } from '../metrics/spawner-metrics.ts';

/** node_exporter reads only `*.prom` files. Throws ConfigError naming the file otherwise. */
export function checkTextfilePath(file: string): string {
  if (!file.endsWith('.prom'))
    throw new ConfigError(`Expected the metrics textfile to end in .prom (node_exporter's textfile collector reads only *.prom files), got \`${file}\``);
  return path.resolve(file);
}

/** Replaces `file` with the spawner's metrics now (the ring is drained first). Rejects with a ConfigError naming the file. */
export async function writeTextfile(metrics: SpawnerMetrics, file: string): Promise<void> {
  const target = checkTextfilePath(file);
  const text = await metrics.prometheus();
  // A dot file in the same folder: same file system (rename is atomic), and not *.prom, so the collector skips it.
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
  try {
    await writeFile(temp, text, { mode: 0o644 });
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw new ConfigError(`Cannot write the metrics textfile ${target}: ${(error as Error).message}`, { cause: error });
  }
}
