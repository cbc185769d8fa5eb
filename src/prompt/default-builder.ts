/**
 * The built-in builder: renders the template with the context files, cutting
 * context to fit `maxTokens`.
 */
import { BuildError } from '../errors.ts';
import { renderPrompt } from './render.ts';
import { countTokens, truncateToTokens } from './tokens.ts';
import type { BuiltPrompt, DefaultBuilderInput, LoadedFile } from './types.ts';

interface Budgeted extends LoadedFile {
  /** The file as read, to cut again from if the first cut was not enough. */
  original: string;
  tokens: number;
  truncated: boolean;
}

/**
 * Builds a prompt. Without `maxTokens` everything is kept. With it, the
 * template and the context headers are kept whole and the remaining budget
 * goes to context files in order: the file that overflows is cut
 * token-exactly and the files after it are dropped (empty content,
 * `truncated: true`). The returned `tokens` is the real count of `text`,
 * never more than `maxTokens`.
 *
 * Accepts a full `BuilderInput` too (the `tokens`/`truncated` of its
 * context files are ignored).
 *
 * @throws BuildError `E_BUILD` when the template (or the template plus the
 *   context headers) alone is over `maxTokens`; `E_TEMPLATE` when it does not parse.
 * @example
 * buildPrompt({ agent: 'a', template: 'Fix {{bug}}', vars: { bug: '#12' }, context: [], maxTokens: 100 }).text; // 'Fix #12'
 */
export function buildPrompt(input: DefaultBuilderInput): BuiltPrompt {
  const { agent, template, vars, context, maxTokens } = input;
  const render = (files: readonly LoadedFile[]) => renderPrompt(template, vars, agent, files);
  if (maxTokens === undefined) {
    const text = render(context);
    const report = context.map((f) => ({ path: f.path, tokens: countTokens(f.content), truncated: false }));
    return { text, tokens: countTokens(text), truncated: false, context: report };
  }

  const bare = countTokens(render([]));
  if (bare > maxTokens) {
    throw new BuildError('E_BUILD', `Agent "${agent}": template alone is ${bare} tokens, over maxTokens ${maxTokens}`, { agent });
  }
  // Headers and separators are measured, not guessed: this is the prompt
  // with every file emptied, which is the least the budget must hold.
  const frame = countTokens(render(context.map((f) => ({ path: f.path, content: '' }))));
  if (frame > maxTokens) {
    throw new BuildError(
      'E_BUILD',
      `Agent "${agent}": template and the headers of ${context.length} context files are ${frame} tokens, over maxTokens ${maxTokens}; raise maxTokens or list fewer files`,
      { agent },
    );
  }

  const parts = allocate(context, maxTokens - frame);
  // Tokens merge differently across file boundaries than within each file,
  // so the sum can miss by a few: measure the real prompt and cut the last
  // kept file until it fits. Ends, since all-empty files measure `frame`.
  for (;;) {
    const text = render(parts);
    const tokens = countTokens(text);
    if (tokens <= maxTokens) {
      const report = parts.map((p) => ({ path: p.path, tokens: p.tokens, truncated: p.truncated }));
      return { text, tokens, truncated: parts.some((p) => p.truncated), context: report };
    }
    const last = parts.findLastIndex((p) => p.content !== '');
    const part = parts[last];
    if (part === undefined) throw new BuildError('E_BUILD', `Agent "${agent}": prompt does not fit maxTokens ${maxTokens}`, { agent });
    const cut = truncateToTokens(part.original, Math.max(0, part.tokens - (tokens - maxTokens)));
    parts[last] = { ...part, content: cut.text, tokens: cut.tokens, truncated: true };
  }
}

/** Gives `budget` tokens to files in order; the first that overflows is cut, the rest emptied. */
function allocate(files: readonly LoadedFile[], budget: number): Budgeted[] {
  let remaining = budget;
  return files.map(({ path, content }) => {
    const cut = truncateToTokens(content, remaining);
    // A cut file may end a token short of its share (a split character is
    // dropped whole); that token must not go to the next file.
    remaining = cut.truncated ? 0 : remaining - cut.tokens;
    return { path, original: content, content: cut.text, tokens: cut.tokens, truncated: cut.truncated };
  });
}
