// Reads one model version's capture records for a drift window: lists the window's capture
// partitions, streams each object (gzip or plain JSON Lines, told apart by content, not by name)
// line by line, and keeps the profiled fields of each record's input, by column, with its score.
// Bad lines, other versions (a canary's challenger) and records outside the window are counted,
// never fatal. No AWS SDK here: the objects come through the CaptureObjects port.
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { type CaptureRecord, CaptureRecordSchema } from '../capture/capture-record.ts';
import { capturePartitionPrefixes } from '../storage/s3-layout.ts';
import type { DriftColumns } from './drift-report.ts';
import { categoryValue, type FieldKind, numericValue } from './profile.ts';

/** Port: the capture objects of the data bucket. */
export interface CaptureObjects {
  /** Every key under `prefix` (all pages). */
  list(prefix: string): Promise<string[]>;
  /** The object's bytes as stored (gzip or not), as a stream of chunks. */
  open(key: string): Promise<AsyncIterable<Uint8Array>>;
}

export interface CaptureWindowQuery {
  readonly model: string;
  /** Records of other versions are counted in `otherVersions`, not used. */
  readonly version: number;
  /** Inclusive. */
  readonly start: Date;
  /** Exclusive. */
  readonly end: Date;
  /** The input fields to keep and how each is read (the profile's fields); others are dropped as records are read. */
  readonly fields: Readonly<Record<string, FieldKind>>;
  /**
   * The values the profile describes, from a record's input: the feature set's monitored values
   * (e.g. `departure_hour` and `weekday` from a flight's `date`), as training profiled them.
   * @default the input as it is
   */
  readonly monitoredValues?: (input: Readonly<Record<string, unknown>>) => Readonly<Record<string, unknown>>;
}

/** What reading the window found, beyond the rows it kept. */
export interface CaptureCounts {
  /** Objects read, and objects that could not be decompressed (skipped whole). */
  readonly objects: number;
  readonly unreadableObjects: number;
  /** Non-empty lines read. */
  readonly lines: number;
  /** Lines that are not JSON, or not a capture record. */
  readonly malformed: number;
  /** Records of this model and version inside the window: the rows compared. */
  readonly used: number;
  /** Records whose time falls outside the window (their partition hour overlaps it). */
  readonly outsideWindow: number;
  /** Records of another model (a partitioning fault upstream). */
  readonly otherModel: number;
  /** Records of other versions of the model inside the window, by version. */
  readonly otherVersions: Readonly<Record<string, number>>;
}

export interface CaptureWindow {
  /**
   * The used records' inputs by column, for `compareColumnsToProfile`: a numeric field as a
   * Float64Array (NaN where a record has no finite number), a categorical one as its category
   * text or null; `scores` are the records' scores. Columns, not row objects, so a large window
   * costs 8 bytes a numeric value and a pointer a category (each distinct category held once).
   */
  readonly columns: DriftColumns;
  readonly counts: CaptureCounts;
}

/** Objects read at once: overlaps S3 latency; parsing stays on the one thread. */
const READ_CONCURRENCY = 8;
/**
 * A line longer than this is not a capture record (one is a few kB): it is counted malformed and
 * skipped without being held, so one runaway object cannot exhaust memory.
 */
export const MAX_LINE_BYTES = 1024 * 1024;

const isGzip = (bytes: Uint8Array) => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

/** The decompressed chunks of `chunks`: gunzipped when the content starts with the gzip magic. */
export async function* decoded(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const iterator = chunks[Symbol.asyncIterator]();
  // Enough bytes to see the magic (a first chunk of one byte is legal, if unlikely).
  let head: Uint8Array = new Uint8Array(0);
  let done = false;
  while (head.length < 2 && !done) {
    const next = await iterator.next();
    if (next.done) done = true;
    else head = head.length === 0 ? next.value : Buffer.concat([head, next.value]);
  }
  async function* all(): AsyncGenerator<Uint8Array> {
    if (head.length > 0) yield head;
    while (!done) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  if (!isGzip(head)) {
    yield* all();
    return;
  }
  // Concatenated gzip members (one per upload, as some writers append) are read through.
  // `pipeline`, not `pipe`: a read failure upstream must fail the gunzip stream, not stall it.
  const gunzip = createGunzip();
  pipeline(Readable.from(all()), gunzip, () => {});
  yield* gunzip as AsyncIterable<Uint8Array>;
}

/** One line of text, or `null` for a line cut short because it exceeded `MAX_LINE_BYTES`. */
export type Line = string | null;

/** The lines of a decoded byte stream, split on `\n` (a trailing `\r` is dropped with the rest of the whitespace). */
export async function* lines(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Line> {
  const decoder = new TextDecoder();
  let partial = '';
  let overflow = false;
  for await (const chunk of chunks) {
    const text = decoder.decode(chunk, { stream: true });
    let from = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', from)) {
      const piece = text.slice(from, nl);
      from = nl + 1;
      if (overflow) {
        overflow = false;
        partial = '';
        yield null;
      } else {
        yield partial + piece;
        partial = '';
      }
    }
    if (!overflow) {
      partial += text.slice(from);
      if (partial.length > MAX_LINE_BYTES) {
        overflow = true;
        partial = '';
      }
    }
  }
  const rest = partial + decoder.decode();
  if (overflow) yield null;
  else if (rest.trim() !== '') yield rest;
}

export function parseRecord(line: string): CaptureRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  const parsed = CaptureRecordSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** zlib's errors (corrupt or truncated gzip) carry codes like `Z_DATA_ERROR`. */
export const isCorruptGzip = (err: unknown) => /^Z_/.test(String((err as { code?: unknown })?.code ?? ''));

/** A Float64Array that grows by doubling. */
class NumberColumn {
  private data = new Float64Array(1024);
  length = 0;
  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }
  /** The values pushed, as a view of exactly `length`. */
  values(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

/** One record's values, as a column keeps them. */
type Cell = number | string | null;

/**
 * The capture records of `query.model` version `query.version` made in [start, end), read from
 * every capture partition overlapping the window, as columns of `query.fields` (see
 * CaptureWindow). Deterministic up to the order of rows, which the drift report does not depend
 * on. Errors other than a corrupt gzip object (network, permissions) are thrown.
 */
export async function readCaptureWindow(
  objects: CaptureObjects,
  query: CaptureWindowQuery,
): Promise<CaptureWindow> {
  const startMs = query.start.getTime();
  const endMs = query.end.getTime();
  const fields = Object.entries(query.fields);
  const keys = (
    await Promise.all(
      capturePartitionPrefixes(query.model, query.start, query.end).map((p) => objects.list(p)),
    )
  ).flat();
  const numeric = new Map<string, NumberColumn>();
  const categorical = new Map<string, Array<string | null>>();
  for (const [name, kind] of fields) {
    if (kind === 'numeric') numeric.set(name, new NumberColumn());
    else categorical.set(name, []);
  }
  const scores = new NumberColumn();
  // Each distinct category text held once, however many rows repeat it.
  const interned = new Map<string, string>();
  const intern = (text: string) => {
    const known = interned.get(text);
    if (known !== undefined) return known;
    interned.set(text, text);
    return text;
  };
  const counts = {
    objects: 0,
    unreadableObjects: 0,
    lines: 0,
    malformed: 0,
    used: 0,
    outsideWindow: 0,
    otherModel: 0,
  };
  const otherVersions = new Map<number, number>();

  /** A used record's cells, in `fields` order, then its score. */
  const cellsOf = (record: CaptureRecord): Cell[] => {
    const values = query.monitoredValues ? query.monitoredValues(record.input) : record.input;
    const cells: Cell[] = fields.map(([name, kind]) => {
      const value = Object.hasOwn(values, name) ? values[name] : null;
      if (kind === 'numeric') return numericValue(value) ?? Number.NaN;
      const text = categoryValue(value);
      return text === null ? null : intern(text);
    });
    cells.push(record.score);
    return cells;
  };

  const readObject = async (key: string) => {
    // Kept per object until it is read whole, so a corrupt object adds none of its lines.
    const local = { lines: 0, malformed: 0, outsideWindow: 0, otherModel: 0 };
    const kept: Cell[][] = [];
    const otherHere = new Map<number, number>();
    try {
      for await (const line of lines(decoded(await objects.open(key)))) {
        if (line !== null && line.trim() === '') continue;
        local.lines++;
        const record = line === null ? undefined : parseRecord(line);
        if (!record) local.malformed++;
        else if (record.model !== query.model) local.otherModel++;
        else {
          const t = Date.parse(record.time);
          if (!(t >= startMs && t < endMs)) local.outsideWindow++;
          else if (record.version !== query.version)
            otherHere.set(record.version, (otherHere.get(record.version) ?? 0) + 1);
          else kept.push(cellsOf(record));
        }
      }
    } catch (err) {
      if (!isCorruptGzip(err)) throw err;
      counts.objects++;
      counts.unreadableObjects++;
      return;
    }
    counts.objects++;
    counts.lines += local.lines;
    counts.malformed += local.malformed;
    counts.outsideWindow += local.outsideWindow;
    counts.otherModel += local.otherModel;
    for (const [v, n] of otherHere) otherVersions.set(v, (otherVersions.get(v) ?? 0) + n);
    for (const cells of kept) {
      fields.forEach(([name, kind], i) => {
        const cell = cells[i] ?? null;
        if (kind === 'numeric') numeric.get(name)?.push(cell as number);
        else categorical.get(name)?.push(cell as string | null);
      });
      scores.push(cells[fields.length] as number);
    }
  };

  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const key = keys[next++];
      if (key !== undefined) await readObject(key);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, keys.length) }, worker));

  counts.used = scores.length;
  const columns: Record<string, ArrayLike<unknown>> = {};
  for (const [name] of fields) columns[name] = numeric.get(name)?.values() ?? categorical.get(name) ?? [];
  return {
    columns: { rows: scores.length, columns, scores: scores.values() },
    counts: {
      ...counts,
      otherVersions: Object.fromEntries([...otherVersions].sort(([a], [b]) => a - b).map(([v, n]) => [v, n])),
    },
  };
}
