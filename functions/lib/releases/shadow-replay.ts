// An offline shadow (`mlops replay`): the champion's captured live requests of a window, scored
// again in-process by a challenger version, compared exactly as a shadow release compares them.
// No live traffic and no function is involved. Hours are read newest first and reading stops once
// `limit` requests are collected, so memory holds about one hour of records plus the requests kept.

import { scoreRequest } from '../../predict/core.ts';
import {
  type CaptureObjects,
  type CaptureScanCounts,
  scanCaptureRecords,
} from '../capture/capture-reader.ts';
import { captureRole } from '../capture/capture-record.ts';
import { ModelNotFound } from '../errors.ts';
import type { ModelRegistry, ModelVersion } from '../registry/model-version.ts';
import type { ModelLoader } from '../serving/loaded-model.ts';
import {
  type ComparedRow,
  type ComparisonCriteria,
  type ComparisonReport,
  type ComparisonVerdict,
  compareChampionChallenger,
  judgeComparison,
} from './comparison-report.ts';

export interface ReplayQuery {
  readonly model: string;
  readonly challengerVersion: number;
  /** The window ends now and lasts this long. */
  readonly windowMs: number;
  /** Most recent requests replayed; 0 replays every captured request of the window. */
  readonly limit: number;
  /** The live version whose requests are replayed. @default the model's Production version */
  readonly championVersion?: number;
  readonly criteria?: ComparisonCriteria;
}

export interface ReplayPorts {
  readonly captures: CaptureObjects;
  readonly registry: Pick<ModelRegistry, 'getVersion' | 'getProductionVersion'>;
  /** Loads the challenger in-process (onnx-model-loader with the artifacts' S3). */
  readonly loadModel: ModelLoader;
  readonly now: () => Date;
  /** Told after each hour read and every 100 requests scored. */
  readonly progress?: (message: string) => void;
}

export interface ReplayResult {
  readonly report: ComparisonReport;
  readonly verdict: ComparisonVerdict;
  /** What reading the window found (summed over the hours read). */
  readonly captures: CaptureScanCounts & { readonly hoursRead: number };
  /** The first few requests the challenger could not score, and why. */
  readonly failures: ReadonlyArray<{ readonly requestId: string; readonly reason: string }>;
}

/** Failures listed in the result (all are counted). */
const LISTED_FAILURES = 10;
const HOUR = 3_600_000;

interface CapturedRequest {
  readonly time: number;
  /** Instance index → its record's input, score, label, latency (first record of each index). */
  readonly rows: Map<number, { input: Record<string, unknown>; row: ComparedRow }>;
}

/** Replay the window's captured requests of the champion against `query.challengerVersion`. */
export async function replayCapturedRequests(ports: ReplayPorts, query: ReplayQuery): Promise<ReplayResult> {
  const { model } = query;
  const challenger = await ports.registry.getVersion(model, query.challengerVersion);
  if (!challenger) throw new ModelNotFound(`model ${model} has no version ${query.challengerVersion}`);
  let championVersion = query.championVersion;
  if (championVersion === undefined) {
    const production = await ports.registry.getProductionVersion(model);
    if (!production)
      throw new ModelNotFound(
        `${model} has no Production version whose requests to replay; name the champion`,
      );
    championVersion = production.version;
  }
  const end = ports.now();
  const start = new Date(end.getTime() - query.windowMs);

  const requests = new Map<string, CapturedRequest>();
  const counts = {
    objects: 0,
    unreadableObjects: 0,
    lines: 0,
    malformed: 0,
    outsideWindow: 0,
    otherModel: 0,
  };
  let hoursRead = 0;
  // Newest hour first, so a limit keeps the most recent requests.
  for (
    let hourStart = Math.floor((end.getTime() - 1) / HOUR) * HOUR;
    hourStart + HOUR > start.getTime();
    hourStart -= HOUR
  ) {
    if (query.limit > 0 && requests.size >= query.limit) break;
    const from = new Date(Math.max(hourStart, start.getTime()));
    const to = new Date(Math.min(hourStart + HOUR, end.getTime()));
    const scanned = await scanCaptureRecords(ports.captures, { model, start: from, end: to }, (record) => {
      if (captureRole(record) !== 'live' || record.version !== championVersion) return;
      let request = requests.get(record.requestId);
      if (!request) {
        request = { time: Date.parse(record.time), rows: new Map() };
        requests.set(record.requestId, request);
      }
      if (!request.rows.has(record.index))
        request.rows.set(record.index, {
          input: record.input,
          row: {
            requestId: record.requestId,
            index: record.index,
            score: record.score,
            label: record.label,
            latencyMs: record.latencyMs,
          },
        });
    });
    hoursRead++;
    for (const key of Object.keys(counts) as Array<keyof typeof counts>) counts[key] += scanned[key];
    ports.progress?.(`read ${from.toISOString()} → ${to.toISOString()}: ${requests.size} requests so far`);
  }

  const chosen = [...requests.entries()]
    .sort(([ia, a], [ib, b]) => b.time - a.time || ia.localeCompare(ib))
    .slice(0, query.limit > 0 ? query.limit : undefined)
    .reverse();
  const championRows: ComparedRow[] = [];
  const challengerRows: ComparedRow[] = [];
  const failures: Array<{ requestId: string; reason: string }> = [];
  let errors = 0;
  const challengerPorts = {
    resolveVersion: async () => challenger as ModelVersion,
    loadModel: ports.loadModel,
  };
  for (const [n, [requestId, request]] of chosen.entries()) {
    const ordered = [...request.rows.entries()].sort(([a], [b]) => a - b).map(([, v]) => v);
    championRows.push(...ordered.map((o) => o.row));
    const started = performance.now();
    try {
      const scored = await scoreRequest(
        { kind: 'instances', model, instances: ordered.map((o) => o.input) },
        challengerPorts,
      );
      const latencyMs = performance.now() - started;
      scored.result.predictions.forEach((p, i) => {
        const index = ordered[i]?.row.index ?? i;
        challengerRows.push({ requestId, index, score: p.score, label: p.label, latencyMs });
      });
    } catch (err) {
      errors++;
      if (failures.length < LISTED_FAILURES) failures.push({ requestId, reason: (err as Error).message });
    }
    if ((n + 1) % 100 === 0) ports.progress?.(`scored ${n + 1} of ${chosen.length} requests`);
  }

  const report = compareChampionChallenger({
    model,
    source: 'replay',
    champion: { version: championVersion, rows: championRows },
    challenger: { version: challenger.version, rows: challengerRows, errors },
    window: { start: start.toISOString(), end: end.toISOString() },
    generatedAt: ports.now(),
  });
  return {
    report,
    verdict: judgeComparison(report, query.criteria),
    captures: { ...counts, hoursRead },
    failures,
  };
}
