import { describe, expect, it } from 'vitest';
import Mustache from 'mustache';
import { contextText, renderPrompt } from '../../src/prompt/render.ts';

const files = [
  { path: 'a.md', content: 'alpha' },
  { path: 'b/c.ts', content: 'const x = 1 < 2;' },
];

describe('renderPrompt', () => {
  it('does not HTML-escape values, and leaves the global escape alone', () => {
    const escapeBefore = Mustache.escape;
    expect(renderPrompt('{{v}} {{{v}}} {{n}}', { v: '<b>&', n: 3 }, 'a', [])).toBe('<b>& <b>& 3');
    expect(Mustache.escape).toBe(escapeBefore);
  });

  it('renders vars and the agent name', () => {
    expect(renderPrompt('{{agent}}: fix {{issue.id}}', { issue: { id: '#12' } }, 'fixer', [])).toBe('fixer: fix #12');
  });

  it('exposes context as a section and as contextText', () => {
    expect(renderPrompt('{{#context}}[{{path}}]{{/context}}', {}, 'a', files)).toBe('[a.md][b/c.ts]');
    expect(renderPrompt('Files:\n{{contextText}}', {}, 'a', files)).toBe(`Files:\n${contextText(files)}`);
    expect(contextText(files)).toBe('--- a.md ---\nalpha\n--- b/c.ts ---\nconst x = 1 < 2;\n');
  });

  it('appends the context when the template does not place it', () => {
    expect(renderPrompt('Review.', {}, 'a', files)).toBe(`Review.\n\n${contextText(files)}`);
    expect(renderPrompt('', {}, 'a', files)).toBe(contextText(files));
    expect(renderPrompt('Review.', {}, 'a', [])).toBe('Review.');
  });

  it('does not append when context is only tested for', () => {
    expect(renderPrompt('{{^context}}none{{/context}}ok', {}, 'a', files)).toBe('ok');
  });

  it('reports template syntax errors as E_TEMPLATE naming the agent', () => {
    expect(() => renderPrompt('{{#open}} never closed', {}, 'writer', [])).toThrow(
      expect.objectContaining({ code: 'E_TEMPLATE', agent: 'writer', message: expect.stringContaining('Agent "writer"') }),
    );
  });
});
