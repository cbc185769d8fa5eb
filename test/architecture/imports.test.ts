/**
 * The shape of the tree, checked: no import cycles in src/ and workers/
 * (type-only imports included: a cycle of types still ties two concerns
 * together), and metrics/ depends on nothing in export/ (exporters subscribe
 * to the metrics, never the reverse).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function sources(): string[] {
  return ['src', 'workers'].flatMap((dir) =>
    readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => path.join(dir, f)),
  );
}

/** Relative imports and re-exports of a file, static and dynamic, as paths from the root. */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specifiers.map((s) => path.normalize(path.join(path.dirname(file), s)));
}

function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('the import graph', () => {
  const graph = new Map(sources().map((f) => [f, importsOf(f)]));

  it('has the files it should (the parser reads the imports)', () => {
    expect(graph.get(path.normalize('src/spawner.ts'))).toContain(path.normalize('src/metrics/spawner-metrics.ts'));
  });

  it('has no cycle', () => {
    expect(findCycle(graph)).toBeUndefined();
  });

  it('finds a cycle when there is one (the checker itself)', () => {
    expect(
      findCycle(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
        ]),
      ),
    ).toEqual(['a', 'b', 'c', 'a']);
  });

  it('keeps metrics/ free of export/', () => {
    const offending = [...graph].filter(
      ([f, deps]) => f.startsWith(path.normalize('src/metrics/')) && deps.some((d) => d.startsWith(path.normalize('src/export/'))),
    );
    expect(offending).toEqual([]);
  });
});
