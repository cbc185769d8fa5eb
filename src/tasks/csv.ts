/**
 * A strict RFC 4180 CSV reader: comma separated, fields optionally in double
 * quotes (a quote inside is doubled), CRLF or LF line ends, a byte-order mark
 * ignored. Quoted fields may hold commas and line breaks. Every record keeps
 * the line it starts on, so an error can name it.
 */
import { ConfigError } from '../errors.ts';

export interface CsvRecord {
  fields: string[];
  /** 1-based line where the record starts. */
  line: number;
}

/**
 * Splits `text` into records. Blank lines (nothing between two line ends)
 * are skipped. Throws a ConfigError naming `file` and the line of a quote
 * left open or of text after a closing quote.
 *
 * @example
 * parseCsv('id,file\n1,"a, b.ts"\n', 'tasks.csv'); // [{ fields: ['id', 'file'], line: 1 }, { fields: ['1', 'a, b.ts'], line: 2 }]
 */
export function parseCsv(text: string, file: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let line = 1;
  let i = 0;
  while (i < s.length) {
    // A blank line: skip it.
    if (s[i] === '\n' || (s[i] === '\r' && s[i + 1] === '\n')) {
      i += s[i] === '\r' ? 2 : 1;
      line++;
      continue;
    }
    const start = line;
    const fields: string[] = [];
    for (;;) {
      let field = '';
      if (s[i] === '"') {
        const opened = line;
        i++;
        for (;;) {
          if (i >= s.length) throw new ConfigError(`${file}:${opened}: a quoted field is never closed (its quote opens on line ${opened})`, { file });
          const c = s[i]!;
          if (c === '"') {
            if (s[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        const next = s[i];
        if (next !== undefined && next !== ',' && next !== '\n' && !(next === '\r' && s[i + 1] === '\n')) {
          throw new ConfigError(`${file}:${line}: text after the closing quote of a field (a quote inside a field is written "")`, { file });
        }
      } else {
        while (i < s.length && s[i] !== ',' && s[i] !== '\n' && !(s[i] === '\r' && s[i + 1] === '\n')) {
          if (s[i] === '"')
            throw new ConfigError(`${file}:${line}: a quote inside an unquoted field (quote the whole field and double the quote: "a ""b""")`, { file });
          field += s[i];
          i++;
        }
      }
      fields.push(field);
      if (s[i] === ',') {
        i++;
        continue;
      }
      // End of the record: a line end or the end of the text.
      if (s[i] === '\r') i++;
      if (s[i] === '\n') {
        i++;
        line++;
      }
      break;
    }
    records.push({ fields, line: start });
  }
  return records;
}
