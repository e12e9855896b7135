// Reads whole capture records of one model over a window (the drift check reads columns; a
// shadow comparison needs each record's request id, index, role, score and latency, and a replay
// its input): lists the window's capture partitions, decodes each object (gzip or plain JSON
// Lines) and hands on the records of the model inside the window. An object that cannot be
// decompressed is skipped whole and counted; bad lines are counted, never fatal.
import { type CaptureRecord, captureRole } from '../capture/capture-record.ts';
import { type CaptureObjects, decoded, isCorruptGzip, lines, parseRecord } from '../drift/capture-window.ts';
import { capturePartitionPrefixes } from '../storage/s3-layout.ts';
import type { ComparedRow } from './comparison-report.ts';

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
 * Every capture record of `query.model` made in [start, end), handed to `onRecord` object by
 * object (a corrupt object adds none of its records). Errors other than a corrupt gzip object
 * (network, permissions) are thrown.
 */
export async function scanCaptureRecords(
  objects: CaptureObjects,
  query: CaptureScanQuery,
  onRecord: (record: CaptureRecord) => void,
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
    const kept: CaptureRecord[] = [];
    try {
      for await (const line of lines(decoded(await objects.open(key)))) {
        if (line !== null && line.trim() === '') continue;
        local.lines++;
        const record = line === null ? undefined : parseRecord(line);
        if (!record) local.malformed++;
        else if (record.model !== query.model) local.otherModel++;
        else {
          const t = Date.parse(record.time);
          if (t >= startMs && t < endMs) kept.push(record);
          else local.outsideWindow++;
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
    for (const record of kept) onRecord(record);
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

export interface ShadowPairsQuery {
  readonly model: string;
  /** When the shadow started copying (inclusive). */
  readonly start: Date;
  /** When it stopped (exclusive): champion records are those answered in [start, end). */
  readonly end: Date;
  /** Live records of other versions (a canary running beside the shadow) are not the champion's. @default any live version */
  readonly championVersion?: number;
  readonly challengerVersion: number;
  /** Only shadow records of this predict function version (the `shadow` alias's). @default any */
  readonly challengerFunctionVersion?: string;
  /**
   * How long after `end` a challenger's record may be made: copies queued before the end are
   * scored a little later. @default 5 minutes
   */
  readonly challengerLatenessMs?: number;
}

export interface ShadowPairs {
  readonly champion: ComparedRow[];
  readonly challenger: ComparedRow[];
  readonly counts: CaptureScanCounts & {
    /** Live records of the model by another version than the champion's, by version. */
    readonly otherLiveVersions: Readonly<Record<string, number>>;
    /** Shadow records of another version or function version (an earlier shadow). */
    readonly otherShadow: number;
    /** Live records answered after `end` (read because challenger records may come late). */
    readonly liveAfterEnd: number;
  };
}

const rowOf = (record: CaptureRecord, requestId: string): ComparedRow => ({
  requestId,
  index: record.index,
  score: record.score,
  label: record.label,
  latencyMs: record.latencyMs,
});

/**
 * The champion's live records and the challenger's shadow records of a shadow window, as rows
 * for `compareChampionChallenger` (shadow rows keyed by the live request they copy).
 */
export async function readShadowPairs(
  objects: CaptureObjects,
  query: ShadowPairsQuery,
): Promise<ShadowPairs> {
  const endMs = query.end.getTime();
  const readEnd = new Date(endMs + (query.challengerLatenessMs ?? 5 * 60_000));
  const champion: ComparedRow[] = [];
  const challenger: ComparedRow[] = [];
  const otherLive = new Map<number, number>();
  let otherShadow = 0;
  let liveAfterEnd = 0;
  const scan = await scanCaptureRecords(
    objects,
    { model: query.model, start: query.start, end: readEnd },
    (r) => {
      if (captureRole(r) === 'shadow') {
        const ours =
          r.version === query.challengerVersion &&
          r.shadowOf !== undefined &&
          (query.challengerFunctionVersion === undefined ||
            r.functionVersion === query.challengerFunctionVersion);
        if (ours) challenger.push(rowOf(r, r.shadowOf as string));
        else otherShadow++;
      } else if (Date.parse(r.time) >= endMs) liveAfterEnd++;
      else if (query.championVersion === undefined || r.version === query.championVersion)
        champion.push(rowOf(r, r.requestId));
      else otherLive.set(r.version, (otherLive.get(r.version) ?? 0) + 1);
    },
  );
  return {
    champion,
    challenger,
    counts: {
      ...scan,
      otherLiveVersions: Object.fromEntries([...otherLive].sort(([a], [b]) => a - b)),
      otherShadow,
      liveAfterEnd,
    },
  };
}
