/**
 * `npx tsx bench/micro/helper-rss.ts` (after `npm run build`): the RSS of an
 * idle launch helper started from source (under tsx) and from dist/ (plain node).
 */
import type { HelperLauncher as Launcher } from '../../src/index.ts';
import { rssOf } from '../../test/support/procfs.ts';
import { mb } from '../helper-launcher/latency.ts';

const sources = { source: '../../src/index.ts', dist: '../../dist/src/index.js' };
for (const [label, module] of Object.entries(sources)) {
  const { HelperLauncher } = (await import(module)) as { HelperLauncher: typeof Launcher };
  const launcher = new HelperLauncher({ helpers: 1 });
  try {
    await launcher.warmUp();
    console.log(`helper from ${label}: RSS ${mb(rssOf(launcher.pids[0])).toFixed(0)} MB`);
  } finally {
    await launcher.close();
  }
}
