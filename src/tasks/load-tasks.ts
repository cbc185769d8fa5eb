/**
 * Task lists: the rows an agent runs over (one agent run per agent per row).
 * A row's fields become the mustache variables `{{task.<field>}}` of the
 * agent's prompt, args, env and cwd (see expand.ts).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { parseCsv } from './csv.ts';

/** One row of a task list. */
export interface Task {
  /**
   * What identifies the row: its `id` field, or, in a file without an `id`
   * column, its 1-based row number ("1", "2", ...; blank lines and the CSV
   * header are not rows), as GNU parallel numbers its inputs.
   */
  id: string;
  /** 1-based position among the file's rows. */
  row: number;
  /** 1-based line of the file where the row starts. */
  line: number;
  /** The row's fields, `id` included (set to the row number when the file has no `id` column). */
  vars: Readonly<Record<string, unknown>>;
  /** The file the row came from, for messages. */
  file: string;
}

/** `jsonl`: one JSON object per line. `csv`: RFC 4180 with a header line. */
export type TaskFormat = 'jsonl' | 'csv';

/** Options of {@link loadTasks}. */
export interface LoadTasksOptions {
  /**
   * The file's format.
   * @default from the extension: `.csv`, or `.jsonl` / `.ndjson` / `.json` for JSON lines
   */
  format?: TaskFormat;
}

/**
 * Reads a task list: JSON lines (`.jsonl`: one object per line, blank lines
 * skipped) or CSV (`.csv`: a header line naming the fields, then one row per
 * line). Either every row has an `id` or none has (rows are then numbered);
 * ids are unique.
 *
 * @throws ConfigError naming the file and line of the first bad row.
 * @example
 * const tasks = await loadTasks('tasks.jsonl'); // [{ id: 'bug-17', row: 1, line: 1, vars: { id: 'bug-17', repo: 'a/b' }, file: 'tasks.jsonl' }]
 */
export async function loadTasks(file: string, options: LoadTasksOptions = {}): Promise<Task[]> {
  const format = options.format ?? formatOf(file);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ConfigError(`${file}: cannot read the tasks file: ${reason}`, { file, cause: error });
  }
  return parseTasks(text, { file, format });
}

/**
 * Parses the text of a task list; `file` is only named in messages. Same rules as {@link loadTasks}.
 *
 * @throws ConfigError naming the file and line of the first bad row.
 * @example
 * const tasks = parseTasks('id,repo\nbug-17,a/b\n', { file: 'inline.csv', format: 'csv' });
 * // tasks[0].vars: { id: 'bug-17', repo: 'a/b' }
 */
export function parseTasks(text: string, options: { file: string; format: TaskFormat }): Task[] {
  const { file } = options;
  const rows = options.format === 'csv' ? csvRows(text, file) : jsonlRows(text, file);
  if (rows.length === 0) throw new ConfigError(`${file}: no tasks in the file`, { file });
  return withIds(rows, file);
}

/** The format a file name implies, or a ConfigError asking for one. */
export function formatOf(file: string): TaskFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  throw new ConfigError(`${file}: cannot tell the tasks file's format from its name: use .jsonl (JSON lines) or .csv (with a header line)`, { file });
}

interface Row {
  line: number;
  fields: Record<string, unknown>;
}

function jsonlRows(text: string, file: string): Row[] {
  const rows: Row[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, '');
    const source = i === 0 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
    if (source.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(source);
    } catch (error) {
      throw new ConfigError(`${file}:${i + 1}: not valid JSON: ${(error as Error).message}`, { file, cause: error });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ConfigError(
        `${file}:${i + 1}: expected a JSON object (one task per line), got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
        { file },
      );
    }
    rows.push({ line: i + 1, fields: value as Record<string, unknown> });
  }
  return rows;
}

function csvRows(text: string, file: string): Row[] {
  const [header, ...records] = parseCsv(text, file);
  if (header === undefined) return [];
  const names = header.fields;
  const seen = new Map<string, number>();
  names.forEach((name, column) => {
    if (name.trim() === '') throw new ConfigError(`${file}:${header.line}: column ${column + 1} of the header has no name`, { file });
    if (seen.has(name))
      throw new ConfigError(`${file}:${header.line}: the header names column "${name}" twice (columns ${seen.get(name)! + 1} and ${column + 1})`, { file });
    seen.set(name, column);
  });
  return records.map((record) => {
    if (record.fields.length !== names.length) {
      throw new ConfigError(
        `${file}:${record.line}: expected ${names.length} field${names.length === 1 ? '' : 's'} (as in the header), got ${record.fields.length}`,
        { file },
      );
    }
    return { line: record.line, fields: Object.fromEntries(names.map((name, column) => [name, record.fields[column]!])) };
  });
}

function withIds(rows: Row[], file: string): Task[] {
  const first = rows[0]!;
  const hasIds = Object.hasOwn(first.fields, 'id');
  const lineOf = new Map<string, number>();
  return rows.map((row, index) => {
    const own = Object.hasOwn(row.fields, 'id');
    if (own !== hasIds) {
      throw new ConfigError(
        hasIds
          ? `${file}:${row.line}: this task has no "id" field, but the first one (line ${first.line}) has: give every task an id, or none (tasks are then numbered 1, 2, ...)`
          : `${file}:${row.line}: this task has an "id" field, but the first one (line ${first.line}) has none: give every task an id, or none (tasks are then numbered 1, 2, ...)`,
        { file },
      );
    }
    const id = hasIds ? idOf(row.fields.id, row.line, file) : String(index + 1);
    const also = lineOf.get(id);
    if (also !== undefined) throw new ConfigError(`${file}:${row.line}: duplicate task id "${id}" (also on line ${also})`, { file });
    lineOf.set(id, row.line);
    return { id, row: index + 1, line: row.line, vars: hasIds ? row.fields : { ...row.fields, id }, file };
  });
}

function idOf(value: unknown, line: number, file: string): string {
  if (typeof value === 'string' && value.trim() !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  const got = typeof value === 'string' ? 'an empty string' : value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  throw new ConfigError(`${file}:${line}: field "id": expected a non-empty string or a number, got ${got}`, { file });
}
