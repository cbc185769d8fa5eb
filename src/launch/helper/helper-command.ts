/**
 * How to start the helper: the node binary, the loader it needs, its entry
 * file. From source (tsx, vitest) the entry is .ts and needs tsx's loader;
 * from dist/ it is .js and runs on plain node.
 */
import { fileURLToPath } from 'node:url';
import { isTypeScript, ownEntry, tsxLoader } from '../../ts-loader.ts';

const ENTRY_URL = ownEntry('launch-helper');

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
  const loader = isTypeScript(script) ? ['--import', tsxLoader()] : [];
  return { file: process.execPath, args: [...loader, script] };
}
