/** Before any test: dist/ as new as the sources (see built-dist.ts). */
import { ensureBuiltDist } from './built-dist.ts';

export default function setup(): void {
  ensureBuiltDist();
}
