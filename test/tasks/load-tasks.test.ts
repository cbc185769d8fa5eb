/** Task lists: JSON lines and CSV, ids or row numbers, and every malformed line named by file and line. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { parseCsv } from '../../src/tasks/csv.ts';
import { formatOf, loadTasks, parseTasks } from '../../src/tasks/load-tasks.ts';
import { withTempDir } from '../support/fixtures.ts';

const jsonl = (text: string) => parseTasks(text, { file: 'tasks.jsonl', format: 'jsonl' });
const csv = (text: string) => parseTasks(text, { file: 'tasks.csv', format: 'csv' });

describe('JSON lines', () => {
  it('reads one object per line, skipping blank lines, and keeps each row line', () => {
    const tasks = jsonl('{"id":"a","n":1}\n\n{"id":"b","n":2,"tags":["x"]}\r\n');
    expect(tasks).toEqual([
      { id: 'a', row: 1, line: 1, vars: { id: 'a', n: 1 }, file: 'tasks.jsonl' },
      { id: 'b', row: 2, line: 3, vars: { id: 'b', n: 2, tags: ['x'] }, file: 'tasks.jsonl' },
    ]);
  });

  it('numbers the rows 1, 2, ... when no row has an id, and sets task.id to that number', () => {
    const tasks = jsonl('{"file":"a.ts"}\n{"file":"b.ts"}\n');
    expect(tasks.map((t) => [t.id, t.vars])).toEqual([
      ['1', { file: 'a.ts', id: '1' }],
      ['2', { file: 'b.ts', id: '2' }],
    ]);
  });

  it('takes numeric ids as strings', () => {
    expect(jsonl('{"id":7}\n{"id":8.5}\n').map((t) => t.id)).toEqual(['7', '8.5']);
  });

  it.each([
    ['{"id":"a"}\n{"id":"b"\n', /^tasks\.jsonl:2: not valid JSON: /],
    ['{"id":"a"}\n[1,2]\n', /^tasks\.jsonl:2: expected a JSON object \(one task per line\), got an array$/],
    ['"just a string"\n', /^tasks\.jsonl:1: expected a JSON object \(one task per line\), got string$/],
    ['{"id":"a"}\n\n{"file":"b"}\n', /^tasks\.jsonl:3: this task has no "id" field, but the first one \(line 1\) has/],
    ['{"file":"a"}\n{"id":"b"}\n', /^tasks\.jsonl:2: this task has an "id" field, but the first one \(line 1\) has none/],
    ['{"id":"a"}\n{"id":"b"}\n{"id":"a"}\n', /^tasks\.jsonl:3: duplicate task id "a" \(also on line 1\)$/],
    ['{"id":""}\n', /^tasks\.jsonl:1: field "id": expected a non-empty string or a number, got an empty string$/],
    ['{"id":null}\n', /^tasks\.jsonl:1: field "id": expected a non-empty string or a number, got null$/],
    ['\n  \n', /^tasks\.jsonl: no tasks in the file$/],
  ])('refuses %j, naming the file and line', (text, message) => {
    expect(() => jsonl(text)).toThrow(ConfigError);
    expect(() => jsonl(text)).toThrow(message);
  });
});

describe('CSV', () => {
  it('reads a header and rows: quoted commas, doubled quotes, line breaks inside quotes, CRLF, a BOM', () => {
    const tasks = csv('\ufeffid,file,note\r\nt1,"a, b.ts","say ""hi"""\r\nt2,c.ts,"two\nlines"\r\n\r\nt3,,\r\n');
    expect(tasks).toEqual([
      { id: 't1', row: 1, line: 2, vars: { id: 't1', file: 'a, b.ts', note: 'say "hi"' }, file: 'tasks.csv' },
      { id: 't2', row: 2, line: 3, vars: { id: 't2', file: 'c.ts', note: 'two\nlines' }, file: 'tasks.csv' },
      { id: 't3', row: 3, line: 6, vars: { id: 't3', file: '', note: '' }, file: 'tasks.csv' },
    ]);
  });

  it('numbers the rows when there is no id column', () => {
    expect(csv('file\na.ts\nb.ts').map((t) => [t.id, t.vars.file, t.vars.id])).toEqual([
      ['1', 'a.ts', '1'],
      ['2', 'b.ts', '2'],
    ]);
  });

  it.each([
    ['id,file\nt1,a.ts\nt2\n', /^tasks\.csv:3: expected 2 fields \(as in the header\), got 1$/],
    ['id,file\nt1,a.ts,extra\n', /^tasks\.csv:2: expected 2 fields \(as in the header\), got 3$/],
    ['id,file\nt1,"a.ts\nt2,b.ts\n', /^tasks\.csv:2: a quoted field is never closed/],
    ['id,file\nt1,"a.ts"x\n', /^tasks\.csv:2: text after the closing quote of a field/],
    ['id,file\nt1,a"b\n', /^tasks\.csv:2: a quote inside an unquoted field/],
    ['id,id\n1,2\n', /^tasks\.csv:1: the header names column "id" twice \(columns 1 and 2\)$/],
    ['id,,x\n1,2,3\n', /^tasks\.csv:1: column 2 of the header has no name$/],
    ['id,file\nt1,a\nt1,b\n', /^tasks\.csv:3: duplicate task id "t1" \(also on line 2\)$/],
    ['id,file\n,a\n', /^tasks\.csv:2: field "id": expected a non-empty string or a number, got an empty string$/],
    ['id,file\n', /^tasks\.csv: no tasks in the file$/],
  ])('refuses %j, naming the file and line', (text, message) => {
    expect(() => csv(text)).toThrow(message);
  });

  it('counts lines through quoted line breaks', () => {
    expect(parseCsv('a\n"x\ny"\nz\n', 'f.csv').map((r) => r.line)).toEqual([1, 2, 4]);
    expect(() => csv('id,n\n1,"x\ny"\n2,a,b\n')).toThrow(/^tasks\.csv:4: /);
  });
});

describe('loadTasks', () => {
  it('reads a file, taking the format from its extension', async () => {
    await withTempDir(async (dir) => {
      const a = path.join(dir, 'tasks.csv');
      const b = path.join(dir, 'tasks.jsonl');
      await writeFile(a, 'id,x\nr1,1\n');
      await writeFile(b, '{"id":"r1","x":1}\n');
      expect((await loadTasks(a))[0]!.vars).toEqual({ id: 'r1', x: '1' });
      expect((await loadTasks(b))[0]!.vars).toEqual({ id: 'r1', x: 1 });
      await expect(loadTasks(a, { format: 'jsonl' })).rejects.toThrow(/tasks\.csv:1: not valid JSON/);
    });
  });

  it('names a missing file, and a file whose format its name does not tell', async () => {
    await expect(loadTasks('/nonexistent/tasks.jsonl')).rejects.toThrow('/nonexistent/tasks.jsonl: cannot read the tasks file: no such file');
    expect(() => formatOf('tasks.txt')).toThrow(
      "tasks.txt: cannot tell the tasks file's format from its name: use .jsonl (JSON lines) or .csv (with a header line)",
    );
    expect(formatOf('t.NDJSON')).toBe('jsonl');
  });
});
