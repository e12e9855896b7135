// Reads capture records back from the capture partitions (one home for the drift check, shadow
// comparisons and replays): lists a window's partitions, streams each object (gzip or plain JSON
// Lines, told apart by content, not by name) line by line, and hands on the records of the model
// made inside the window, object by object. Bad lines, other models and records outside the window
// are counted, never fatal; an object that cannot be decompressed is skipped whole and counted.
// No AWS SDK here: the objects come through the CaptureObjects port.
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { capturePartitionPrefixes } from '../storage/s3-layout.ts';
import { type CaptureRecord, CaptureRecordSchema } from './capture-record.ts';

/** Port: the capture objects of the data bucket. */
export interface CaptureObjects {
  /** Every key under `prefix` (all pages). */
  list(prefix: string): Promise<string[]>;
  /** The object's bytes as stored (gzip or not), as a stream of chunks. */
  open(key: string): Promise<AsyncIterable<Uint8Array>>;
}

export interface CaptureScanQuery {
  readonly model: string;
  /** Inclusive. */
  readonly start: Date;
  /** Exclusive. */
  readonly end: Date;
}

/** What a scan read, beyond the records it handed on. */
export interface CaptureScanCounts {
  readonly objects: number;
  readonly unreadableObjects: number;
  /** Non-empty lines. */
  readonly lines: number;
  /** Lines that are not JSON or not a capture record. */
  readonly malformed: number;
  /** Records of the model whose time is outside the window (their partition hour overlaps it). */
  readonly outsideWindow: number;
  /** Records of another model (a partitioning fault upstream). */
  readonly otherModel: number;
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

/**
 * Every capture record of `query.model` made in [start, end), read from every capture partition
 * overlapping the window. `pick` turns a record into what the caller keeps (or undefined to keep
 * nothing); what one object yields reaches `onObject` only once that object was read whole, so a
 * corrupt object adds none of its records. Errors other than a corrupt gzip object (network,
 * permissions) are thrown.
 */
export async function scanCaptureObjects<T>(
  objects: CaptureObjects,
  query: CaptureScanQuery,
  pick: (record: CaptureRecord) => T | undefined,
  onObject: (picked: readonly T[]) => void,
): Promise<CaptureScanCounts> {
  const startMs = query.start.getTime();
  const endMs = query.end.getTime();
  const keys = (
    await Promise.all(
      capturePartitionPrefixes(query.model, query.start, query.end).map((p) => objects.list(p)),
    )
  ).flat();
  const counts = {
    objects: 0,
    unreadableObjects: 0,
    lines: 0,
    malformed: 0,
    outsideWindow: 0,
    otherModel: 0,
  };

  const readObject = async (key: string) => {
    const local = { lines: 0, malformed: 0, outsideWindow: 0, otherModel: 0 };
    const kept: T[] = [];
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
          else {
            const picked = pick(record);
            if (picked !== undefined) kept.push(picked);
          }
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
    onObject(kept);
  };

  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const key = keys[next++];
      if (key !== undefined) await readObject(key);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, keys.length) }, worker));
  return counts;
}

/** `scanCaptureObjects` keeping whole records, handed to `onRecord` one by one. */
export function scanCaptureRecords(
  objects: CaptureObjects,
  query: CaptureScanQuery,
  onRecord: (record: CaptureRecord) => void,
): Promise<CaptureScanCounts> {
  return scanCaptureObjects(
    objects,
    query,
    (record) => record,
    (records) => {
      for (const record of records) onRecord(record);
    },
  );
}
