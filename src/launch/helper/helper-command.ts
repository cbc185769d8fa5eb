/**
 * How to start the helper: the node binary, the loader it needs, its entry
 * file. From source (tsx, vitest) the entry is .ts and needs tsx's loader;
 * from dist/ it is .js and runs on plain node.
 */
import { fileURLToPath } from 'node:url';
import { OWN_EXTENSION, tsxLoader } from '../../ts-loader.ts';

// Code that runs on another thread or in another process has its entry in workers/ (see workers/README.md).
const ENTRY_URL = new URL(`../../../workers/launch-helper.${OWN_EXTENSION}`, import.meta.url);

export interface HelperCommand {
  file: string;
  args: string[];
}

/**
 * The command line of a helper. The host's own node flags are not passed on
 * (a `--max-old-space-size` or `--inspect` meant for the host would only make
 * the helper bigger or clash); a .ts entry gets tsx's loader.
 */
export function helperCommand(entry: URL = ENTRY_URL): HelperCommand {
  const script = fileURLToPath(entry);
  const loader = script.endsWith('.ts') ? ['--import', tsxLoader()] : [];
  return { file: process.execPath, args: [...loader, script] };
}
