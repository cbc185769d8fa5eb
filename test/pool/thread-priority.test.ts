/**
 * Build workers run at a lower priority than the main thread (Linux: nice is
 * per thread). Read back from /proc: the kernel's view, not ours.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FIXTURES, NODE, withSpawner } from '../support/fixtures.ts';

/** Nice value of each thread of this process, from /proc/self/task/<tid>/stat (field 19). */
function threadNices(): number[] {
  return readdirSync('/proc/self/task').flatMap((tid) => {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      return [Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])];
    } catch {
      return []; // the thread ended while we listed
    }
  });
}

describe.runIf(process.platform === 'linux')('build worker priority', () => {
  it('runs each build worker thread at nice +10 by default, and leaves the main thread alone', async () => {
    const mainNice = () => Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[16]);
    // Whatever nice this test process was started at (CI may run it niced), workers go 10 above it.
    const base = mainNice();
    const before = threadNices().filter((n) => n === Math.min(19, base + 10)).length;
    await withSpawner({ workers: 2, launcher: 'direct' }, async () => {
      expect(threadNices().filter((n) => n === Math.min(19, base + 10)).length - before).toBe(2);
      expect(mainNice()).toBe(base);
    });
  });

  it('workerNice sets how much, and 0 leaves the workers alone', async () => {
    const at = (n: number) => threadNices().filter((x) => x === n).length;
    const [before5, before10] = [at(5), at(10)];
    await withSpawner({ workers: 2, launcher: 'direct', workerNice: 5 }, async () => {
      expect(at(5) - before5).toBe(2);
    });
    await withSpawner({ workers: 2, launcher: 'direct', workerNice: 0 }, async () => {
      expect(at(10) - before10).toBe(0);
      expect(at(5) - before5).toBe(0);
    });
  });

  it('loads the tokenizer and builder at full priority and lowers it only then, a replacement worker too', async () => {
    const base = Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[16]);
    const probe = (name: string) => ({ name, command: NODE, args: ['-e', ''], prompt: { template: name } });
    const builder = `${FIXTURES}builders/nice-probe.mjs`;
    await withSpawner({ launcher: 'direct', builder, buildTimeoutMs: 3000 }, async (spawner) => {
      const said = async () => (await spawner.spawnBatch([probe('probe')]).results)[0]!.error?.message;
      const expected = `loaded at nice ${base}, built at nice ${Math.min(19, base + 10)}`;
      expect(await said()).toContain(expected);
      // The one worker is stopped mid-build; its replacement starts, loads and lowers itself the same way.
      expect((await spawner.spawnBatch([probe('spin')]).results)[0]!.error?.code).toBe('E_BUILD_TIMEOUT');
      expect(await said()).toContain(expected);
    });
  });
});
