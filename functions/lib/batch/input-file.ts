// Reads a batch input file (CSV or JSON Lines, optionally gzipped) into items the way a Distributed
// Map's ItemReader does, so the one-Lambda path, the local runtime and AWS see the same rows.
import { gunzipSync } from 'node:zlib';
import { PlatformError } from '../errors.ts';

/**
 * The input file cannot be read as rows at all: unknown extension, corrupt gzip, binary data, or a
 * structural CSV/JSONL problem (422). Bad *values* in well-formed rows are rejected rows, not this.
 */
export class UnparsableInput extends PlatformError {
  override readonly name = 'UnparsableInput';
  readonly status = 422;
  constructor(
    message: string,
    /** 1-based line of the file where the problem is, when there is one. */
    readonly line?: number,
  ) {
    super(message, line === undefined ? undefined : { line });
  }
}

/** How a batch input file encodes its rows. */
export type InputFormat = 'csv' | 'jsonl';

/** One row as ItemReader hands it over: CSV values are all strings, JSONL values any JSON. */
export type InputItem = Record<string, unknown>;

/** Extensions by format; `.json` means JSON Lines, the only JSON ItemReader streams row by row. */
const EXTENSIONS: Readonly<Record<string, InputFormat>> = {
  '.csv': 'csv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'jsonl',
};

/**
 * The format of an input from its key's extension (case-insensitive), each optionally followed
 * by `.gz`. Throws UnparsableInput naming the accepted extensions for anything else.
 */
export function inputFormatOf(key: string): { format: InputFormat; gzip: boolean } {
  const name = (key.split('/').pop() ?? '').toLowerCase();
  const gzip = name.endsWith('.gz');
  const base = gzip ? name.slice(0, -'.gz'.length) : name;
  const dot = base.lastIndexOf('.');
  const format = dot > 0 ? EXTENSIONS[base.slice(dot)] : undefined;
  if (!format) {
    throw new UnparsableInput(
      `cannot tell the format of "${key}": name it *${Object.keys(EXTENSIONS).join(', *')} (JSON Lines), optionally followed by .gz`,
    );
  }
  return { format, gzip };
}

/**
 * The file's bytes, gunzipped when they start with the gzip magic (1f 8b) whatever the
 * extension says: a `.csv` uploaded with `Content-Encoding: gzip` is still gzip.
 */
export function decodeInput(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return gunzipSync(bytes);
  } catch (err) {
    throw new UnparsableInput(
      `the input starts like gzip but cannot be decompressed: ${(err as Error).message}`,
    );
  }
}

/**
 * The file's rows as ItemReader gives them to a Distributed Map (`bytes` already decoded).
 *
 * CSV (RFC 4180): the first row is the header; each later row becomes an object mapping header
 * names to string values. Quoted fields may hold commas, doubled quotes and line breaks; lines end
 * in LF or CRLF; a UTF-8 BOM is dropped; empty lines are skipped; a quote inside an unquoted field
 * is kept as text. JSONL: one JSON object per non-blank line.
 *
 * Structural problems make the whole file unparsable (UnparsableInput with the line): binary data
 * (NUL bytes, invalid UTF-8), an unterminated quote, text after a closing quote, a row whose field
 * count differs from the header's, an empty or duplicated header name, a line that is not a JSON
 * object, or no rows at all.
 */
export function readItems(bytes: Uint8Array, format: InputFormat): InputItem[] {
  const text = decodeText(bytes);
  if (text.trim() === '') throw new UnparsableInput('the input is empty');
  const items = format === 'csv' ? readCsv(text) : readJsonLines(text);
  if (items.length === 0) {
    throw new UnparsableInput('the input has no rows (a CSV needs rows after its header line)');
  }
  return items;
}

/**
 * UTF-8 text; TextDecoder drops a leading BOM (its default `ignoreBOM: false`). NUL bytes or
 * invalid UTF-8 mean the file is not text.
 */
function decodeText(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    throw new UnparsableInput(
      `the input is binary, not text: NUL byte at offset ${nul}`,
      lineAtOffset(bytes, nul),
    );
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    throw new UnparsableInput(
      `the input is not UTF-8 text: invalid byte sequence at offset ${offset}`,
      lineAtOffset(bytes, offset),
    );
  }
}

/** Offset of the first byte that makes `bytes` invalid UTF-8 (error path only: a binary search). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  const validPrefix = (end: number) => {
    try {
      // `stream` lets a prefix end inside a multi-byte character without counting as invalid.
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, end), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  let lo = 0; // longest prefix known valid
  let hi = bytes.length; // shortest prefix known invalid
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (validPrefix(mid)) lo = mid;
    else hi = mid;
  }
  return hi - 1;
}

function lineAtOffset(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = bytes.indexOf(10); i >= 0 && i < offset; i = bytes.indexOf(10, i + 1)) line++;
  return line;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

/**
 * A hand-rolled CSV scanner over one string: fields are sliced out whole (never built a character
 * at a time), which reads a million six-column rows (50 MB) in about a second.
 */
function readCsv(text: string): InputItem[] {
  const n = text.length;
  let pos = 0;
  let line = 1;
  const fields: string[] = [];

  /** Reads one record starting at `pos` into `fields`; leaves `pos` after its line break. */
  const readRecord = (): void => {
    fields.length = 0;
    for (;;) {
      let end: number;
      if (text.charCodeAt(pos) === QUOTE) {
        const opened = line;
        let value = '';
        let from = pos + 1;
        for (;;) {
          const close = text.indexOf('"', from);
          if (close < 0) throw new UnparsableInput(`line ${opened}: a quoted field is never closed`, opened);
          line += countLineFeeds(text, from, close);
          if (text.charCodeAt(close + 1) === QUOTE) {
            value += text.slice(from, close + 1); // a doubled quote stands for one
            from = close + 2;
          } else {
            value += text.slice(from, close);
            end = close + 1;
            break;
          }
        }
        const next = text.charCodeAt(end);
        if (end < n && next !== COMMA && next !== LF && next !== CR) {
          throw new UnparsableInput(
            `line ${line}: unexpected text after a closing quote (a quote inside a quoted field is written "")`,
            line,
          );
        }
        fields.push(value);
      } else {
        end = pos;
        for (; end < n; end++) {
          const c = text.charCodeAt(end);
          if (c === COMMA || c === LF || c === CR) break;
        }
        fields.push(text.slice(pos, end));
      }
      if (end >= n) {
        pos = n;
        return;
      }
      const c = text.charCodeAt(end);
      if (c === COMMA) {
        pos = end + 1;
        continue;
      }
      pos = c === CR && text.charCodeAt(end + 1) === LF ? end + 2 : end + 1;
      line++;
      return;
    }
  };

  readRecord();
  const header = checkHeader(fields.slice());
  const width = header.length;
  // Items are copies of one template: they share a shape (fast to build), and a column called
  // __proto__ is an own field to assign rather than the prototype setter.
  const template: Record<string, string> = {};
  for (const name of header) {
    Object.defineProperty(template, name, {
      value: '',
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  const items: InputItem[] = [];
  while (pos < n) {
    const c = text.charCodeAt(pos);
    if (c === LF || c === CR) {
      pos += c === CR && text.charCodeAt(pos + 1) === LF ? 2 : 1;
      line++;
      continue;
    }
    const startLine = line;
    readRecord();
    if (fields.length !== width) {
      throw new UnparsableInput(
        `line ${startLine}: the row has ${fields.length} fields but the header has ${width}`,
        startLine,
      );
    }
    const item = { ...template };
    for (let j = 0; j < width; j++) item[header[j] as string] = fields[j] as string;
    items.push(item);
  }
  return items;
}

function countLineFeeds(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = text.indexOf('\n', from); i >= 0 && i < to; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

function checkHeader(names: string[]): string[] {
  if (names.every((name) => name.trim() === '')) {
    throw new UnparsableInput('line 1: the header row is empty (the first line must name the columns)', 1);
  }
  const seen = new Map<string, number>();
  names.forEach((name, i) => {
    if (name.trim() === '') throw new UnparsableInput(`line 1: header column ${i + 1} has no name`, 1);
    const first = seen.get(name);
    if (first !== undefined) {
      throw new UnparsableInput(
        `line 1: header name "${name}" appears twice (columns ${first + 1} and ${i + 1})`,
        1,
      );
    }
    seen.set(name, i);
  });
  return names;
}

function readJsonLines(text: string): InputItem[] {
  const items: InputItem[] = [];
  const n = text.length;
  let pos = 0;
  for (let line = 1; pos < n; line++) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = n;
    const content = text.slice(pos, end).trim();
    pos = end + 1;
    if (content === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(content);
    } catch (err) {
      const hint = content.startsWith('[') ? ' (JSON Lines holds one object per line, not a JSON array)' : '';
      throw new UnparsableInput(`line ${line}: not valid JSON${hint}: ${(err as Error).message}`, line);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
      throw new UnparsableInput(`line ${line}: expected a JSON object, got ${kind}`, line);
    }
    items.push(value as InputItem);
  }
  return items;
}
