/**
 * `npx tsx bench/micro/history-flush.ts`: how long one history flush of a
 * 1,000-agent batch holds the thread that calls it (the main thread, in a
 * Spawner). Median of 15 flushes into a fresh database.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
// One flush is what is timed: the History class flushes on its own schedule, so its writer is used directly.
import { openHistoryDatabase } from '../../src/history/database.ts';
import { HistoryWriter } from '../../src/history/store.ts';
import { agentRow, entry } from '../../test/history/fixtures.ts';
import { median } from '../lib/stats.ts';

const AGENTS = 1000;
const dir = await mkdtemp(path.join(os.tmpdir(), 'spawnpool-flush-'));
const file = path.join(dir, 'history.db');
const db = openHistoryDatabase(file);
try {
  const writer = new HistoryWriter(db, file, { flushIntervalMs: 3_600_000 });
  const ms: number[] = [];
  for (let r = 0; r < 15; r++) {
    writer.add(
      entry(
        Date.now(),
        Array.from({ length: AGENTS }, (_, i) => agentRow(`agent-${i}`, i, 12.5 + i)),
        r,
      ),
    );
    const t0 = performance.now();
    writer.flush();
    ms.push(performance.now() - t0);
  }
  console.log(`history flush of ${AGENTS} agent rows: median ${median(ms).toFixed(1)} ms, min ${Math.min(...ms).toFixed(1)} ms (15 flushes)`);
} finally {
  db.close();
  await rm(dir, { recursive: true, force: true });
}
