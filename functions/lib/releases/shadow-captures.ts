// Champion and challenger records of a shadow, read from the capture (functions/lib/capture/
// capture-reader.ts) and paired for the comparison report: live records of the champion,
// shadow records of the shadow's own challenger, the rest counted.

import {
  type CaptureObjects,
  type CaptureScanCounts,
  scanCaptureRecords,
} from '../capture/capture-reader.ts';
import { type CaptureRecord, captureRole } from '../capture/capture-record.ts';
import type { ComparedRow } from './comparison-report.ts';

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
