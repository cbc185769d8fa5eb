/**
 * Mustache rendering of a prompt template. Prompts are plain text, not HTML,
 * so nothing is escaped.
 */
import Mustache from 'mustache';
import { BuildError } from '../errors.ts';
import type { LoadedFile } from './types.ts';

type Spans = ReturnType<typeof Mustache.parse>;

// Per-call config: the global `Mustache.escape` is shared with any other
// mustache user in this thread.
const NO_ESCAPE = { escape: (value: unknown): string => String(value) };

const CONTEXT_NAMES = new Set(['context', 'contextText']);

/**
 * The context block appended when a template does not place the context
 * itself: each file as a `--- <path> ---` header line followed by its content.
 *
 * @example
 * contextText([{ path: 'a.md', content: 'hi' }]); // '--- a.md ---\nhi\n'
 */
export function contextText(files: readonly LoadedFile[]): string {
  return files.map((f) => `--- ${f.path} ---\n${f.content}\n`).join('');
}

/**
 * Renders `template` with the view `{ ...vars, agent, context, contextText }`,
 * without HTML escaping. A template that mentions neither `context` nor
 * `contextText` gets the context appended after a blank line, so listed
 * files are never silently left out.
 *
 * @throws BuildError `E_TEMPLATE` when the template does not parse.
 * @example
 * renderPrompt('Review {{file}} as {{agent}}', { file: '<b>&' }, 'reviewer', []); // 'Review <b>& as reviewer'
 */
export function renderPrompt(template: string, vars: Record<string, unknown>, agent: string, context: readonly LoadedFile[]): string {
  const text = contextText(context);
  const view = { ...vars, agent, context: context.map(({ path, content }) => ({ path, content })), contextText: text };
  let rendered: string;
  let placed: boolean;
  try {
    placed = mentionsContext(Mustache.parse(template));
    rendered = Mustache.render(template, view, undefined, NO_ESCAPE);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new BuildError('E_TEMPLATE', `Agent "${agent}": template error: ${reason}`, { agent, cause: err });
  }
  if (placed || context.length === 0) return rendered;
  return rendered === '' ? text : `${rendered}\n\n${text}`;
}

function mentionsContext(spans: Spans): boolean {
  for (const span of spans) {
    const [type, name] = span;
    if (type !== 'text' && type !== '!' && type !== '>' && type !== '=' && CONTEXT_NAMES.has(name.split('.')[0] ?? '')) return true;
    const children = span[4];
    if (Array.isArray(children) && mentionsContext(children)) return true;
  }
  return false;
}
