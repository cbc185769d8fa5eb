/**
 * The docs reach the published declarations: every class and function the
 * package entries export has its TSDoc block in dist/ (a class doc left in
 * a file header does not: it is not attached to the class), and nothing
 * marked `@internal` is published (stripInternal removes it). Reads the
 * dist/ that `npm test` builds before vitest; builds nothing itself.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = path.join(ROOT, 'dist');
const ENTRIES = ['dist/src/index.d.ts', 'dist/src/fleet/index.d.ts'];

/** A value export of an entry: where the entry says it comes from, and the name it has there. */
interface Export {
  entry: string;
  name: string;
  file: string;
  local: string;
}

function source(file: string): ts.SourceFile {
  if (!existsSync(file)) {
    throw new Error(`${path.relative(ROOT, file)} is missing: build dist/ first (npm run build; npm test does it before vitest)`);
  }
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
}

/** `./batch/batch.ts` in a declaration file names `./batch/batch.d.ts` (rewriteRelativeImportExtensions). */
function declarationFile(from: string, specifier: string): string {
  return path.resolve(path.dirname(from), specifier.replace(/\.ts$/, '.d.ts'));
}

/** The entry's `export { ... } from` names that are values (classes, functions, constants), not `type` exports. */
function valueExports(entry: string): Export[] {
  const file = path.join(ROOT, entry);
  const exports: Export[] = [];
  for (const statement of source(file).statements) {
    if (!ts.isExportDeclaration(statement) || statement.isTypeOnly || statement.moduleSpecifier === undefined) continue;
    if (!ts.isStringLiteral(statement.moduleSpecifier) || statement.exportClause === undefined || !ts.isNamedExports(statement.exportClause)) continue;
    const target = declarationFile(file, statement.moduleSpecifier.text);
    for (const element of statement.exportClause.elements) {
      if (element.isTypeOnly) continue;
      exports.push({ entry, name: element.name.text, file: target, local: (element.propertyName ?? element.name).text });
    }
  }
  return exports;
}

type Found = { kind: 'class' | 'function' | 'const'; node: ts.Statement; sourceFile: ts.SourceFile } | undefined;

/** Where `name` is declared in `file`, following `export { name } from` re-exports. */
function declaration(file: string, name: string, seen = new Set<string>()): Found {
  if (seen.has(`${file}#${name}`)) return undefined;
  seen.add(`${file}#${name}`);
  const sourceFile = source(file);
  for (const statement of sourceFile.statements) {
    if (ts.isClassDeclaration(statement) && statement.name?.text === name) return { kind: 'class', node: statement, sourceFile };
    // The first overload carries the doc, as TypeScript shows it.
    if (ts.isFunctionDeclaration(statement) && statement.name?.text === name) return { kind: 'function', node: statement, sourceFile };
    if (ts.isVariableStatement(statement) && statement.declarationList.declarations.some((d) => ts.isIdentifier(d.name) && d.name.text === name)) {
      return { kind: 'const', node: statement, sourceFile };
    }
    if (ts.isExportDeclaration(statement) && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier) && statement.exportClause) {
      if (!ts.isNamedExports(statement.exportClause)) continue;
      const element = statement.exportClause.elements.find((e) => e.name.text === name);
      if (element) return declaration(declarationFile(file, statement.moduleSpecifier.text), (element.propertyName ?? element.name).text, seen);
    }
  }
  return undefined;
}

/** The text of the `/** ... *\/` block right before the declaration (only whitespace between), or undefined. */
function docBlock(node: ts.Node, sourceFile: ts.SourceFile): string | undefined {
  const text = sourceFile.text;
  const comments = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
  const last = comments.at(-1);
  if (last === undefined || last.kind !== ts.SyntaxKind.MultiLineCommentTrivia) return undefined;
  const comment = text.slice(last.pos, last.end);
  if (!comment.startsWith('/**') || text.slice(last.end, node.getStart(sourceFile)).trim() !== '') return undefined;
  return comment;
}

function declarationFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.d.ts'))
    .map((f) => path.join(dir, f));
}

describe('published declarations (dist/**/*.d.ts)', () => {
  it('are built: npm test builds dist/ before vitest', () => {
    for (const entry of ENTRIES) expect(existsSync(path.join(ROOT, entry)), `${entry} is missing: run npm run build`).toBe(true);
  });

  it.each(ENTRIES)('%s: every exported class and function has its doc block on its declaration', (entry) => {
    const exports = valueExports(entry);
    // The entries export classes and functions: an empty list means the parsing above went wrong, not that all is documented.
    expect(exports.length).toBeGreaterThan(5);
    const problems: string[] = [];
    let checked = 0;
    for (const e of exports) {
      const found = declaration(e.file, e.local);
      const where = `${e.name} (${path.relative(ROOT, e.file)})`;
      if (found === undefined) {
        problems.push(`${where}: no declaration in dist (stripped as @internal, or not a class, function or constant?)`);
        continue;
      }
      if (found.kind === 'const') continue;
      checked++;
      const doc = docBlock(found.node, found.sourceFile);
      if (doc === undefined) problems.push(`${where}: ${found.kind} without a /** doc block right before its declaration`);
      else if (doc.replace(/^\/\*\*|\*\/$|^\s*\*/gm, '').trim() === '') problems.push(`${where}: empty doc block`);
    }
    expect(checked).toBeGreaterThan(0);
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('publish nothing marked @internal (stripInternal)', () => {
    const files = [
      ...declarationFiles(path.join(DIST, 'src')),
      ...(existsSync(path.join(DIST, 'workers')) ? declarationFiles(path.join(DIST, 'workers')) : []),
    ];
    expect(files.length).toBeGreaterThan(10);
    const leaks = files.filter((f) => readFileSync(f, 'utf8').includes('@internal')).map((f) => path.relative(ROOT, f));
    expect(leaks, `@internal left in: ${leaks.join(', ')}`).toEqual([]);
  });
});
