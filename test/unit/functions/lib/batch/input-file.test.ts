import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  decodeInput,
  inputFormatOf,
  readItems,
  UnparsableInput,
} from '../../../../../functions/lib/batch/input-file.ts';

const utf8 = (text: string) => new TextEncoder().encode(text);
const csv = (text: string) => readItems(utf8(text), 'csv');
const jsonl = (text: string) => readItems(utf8(text), 'jsonl');

/** The UnparsableInput `read` throws, for assertions on its message and line. */
function unparsable(read: () => unknown): UnparsableInput {
  try {
    read();
  } catch (err) {
    expect(err).toBeInstanceOf(UnparsableInput);
    return err as UnparsableInput;
  }
  throw new Error('expected UnparsableInput, but nothing was thrown');
}

describe('UnparsableInput', () => {
  it('is a 422 PlatformError named UnparsableInput carrying its line', () => {
    const err = new UnparsableInput('line 3: broken', 3);
    expect(err.name).toBe('UnparsableInput');
    expect(err.status).toBe(422);
    expect(err.line).toBe(3);
    expect(err.details).toEqual({ line: 3 });
  });
});

describe('inputFormatOf', () => {
  it.each([
    ['incoming/m/rows.csv', 'csv', false],
    ['incoming/m/rows.CSV.GZ', 'csv', true],
    ['incoming/m/rows.jsonl', 'jsonl', false],
    ['incoming/m/rows.ndjson.gz', 'jsonl', true],
    ['incoming/m/version=2/rows.json', 'jsonl', false],
    ['incoming/m/rows.2024.json.gz', 'jsonl', true],
  ])('reads %s as %s (gzip %s)', (key, format, gzip) => {
    expect(inputFormatOf(key)).toEqual({ format, gzip });
  });

  it.each([
    'incoming/m/rows.txt',
    'incoming/m/rows.gz',
    'incoming/m/csv',
    'incoming/m/.csv',
    'incoming/m/x.parquet',
  ])('fails for %s, naming the accepted extensions', (key) => {
    const err = unparsable(() => inputFormatOf(key));
    expect(err.message).toContain('.csv');
    expect(err.message).toContain('.ndjson');
    expect(err.message).toContain('.gz');
  });
});

describe('decodeInput', () => {
  it('gunzips bytes that start with the gzip magic, whatever the extension', () => {
    const text = 'a,b\n1,2\n';
    expect(new TextDecoder().decode(decodeInput(gzipSync(text)))).toBe(text);
  });

  it('returns plain bytes unchanged', () => {
    const bytes = utf8('a,b\n1,2\n');
    expect(decodeInput(bytes)).toBe(bytes);
  });

  it('fails for a truncated gzip stream', () => {
    const gz = gzipSync('a,b\n'.repeat(1000));
    const err = unparsable(() => decodeInput(gz.subarray(0, gz.length - 20)));
    expect(err.message).toMatch(/cannot be decompressed/);
  });

  it('fails for bytes that start like gzip but are not', () => {
    unparsable(() => decodeInput(Uint8Array.from([0x1f, 0x8b, 1, 2, 3, 4, 5])));
  });
});

describe('readItems (CSV)', () => {
  it('maps each row to an object of header names and string values', () => {
    expect(csv('id,distance,origin\n1,500,DTW\n2,,ORD\n')).toEqual([
      { id: '1', distance: '500', origin: 'DTW' },
      { id: '2', distance: '', origin: 'ORD' },
    ]);
  });

  it('reads quoted fields with commas, doubled quotes and line breaks', () => {
    expect(csv('a,b,c\n"x, y","say ""hi""","two\nlines"\n"",plain,""""\n')).toEqual([
      { a: 'x, y', b: 'say "hi"', c: 'two\nlines' },
      { a: '', b: 'plain', c: '"' },
    ]);
  });

  it('reads CRLF line ends, and keeps a CRLF inside quotes', () => {
    expect(csv('a,b\r\n1,"x\r\ny"\r\n2,z\r\n')).toEqual([
      { a: '1', b: 'x\r\ny' },
      { a: '2', b: 'z' },
    ]);
  });

  it('drops a UTF-8 BOM, so the first column keeps its name', () => {
    const bytes = Uint8Array.from([0xef, 0xbb, 0xbf, ...utf8('id,x\n1,2\n')]);
    expect(readItems(bytes, 'csv')).toEqual([{ id: '1', x: '2' }]);
  });

  it('reads a last row without a line break, and empty trailing fields', () => {
    expect(csv('a,b,c\n1,,\n,,3')).toEqual([
      { a: '1', b: '', c: '' },
      { a: '', b: '', c: '3' },
    ]);
  });

  it('skips empty lines', () => {
    expect(csv('a,b\n1,2\n\n\r\n3,4\n\n')).toEqual([
      { a: '1', b: '2' },
      { a: '3', b: '4' },
    ]);
  });

  it('keeps spaces and a quote inside an unquoted field as text', () => {
    expect(csv('a,b\n 5\'10" , x \n')).toEqual([{ a: ' 5\'10" ', b: ' x ' }]);
  });

  it('reads non-ASCII text', () => {
    expect(csv('name,city\nJosé,"Zürich, 東京"\n')).toEqual([{ name: 'José', city: 'Zürich, 東京' }]);
  });

  it('keeps a column called __proto__ as a field, not a prototype', () => {
    const [item] = csv('__proto__,a\nx,1\n');
    expect(Object.getPrototypeOf(item)).toBe(Object.prototype);
    expect(Object.keys(item ?? {})).toEqual(['__proto__', 'a']);
    expect(JSON.stringify(item)).toBe('{"__proto__":"x","a":"1"}');
  });

  it('fails on a row with more or fewer fields than the header, naming its line', () => {
    const more = unparsable(() => csv('a,b\n1,2\n3,4,5\n'));
    expect(more.message).toBe('line 3: the row has 3 fields but the header has 2');
    expect(more.line).toBe(3);
    const fewer = unparsable(() => csv('a,b\n"multi\nline",2\n3\n'));
    expect(fewer.message).toBe('line 4: the row has 1 fields but the header has 2');
  });

  it('fails on an unterminated quote, naming the line where it opens', () => {
    const err = unparsable(() => csv('a,b\n1,2\n3,"never closed\n4,5\n'));
    expect(err.message).toMatch(/^line 3: a quoted field is never closed/);
    expect(err.line).toBe(3);
  });

  it('fails on text after a closing quote', () => {
    expect(unparsable(() => csv('a,b\n"x"y,2\n')).message).toMatch(
      /^line 2: unexpected text after a closing quote/,
    );
  });

  it('fails on an empty header row', () => {
    expect(unparsable(() => csv('\n1,2\n')).message).toMatch(/^line 1: the header row is empty/);
  });

  it('fails on a header column without a name', () => {
    expect(unparsable(() => csv('a,,c\n1,2,3\n')).message).toBe('line 1: header column 2 has no name');
  });

  it('fails on a duplicated header name', () => {
    expect(unparsable(() => csv('a,b,a\n1,2,3\n')).message).toBe(
      'line 1: header name "a" appears twice (columns 1 and 3)',
    );
  });

  it('fails on a header without rows, and on an empty file', () => {
    expect(unparsable(() => csv('a,b\n')).message).toMatch(/no rows/);
    expect(unparsable(() => csv('')).message).toBe('the input is empty');
    expect(unparsable(() => csv(' \n\n')).message).toBe('the input is empty');
  });

  it('fails on binary data: NUL bytes, with their line', () => {
    const bytes = Uint8Array.from([...utf8('a,b\n1,2\n'), 0x50, 0x4b, 0x00, 0x03]);
    const err = unparsable(() => readItems(bytes, 'csv'));
    expect(err.message).toBe('the input is binary, not text: NUL byte at offset 10');
    expect(err.line).toBe(3);
  });

  it('fails on bytes that are not UTF-8, with their offset and line', () => {
    const bytes = Uint8Array.from([...utf8('a,b\n1,é\n'), 0xff, 0xfe, 0x41]);
    const err = unparsable(() => readItems(bytes, 'csv'));
    expect(err.message).toBe('the input is not UTF-8 text: invalid byte sequence at offset 9');
    expect(err.line).toBe(3);
  });

  it('reads 200,000 generated rows', () => {
    const lines = ['id,date,distance,origin,destination,note'];
    for (let i = 0; i < 200_000; i++) {
      const note = i % 10 === 0 ? '"late, ""again""\nmaybe"' : 'ok';
      lines.push(`${i},2001/01/01 10:30,${100 + (i % 900)},DTW,ORD,${note}`);
    }
    const items = csv(`${lines.join('\r\n')}\r\n`);
    expect(items).toHaveLength(200_000);
    expect(items[199_990]).toEqual({
      id: '199990',
      date: '2001/01/01 10:30',
      distance: String(100 + (199_990 % 900)),
      origin: 'DTW',
      destination: 'ORD',
      note: 'late, "again"\nmaybe',
    });
  });
});

describe('readItems (JSON Lines)', () => {
  it('reads one object per line, skipping blank lines and keeping JSON types', () => {
    expect(jsonl('{"id":1,"distance":500}\n\n  \r\n{"id":"b","distance":null}\r\n')).toEqual([
      { id: 1, distance: 500 },
      { id: 'b', distance: null },
    ]);
  });

  it('reads a file without a final line break, and with a BOM', () => {
    const bytes = Uint8Array.from([0xef, 0xbb, 0xbf, ...utf8('{"a":1}\n{"a":2}')]);
    expect(readItems(bytes, 'jsonl')).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it('fails on a line that is not valid JSON, naming the line', () => {
    const err = unparsable(() => jsonl('{"a":1}\n\n{"a":2,}\n'));
    expect(err.message).toMatch(/^line 3: not valid JSON: /);
    expect(err.line).toBe(3);
  });

  it('fails on a line that is not an object', () => {
    expect(unparsable(() => jsonl('{"a":1}\n[1,2]\n')).message).toBe(
      'line 2: expected a JSON object, got an array',
    );
    expect(unparsable(() => jsonl('42\n')).message).toBe('line 1: expected a JSON object, got a number');
    expect(unparsable(() => jsonl('null\n')).message).toBe('line 1: expected a JSON object, got null');
  });

  it('says JSON Lines is not a JSON array when given a pretty-printed array', () => {
    expect(unparsable(() => jsonl('[\n  {"a": 1}\n]\n')).message).toMatch(
      /^line 1: not valid JSON \(JSON Lines holds one object per line, not a JSON array\)/,
    );
  });

  it('fails on a file of blank lines', () => {
    expect(unparsable(() => jsonl('\n\n')).message).toBe('the input is empty');
  });
});

describe('gzip round trip', () => {
  it('reads the same items from a gzipped file as from the plain one', () => {
    const text = 'id,x\n1,"a\nb"\n2,c\n';
    expect(readItems(decodeInput(gzipSync(text)), 'csv')).toEqual(csv(text));
  });
});
