// Release step DecideChallenger (strategy champion-challenger), once the slice's decision window
// has passed and the capture has settled: reads the window's live capture records of the champion
// and challenger function versions, joins each prediction with the outcome that has arrived for
// its instance (ground truth under `ground-truth/model=/dt=/`, the same files the retraining
// reads), judges the challenger on the agreed metric (functions/lib/releases/champion-challenger.ts),
// writes the decision report and records the decision. `promote`: the state machine moves the rest
// of the traffic and promotes; `keep`: it rolls back with the reasons. A retried decision reads the
// same window and writes the same report.

import { type CaptureObjects, scanCaptureRecords } from '../lib/capture/capture-reader.ts';
import { captureRole } from '../lib/capture/capture-record.ts';
import { InvalidRequest } from '../lib/errors.ts';
import type { ModelRegistry } from '../lib/registry/model-version.ts';
import {
  type ArmRow,
  type ArmSample,
  decideChampionChallenger,
  OutcomeIndex,
  servedInstance,
} from '../lib/releases/champion-challenger.ts';
import { ReleaseStateMismatch } from '../lib/releases/release-errors.ts';
import { holdLock } from '../lib/releases/release-guards.ts';
import type { ReleaseStore } from '../lib/releases/release-record.ts';
import {
  type DecisionResult,
  keyOf,
  modelLabel,
  parseStepInput,
  StepInput,
} from '../lib/releases/release-state.ts';
import {
  type GroundTruthObjects,
  gatherGroundTruth,
  lookbackPartitions,
} from '../lib/retraining/ground-truth.ts';
import { type ObjectStore, writeJson } from '../lib/storage/object-store.ts';
import { championChallengerDecisionKey, groundTruthPartitionPrefix } from '../lib/storage/s3-layout.ts';
import { recipeFor } from '../lib/training/recipes.ts';

export interface DecidePorts {
  /** Capture records (data bucket, `capture/`). */
  readonly captures: CaptureObjects;
  /** Ground truth (data bucket, `ground-truth/`). */
  readonly groundTruth: GroundTruthObjects;
  /** The decision report goes here (artifacts bucket, `releases/`). */
  readonly reports: ObjectStore;
  readonly registry: Pick<ModelRegistry, 'getVersion'>;
  readonly store: Pick<ReleaseStore, 'getRelease' | 'updateRelease' | 'renewLock'>;
  readonly now: () => Date;
  readonly log: (message: string, data?: Record<string, unknown>) => void;
}

const DAY_MS = 86_400_000;

export async function decideChallenger(event: unknown, ports: DecidePorts): Promise<DecisionResult> {
  const { release, published, progress } = parseStepInput(StepInput, event, 'DecideChallenger');
  const policy = release.decision;
  if (!policy)
    throw new InvalidRequest(
      `DecideChallenger: release ${release.releaseId} is ${release.strategy}, not champion-challenger`,
    );
  if (!progress.isDecisionStep || !progress.bakeComplete || !progress.stepStartedAt || !progress.bakeUntil)
    throw new ReleaseStateMismatch(
      `DecideChallenger at step ${progress.stepIndex + 1} before the slice's window has passed`,
    );
  if (release.previousModelVersion === null)
    throw new ReleaseStateMismatch(
      `${release.model} had no champion when ${modelLabel(release)} was released`,
    );
  await holdLock(ports, release);

  const version = await ports.registry.getVersion(release.model, release.modelVersion);
  if (!version) throw new ReleaseStateMismatch(`${modelLabel(release)} is no longer in the registry`);
  const recipe = recipeFor(version.featureSet);
  const window = { start: new Date(progress.stepStartedAt), end: new Date(progress.bakeUntil) };

  // Outcomes: every ground-truth partition from the day before the window to today (labels of a
  // window's requests arrive during it and after it).
  const now = ports.now();
  const days = Math.ceil((now.getTime() - window.start.getTime()) / DAY_MS) + 1;
  const partitions = lookbackPartitions(now, Math.max(1, days));
  const truth = await gatherGroundTruth(release.model, partitions, recipe, ports.groundTruth);
  const outcomes = new OutcomeIndex(truth.rows.records, recipe);

  const arms = new Map<string, { modelVersion: number; captured: number; rows: ArmRow[] }>([
    [release.previousFunctionVersion, { modelVersion: release.previousModelVersion, captured: 0, rows: [] }],
    [published.functionVersion, { modelVersion: release.modelVersion, captured: 0, rows: [] }],
  ]);
  let otherVersions = 0;
  let invalidInstances = 0;
  const scan = await scanCaptureRecords(
    ports.captures,
    { model: release.model, start: window.start, end: window.end },
    (record) => {
      if (captureRole(record) !== 'live') return;
      const arm = arms.get(record.functionVersion);
      if (!arm || record.version !== arm.modelVersion) {
        otherVersions++;
        return;
      }
      arm.captured++;
      const served = servedInstance(record.input, recipe);
      if (!served) {
        invalidInstances++;
        return;
      }
      const label = outcomes.outcomeOfKey(served.key);
      if (label !== undefined) arm.rows.push({ score: record.score, label, subgroups: served.subgroups });
    },
  );
  const sample = (functionVersion: string): ArmSample => {
    const arm = arms.get(functionVersion);
    if (!arm) throw new Error('unreachable: both arms are in the map');
    // Capture order depends on object listing and concurrency: a fixed order keeps a retried
    // decision's report byte-identical (AUC and log loss do not depend on it).
    arm.rows.sort((a, b) => a.score - b.score || a.label - b.label);
    return { functionVersion, modelVersion: arm.modelVersion, captured: arm.captured, rows: arm.rows };
  };
  const verdict = decideChampionChallenger({
    model: release.model,
    champion: sample(release.previousFunctionVersion),
    challenger: sample(published.functionVersion),
    policy,
  });
  const report = await writeJson(
    ports.reports,
    championChallengerDecisionKey(release.model, release.releaseId),
    {
      model: release.model,
      releaseId: release.releaseId,
      window: { start: window.start.toISOString(), end: window.end.toISOString() },
      slicePercent: progress.percent,
      policy,
      decision: verdict.decision,
      reasons: verdict.reasons,
      metric: verdict.metric,
      champion: verdict.champion,
      challenger: verdict.challenger,
      gain: verdict.gain,
      standardError: verdict.standardError,
      lowerBound: verdict.lowerBound,
      checks: verdict.checks,
      skipped: verdict.skipped,
      capture: { ...scan, otherVersions, invalidInstances },
      groundTruth: {
        partitions: partitions.map((dt) => groundTruthPartitionPrefix(release.model, dt)),
        files: truth.files.length,
        skippedFiles: truth.skipped,
        validRows: truth.rows.records.length,
        rejectedRows: truth.rows.rejected,
        duplicateRows: truth.rows.duplicates,
        conflictingInstances: outcomes.conflicting,
      },
    },
  );
  const champion = `v${verdict.champion.modelVersion}`;
  const summary =
    verdict.decision === 'promote'
      ? `${modelLabel(release)} beat champion ${champion} on ${verdict.metric} over its ${progress.percent}% slice: ${verdict.reasons[0]}`
      : `${modelLabel(release)} did not beat champion ${champion} on ${verdict.metric} over its ${progress.percent}% slice: ${verdict.reasons.join('; ')}`;
  await ports.store.updateRelease(keyOf(release), {
    decided: { decision: verdict.decision, summary, report, at: now.toISOString() },
    updatedAt: now.toISOString(),
  });
  ports.log('decided', {
    releaseId: release.releaseId,
    decision: verdict.decision,
    champion: verdict.champion,
    challenger: verdict.challenger,
    gain: verdict.gain,
    lowerBound: verdict.lowerBound,
    report,
  });
  return { decision: verdict.decision, reasons: [...verdict.reasons], summary, report };
}
