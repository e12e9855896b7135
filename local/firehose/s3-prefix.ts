// Firehose's S3 key naming: custom prefixes with `!{namespace:value}` expressions
// (`timestamp`, `firehose`, `partitionKeyFromQuery`) and the object name Firehose appends,
// `<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>[.gz]`.
import { randomBytes, randomUUID } from 'node:crypto';

/** A prefix that Firehose would refuse, or that uses what is not run locally. */
export class PrefixUnsupported extends Error {
  override readonly name = 'PrefixUnsupported';
}

/** Firehose's default time prefix, used when a prefix has no expression at all. */
export const DEFAULT_TIME_PREFIX = '!{timestamp:yyyy/MM/dd/HH}/';

type Part =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'timestamp'; readonly format: TimestampFormat }
  | { readonly kind: 'random' }
  | { readonly kind: 'errorOutputType' }
  | { readonly kind: 'partitionKey'; readonly key: string };

/** What a prefix needs to render one object's key. */
export interface PrefixValues {
  /** The approximate arrival time of the object's oldest record. */
  readonly arrival: Date;
  readonly partitionKeys?: Readonly<Record<string, string>>;
  readonly errorOutputType?: string;
}

export interface CompiledPrefix {
  readonly source: string;
  /** The `partitionKeyFromQuery` keys it uses, in order. */
  readonly partitionKeys: readonly string[];
  readonly usesTimestamp: boolean;
  readonly usesErrorOutputType: boolean;
  render(values: PrefixValues): string;
}

/**
 * Compile a Prefix or ErrorOutputPrefix. `timeZone` is the stream's CustomTimeZone (IANA).
 * Throws PrefixUnsupported for unknown namespaces, `partitionKeyFromLambda` (no Lambda
 * processors locally) and timestamp patterns outside the supported letters.
 */
export function compilePrefix(source: string, timeZone = 'UTC'): CompiledPrefix {
  const parts: Part[] = [];
  const expression = /!\{([^:}]+):([^}]*)\}/g;
  let last = 0;
  for (const m of source.matchAll(expression)) {
    if (m.index > last) parts.push({ kind: 'text', text: source.slice(last, m.index) });
    last = m.index + m[0].length;
    const [, namespace = '', value = ''] = m;
    if (namespace === 'timestamp')
      parts.push({ kind: 'timestamp', format: compileTimestamp(value, timeZone) });
    else if (namespace === 'partitionKeyFromQuery') {
      if (!/^[A-Za-z0-9_-]+$/.test(value)) throw new PrefixUnsupported(`bad partition key name '${value}'`);
      parts.push({ kind: 'partitionKey', key: value });
    } else if (namespace === 'firehose' && value === 'random-string') parts.push({ kind: 'random' });
    else if (namespace === 'firehose' && value === 'error-output-type')
      parts.push({ kind: 'errorOutputType' });
    else if (namespace === 'partitionKeyFromLambda')
      throw new PrefixUnsupported(
        'partitionKeyFromLambda needs a Lambda processor, which is not run locally',
      );
    else throw new PrefixUnsupported(`unknown expression ${m[0]}`);
  }
  if (last < source.length) parts.push({ kind: 'text', text: source.slice(last) });
  if (parts.some((p) => p.kind === 'text' && p.text.includes('!{')))
    throw new PrefixUnsupported(`malformed expression in ${source}`);
  const partitionKeys = parts.flatMap((p) => (p.kind === 'partitionKey' ? [p.key] : []));
  return {
    source,
    partitionKeys,
    usesTimestamp: parts.some((p) => p.kind === 'timestamp'),
    usesErrorOutputType: parts.some((p) => p.kind === 'errorOutputType'),
    render(values) {
      let key = '';
      for (const p of parts) key += renderPart(p, values);
      return key;
    },
  };
}

function renderPart(p: Part, values: PrefixValues): string {
  switch (p.kind) {
    case 'text':
      return p.text;
    case 'timestamp':
      return p.format(values.arrival);
    case 'random':
      return randomString();
    case 'errorOutputType':
      return values.errorOutputType ?? '';
    case 'partitionKey': {
      const value = values.partitionKeys?.[p.key];
      if (value === undefined) throw new Error(`partition key ${p.key} has no value`);
      return value;
    }
  }
}

/** `!{firehose:random-string}`: 11 characters of [0-9a-zA-Z]. */
function randomString(): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  return [...randomBytes(11)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** Formats a date with a Java DateTimeFormatter pattern. */
export type TimestampFormat = (date: Date) => string;

interface DateFields {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly millisecond: number;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Letters of Java's DateTimeFormatter run locally; others make the stream not emulated. */
const LETTERS: Readonly<Record<string, (f: DateFields, count: number) => string>> = {
  y: (f, n) => (n === 2 ? pad(f.year % 100, 2) : pad(f.year, n)),
  u: (f, n) => (n === 2 ? pad(f.year % 100, 2) : pad(f.year, n)),
  M: (f, n) => pad(f.month, n),
  d: (f, n) => pad(f.day, n),
  H: (f, n) => pad(f.hour, n),
  m: (f, n) => pad(f.minute, n),
  s: (f, n) => pad(f.second, n),
  S: (f, n) => pad(f.millisecond, 3).slice(0, n).padEnd(n, '0'),
};

/** Compile a DateTimeFormatter pattern such as `yyyy-MM-dd` or `'year='yyyy`, in `timeZone`. */
export function compileTimestamp(pattern: string, timeZone = 'UTC'): TimestampFormat {
  const fields = dateFieldsIn(timeZone);
  const pieces: Array<string | ((f: DateFields) => string)> = [];
  for (let i = 0; i < pattern.length; ) {
    const c = pattern[i] as string;
    if (c === "'") {
      const end = pattern.indexOf("'", i + 1);
      if (end < 0) throw new PrefixUnsupported(`unterminated quote in timestamp pattern ${pattern}`);
      pieces.push(end === i + 1 ? "'" : pattern.slice(i + 1, end));
      i = end + 1;
    } else if (/[A-Za-z]/.test(c)) {
      let j = i;
      while (pattern[j] === c) j++;
      const letter = LETTERS[c];
      const count = j - i;
      if (!letter || (c === 'M' && count > 2))
        throw new PrefixUnsupported(`timestamp pattern letter '${c.repeat(count)}' is not supported locally`);
      pieces.push((f) => letter(f, count));
      i = j;
    } else {
      pieces.push(c);
      i++;
    }
  }
  return (date) => {
    const f = fields(date);
    return pieces.map((p) => (typeof p === 'string' ? p : p(f))).join('');
  };
}

function dateFieldsIn(timeZone: string): (date: Date) => DateFields {
  if (timeZone === 'UTC')
    return (d) => ({
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
      millisecond: d.getUTCMilliseconds(),
    });
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    throw new PrefixUnsupported(`unknown time zone ${timeZone}`);
  }
  return (d) => {
    const parts = Object.fromEntries(format.formatToParts(d).map((p) => [p.type, p.value]));
    return {
      year: Number(parts.year),
      month: Number(parts.month),
      day: Number(parts.day),
      hour: Number(parts.hour),
      minute: Number(parts.minute),
      second: Number(parts.second),
      millisecond: d.getUTCMilliseconds(),
    };
  };
}

/**
 * The name Firehose gives an object after its prefix, as a function of the object's time:
 * `<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><extension>`.
 */
export function objectNamer(opts: {
  readonly streamName: string;
  readonly streamVersion: number;
  readonly timeZone?: string;
  /** `.gz` for GZIP, the stream's FileExtension when set, '' otherwise. */
  readonly extension: string;
}): (time: Date) => string {
  const stamp = compileTimestamp('yyyy-MM-dd-HH-mm-ss', opts.timeZone);
  return (time) => `${opts.streamName}-${opts.streamVersion}-${stamp(time)}-${randomUUID()}${opts.extension}`;
}
