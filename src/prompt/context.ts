/**
 * Reading prompt files (templates and context) from inside an agent's root,
 * and nowhere else.
 */
import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { BuildError } from '../errors.ts';
import type { LoadedFile, PromptSpec } from './types.ts';

/**
 * Resolves `path` against `root` and returns its real path (symlinks
 * followed), refusing anything that lands outside the real root.
 *
 * @param what - What the file is, for messages ("context file", "template file").
 * @throws BuildError `E_CONTEXT_ESCAPE` when the path (as written, or after
 *   following symlinks) is outside the root; `E_CONTEXT_READ` when the file
 *   or the root cannot be resolved.
 * @example
 * await resolveUnderRoot('/work/x', 'notes/a.md', 'context file', 'reviewer'); // '/work/x/notes/a.md'
 */
export async function resolveUnderRoot(root: string, path: string, what: string, agent: string): Promise<string> {
  const escape = () => new BuildError('E_CONTEXT_ESCAPE', `Agent "${agent}": ${what} "${path}" resolves outside the root "${root}"`, { agent });
  const absRoot = resolve(root);
  // Checked before touching the disk, so an escaping path is reported as such
  // (not as "missing") and nothing outside the root is probed.
  if (!isInside(absRoot, resolve(absRoot, path))) throw escape();

  const realRoot = await realpath(absRoot).catch((err: unknown) => {
    throw new BuildError('E_CONTEXT_READ', `Agent "${agent}": prompt root "${root}" cannot be read: ${describe(err)}`, { agent, cause: err });
  });
  const real = await realpath(resolve(absRoot, path)).catch((err: unknown) => {
    throw readError(agent, what, path, err);
  });
  if (!isInside(realRoot, real)) throw escape();
  return real;
}

/**
 * Reads a UTF-8 file that must lie under `root` (see {@link resolveUnderRoot}).
 *
 * @throws BuildError `E_CONTEXT_ESCAPE` or `E_CONTEXT_READ`.
 */
export async function readUnderRoot(root: string, path: string, what: string, agent: string): Promise<string> {
  const real = await resolveUnderRoot(root, path, what, agent);
  try {
    return await readFile(real, 'utf8');
  } catch (err) {
    throw readError(agent, what, path, err);
  }
}

/**
 * The template of a prompt spec: the inline `template`, else the contents of
 * `templateFile` (read under `root`), else the empty string.
 *
 * @throws BuildError `E_BUILD` when both are set; `E_CONTEXT_ESCAPE` /
 *   `E_CONTEXT_READ` for a bad `templateFile`.
 */
export async function loadTemplate(spec: PromptSpec, root: string, agent: string): Promise<string> {
  if (spec.template !== undefined && spec.templateFile !== undefined) {
    throw new BuildError('E_BUILD', `Agent "${agent}": give either "template" or "templateFile", not both`, { agent });
  }
  if (spec.template !== undefined) return spec.template;
  if (spec.templateFile !== undefined) return readUnderRoot(root, spec.templateFile, 'template file', agent);
  return '';
}

/**
 * Reads the context files under `root`, all at once, in the order given.
 * Token counting is left to the builder, which may only need a prefix.
 *
 * @throws BuildError `E_CONTEXT_ESCAPE` / `E_CONTEXT_READ` naming a bad file.
 */
export async function loadContext(root: string, paths: readonly string[], agent: string): Promise<LoadedFile[]> {
  return Promise.all(paths.map(async (path) => ({ path, content: await readUnderRoot(root, path, 'context file', agent) })));
}

function isInside(root: string, target: string): boolean {
  const rel = relative(root, target);
  // `..name` is a legal file name inside the root; only a `..` segment escapes.
  return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

function readError(agent: string, what: string, path: string, err: unknown): BuildError {
  return new BuildError('E_CONTEXT_READ', `Agent "${agent}": ${what} "${path}" cannot be read: ${describe(err)}`, { agent, cause: err });
}

function describe(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' && !message.startsWith(code) ? `${code}: ${message}` : message;
}
