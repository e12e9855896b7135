// Retraining step PrepareRetrainingData: gathers the model's ground truth from the dt partitions
// of the lookback window, keeps the rows its recipe accepts (each record once; the rest counted
// with their reasons), requires enough of them, splits them deterministically into the
// challenger's training dataset and the holdout both models are compared on, and builds the
// challenger's training run. Every file is written at a key derived from the execution name, so a
// retry rewrites the same objects.
import * as z from 'zod';
import { InvalidRequest, ModelNotFound } from '../lib/errors.ts';
import type { ModelRegistry, ModelVersion } from '../lib/registry/model-version.ts';
import { resolveSettings } from '../lib/releases/release-plan.ts';
import { challengerRecipe, challengerTrainingRun } from '../lib/retraining/challenger-run.ts';
import {
  gatherGroundTruth,
  InsufficientLabelledData,
  type LabelledRecord,
  lookbackPartitions,
  splitHoldout,
} from '../lib/retraining/ground-truth.ts';
import {
  checkExecutionName,
  retrainingFiles,
  retrainingReleaseName,
} from '../lib/retraining/retraining-files.ts';
import {
  type RetrainingPolicy,
  type RetrainingPolicyOverrides,
  resolveRetrainingPolicy,
} from '../lib/retraining/retraining-policy.ts';
import { RetrainingRequestSchema } from '../lib/retraining/retraining-request.ts';
import { ModelName } from '../lib/schemas/model-name.ts';
import { toFieldIssues } from '../lib/schemas/zod-issues.ts';
import { type ObjectStore, writeJson } from '../lib/storage/object-store.ts';
import { groundTruthPartitionPrefix } from '../lib/storage/s3-layout.ts';
import { toJsonLines } from '../lib/training/dataset-file.ts';
import { recipeFor, type TrainingRecipe } from '../lib/training/recipes.ts';

/** What the state machine hands this step: the execution input and the execution's name. */
export const PrepareInput = z.object({
  request: RetrainingRequestSchema.extend({ model: ModelName }),
  executionName: z.string(),
});

export interface PreparePorts {
  /** The data bucket: ground truth is read from it, the challenger's dataset written to it. */
  readonly data: ObjectStore;
  /** Keys under `prefix` in the data bucket, in key order. */
  listKeys(prefix: string): Promise<string[]>;
  /** The artifacts bucket: the holdout and the ground-truth report. */
  readonly artifacts: ObjectStore;
  readonly registry: Pick<ModelRegistry, 'getProductionVersion' | 'listVersions'>;
  /** The deployment's policy settings (RETRAINING_POLICY); the request's override them. */
  readonly policy: RetrainingPolicyOverrides;
  readonly log: (message: string, data?: Record<string, unknown>) => void;
}

/** One side of the split, as handed on. */
export interface PreparedSide {
  readonly uri: string;
  readonly rows: number;
  readonly positives: number;
}

/** `$.prepared` in statemachines/retraining.asl.json. */
export interface PreparedRetraining {
  readonly executionName: string;
  readonly model: string;
  readonly featureSet: string;
  readonly policy: RetrainingPolicy;
  /** The version whose feature set and recipe the challenger takes (the champion, when there is one). */
  readonly reference: { readonly version: number; readonly stage: string };
  /** The training pipeline's execution input for the challenger. */
  readonly trainingRun: ReturnType<typeof challengerTrainingRun>;
  readonly train: PreparedSide;
  readonly holdout: PreparedSide;
  readonly groundTruth: {
    readonly partitions: readonly string[];
    readonly files: number;
    readonly skippedFiles: number;
    readonly validRows: number;
    readonly rejectedRows: number;
    readonly duplicateRows: number;
  };
  /** The ground-truth report. */
  readonly output: string;
  /**
   * The release a winning challenger goes through (`policy.promoteBy` = release): its execution
   * name and its input, but for the challenger's version, which the comparison adds.
   */
  readonly release: {
    readonly executionName: string;
    readonly request: Readonly<Record<string, unknown>>;
  };
}

export async function prepareRetrainingData(
  event: unknown,
  ports: PreparePorts,
): Promise<PreparedRetraining> {
  const parsed = PrepareInput.safeParse(event);
  if (!parsed.success) throw new InvalidRequest('invalid retraining request', toFieldIssues(parsed.error));
  const { request } = parsed.data;
  const executionName = checkExecutionName(parsed.data.executionName);
  const windowEnd = new Date(request.window.end);
  if (new Date(request.window.start).getTime() > windowEnd.getTime())
    throw new InvalidRequest(
      `the window starts (${request.window.start}) after it ends (${request.window.end})`,
    );
  const policy = resolveRetrainingPolicy(ports.policy, request.policy);
  // Checked now, by the release's own rules: a bad setting fails here, naming it, rather than
  // in a release nobody watches after the challenger has been trained.
  if (policy.promoteBy === 'release') resolveSettings(request.model, policy.release);
  const reference = await referenceVersion(request.model, ports.registry);
  const recipe = recipeFor(reference.featureSet);
  const unknownColumns = (policy.subgroupColumns ?? []).filter((c) => !Object.hasOwn(recipe.subgroups, c));
  if (unknownColumns.length > 0)
    throw new InvalidRequest(
      `unknown subgroup column ${unknownColumns.join(', ')} (known for ${recipe.featureSet.name}: ${Object.keys(recipe.subgroups).join(', ')})`,
    );

  const partitions = lookbackPartitions(windowEnd, policy.lookbackDays);
  const gathered = await gatherGroundTruth(request.model, partitions, recipe, {
    listKeys: ports.listKeys,
    read: (key) => ports.data.read(key),
  });
  const { rows } = gathered;
  const files = retrainingFiles(executionName);
  const split = splitHoldout(rows.records, policy.holdoutShare);
  const side = (records: readonly LabelledRecord[]) => ({
    rows: records.length,
    positives: records.reduce((sum, r) => sum + r.label, 0),
  });
  const required = requiredRows(policy, recipe);
  const shortfall = insufficiency(rows.records.length, required, side(split.train), side(split.holdout));
  const report = {
    model: request.model,
    executionName,
    window: request.window,
    policy,
    reference: { version: reference.version, stage: reference.stage, featureSet: reference.featureSet },
    partitions: partitions.map((dt) => groundTruthPartitionPrefix(request.model, dt)),
    files: gathered.files,
    skippedFiles: gathered.skipped,
    validRows: rows.records.length,
    rejectedRows: rows.rejected,
    rejectReasons: rows.rejectReasons(),
    duplicateRows: rows.duplicates,
    requiredRows: required,
    train: side(split.train),
    holdout: side(split.holdout),
    verdict: shortfall ?? 'enough labelled data',
  };
  const output = await writeJson(ports.artifacts, files.groundTruthReport, report);
  if (shortfall) throw new InsufficientLabelledData(`${shortfall}; report: ${output}`);

  const toRows = (records: readonly LabelledRecord[]) => toJsonLines(records.map((r) => r.row));
  const trainUri = await ports.data.write(
    files.challengerDataset,
    toRows(split.train),
    'application/x-ndjson',
  );
  const holdoutUri = await ports.artifacts.write(
    files.holdout,
    toRows(split.holdout),
    'application/x-ndjson',
  );
  const challenger = challengerRecipe(reference);
  if (challenger.note) ports.log('challenger recipe', { note: challenger.note });
  ports.log('prepared', { executionName, validRows: rows.records.length, train: split.train.length });
  return {
    executionName,
    model: request.model,
    featureSet: reference.featureSet,
    policy,
    reference: { version: reference.version, stage: reference.stage },
    trainingRun: challengerTrainingRun({
      executionName,
      model: request.model,
      featureSet: reference.featureSet,
      datasetUri: trainUri,
      recipe: challenger,
    }),
    train: { uri: trainUri, ...side(split.train) },
    holdout: { uri: holdoutUri, ...side(split.holdout) },
    groundTruth: {
      partitions,
      files: gathered.files.length,
      skippedFiles: gathered.skipped.length,
      validRows: rows.records.length,
      rejectedRows: rows.rejected,
      duplicateRows: rows.duplicates,
    },
    output,
    release: {
      executionName: retrainingReleaseName(executionName),
      request: { ...policy.release, model: request.model, requestedBy: `retraining:${executionName}` },
    },
  };
}

/** The champion, else the latest version: what says which feature set and recipe the model uses. */
async function referenceVersion(model: string, registry: PreparePorts['registry']): Promise<ModelVersion> {
  const champion = await registry.getProductionVersion(model);
  if (champion) return champion;
  const latest = (await registry.listVersions(model)).at(-1);
  if (!latest)
    throw new ModelNotFound(`no version of model "${model}" is registered: train one before retraining it`);
  return latest;
}

/**
 * Rows the retraining needs: the policy's minimum, and enough that the challenger's side of the
 * split still meets the recipe's own minimum for a training dataset.
 */
export function requiredRows(policy: RetrainingPolicy, recipe: TrainingRecipe): number {
  const trainingMinimum = recipe.expectations.minRows ?? 0;
  return Math.max(policy.minLabelledRows, Math.ceil(trainingMinimum / (1 - policy.holdoutShare)));
}

/** Why the rows cannot support a retraining, or undefined when they can. */
function insufficiency(
  valid: number,
  required: number,
  train: { rows: number; positives: number },
  holdout: { rows: number; positives: number },
): string | undefined {
  if (valid < required)
    return `${valid.toLocaleString('en-US')} valid labelled rows in the window, at least ${required.toLocaleString('en-US')} needed`;
  for (const [name, s] of [
    ['training', train],
    ['holdout', holdout],
  ] as const) {
    if (s.positives === 0 || s.positives === s.rows)
      return `the ${name} side holds one class only (${s.positives} positive of ${s.rows} rows): nothing to learn or compare on`;
  }
  return undefined;
}
