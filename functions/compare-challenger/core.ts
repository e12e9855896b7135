// Retraining step CompareChallenger: loads the champion (the Production version) and the challenger
// (the version the nested training run registered) with the serving loader, scores the same
// holdout rows with both, evaluates them overall and per subgroup, and decides with
// compareChallenger. Writes comparison.json (both models' metrics, every gate with its values and
// limits, the decision and its reasons) and hands on the registry revision it compared at, which
// the promotion then requires unchanged.
import * as z from 'zod';
import { InvalidRequest, ModelNotFound } from '../lib/errors.ts';
import type { ModelRegistry, ModelVersion } from '../lib/registry/model-version.ts';
import {
  type ComparisonVerdict,
  compareChallenger as decide,
  evaluateOnHoldout,
  type HoldoutEvaluation,
  type RetrainingDecision,
} from '../lib/retraining/challenger-comparison.ts';
import { checkExecutionName, retrainingFiles } from '../lib/retraining/retraining-files.ts';
import { RetrainingPolicy } from '../lib/retraining/retraining-policy.ts';
import type { LoadedModel, ModelLoader } from '../lib/serving/loaded-model.ts';
import { type ObjectStore, writeJson } from '../lib/storage/object-store.ts';
import { parseS3Uri } from '../lib/storage/s3-layout.ts';
import { parseDataset } from '../lib/training/dataset-file.ts';
import { recipeFor, type TrainingRecipe } from '../lib/training/recipes.ts';

export const CompareInput = z.object({
  model: z.string().min(1),
  executionName: z.string(),
  featureSet: z.string().min(1),
  holdoutUri: z.string(),
  policy: RetrainingPolicy,
  /** The version the challenger's training run registered. */
  challengerVersion: z.number().int().positive(),
});
export type CompareInput = z.infer<typeof CompareInput>;

export interface ComparePorts {
  readonly registry: Pick<ModelRegistry, 'getModel' | 'getVersion'>;
  /** The serving loader: the artifact checked against its sha256, its own encoding and threshold. */
  readonly loadModel: ModelLoader;
  /** The artifacts bucket: the holdout is read from it, comparison.json written to it. */
  readonly artifacts: ObjectStore;
  readonly log: (message: string, data?: Record<string, unknown>) => void;
}

/** `$.comparison` in statemachines/retraining.asl.json. */
export interface ComparisonResult {
  readonly decision: RetrainingDecision;
  readonly reasons: readonly string[];
  readonly champion: { readonly version: number; readonly auc: number | null } | null;
  readonly challenger: { readonly version: number; readonly auc: number | null };
  /** Challenger minus champion holdout AUC; null without a champion or with an undefined AUC. */
  readonly aucGain: number | null;
  /** The registry's stage revision the decision was made at: the promotion's compare-and-set token. */
  readonly stageRevision: number;
  readonly holdoutRows: number;
  /** comparison.json */
  readonly output: string;
}

/** Rows scored per onnxruntime call: bounds the input tensor whatever the holdout's size. */
const SCORE_BATCH = 10_000;

export async function compareChallenger(event: unknown, ports: ComparePorts): Promise<ComparisonResult> {
  const parsed = CompareInput.safeParse(event);
  if (!parsed.success) throw new InvalidRequest(`invalid comparison input: ${z.prettifyError(parsed.error)}`);
  const input = parsed.data;
  const executionName = checkExecutionName(input.executionName);
  const recipe = recipeFor(input.featureSet);

  // The head first: its revision is what the promotion will require unchanged, so everything
  // read after it (the champion among it) is at least as new as the token.
  const summary = await ports.registry.getModel(input.model);
  if (!summary) throw new ModelNotFound(`no model named "${input.model}" is registered`);
  const challengerVersion = await ports.registry.getVersion(input.model, input.challengerVersion);
  if (!challengerVersion)
    throw new ModelNotFound(
      `model ${input.model} has no version ${input.challengerVersion} (the challenger)`,
    );
  const championVersion =
    summary.productionVersion === undefined
      ? undefined
      : await ports.registry.getVersion(input.model, summary.productionVersion);

  const models = [challengerVersion, ...(championVersion ? [championVersion] : [])];
  const loaded = await Promise.all(models.map((v) => ports.loadModel(v)));
  const holdout = await readHoldout(input.holdoutUri, recipe, loaded, ports.artifacts);
  const columns = input.policy.subgroupColumns ?? Object.keys(recipe.subgroups);
  const subgroups = Object.fromEntries(
    columns.map((column) => {
      const slice = recipe.subgroups[column];
      if (!slice)
        throw new InvalidRequest(`unknown subgroup column "${column}" for ${recipe.featureSet.name}`);
      return [column, holdout.instances.map((instance) => slice(instance))];
    }),
  );
  const evaluations: HoldoutEvaluation[] = [];
  for (const [i, model] of loaded.entries()) {
    const scores = await scoreAll(model, holdout.encodedBy[i] ?? new Float32Array());
    evaluations.push(
      evaluateOnHoldout(
        { version: model.version.version, threshold: model.threshold, scores },
        holdout.labels,
        subgroups,
      ),
    );
  }
  const [challenger, champion] = evaluations as [HoldoutEvaluation, HoldoutEvaluation | undefined];
  const verdict = decide({
    model: input.model,
    challenger,
    policy: input.policy,
    ...(champion ? { champion } : {}),
  });
  const gain = verdict.checks.find((c) => c.gate === 'auc-gain')?.difference ?? null;
  const output = await writeJson(ports.artifacts, retrainingFiles(executionName).comparison, {
    model: input.model,
    executionName,
    holdout: { uri: input.holdoutUri, rows: holdout.labels.length, rejectedRows: holdout.rejected },
    policy: input.policy,
    stageRevision: summary.stageRevision,
    champion: champion ? describeModel(championVersion as ModelVersion, champion) : null,
    challenger: describeModel(challengerVersion, challenger),
    ...verdictFields(verdict),
  });
  ports.log('compared', { executionName, decision: verdict.decision, aucGain: gain });
  return {
    decision: verdict.decision,
    reasons: verdict.reasons,
    champion: champion ? { version: champion.version, auc: champion.overall.auc } : null,
    challenger: { version: challenger.version, auc: challenger.overall.auc },
    aucGain: gain,
    stageRevision: summary.stageRevision,
    holdoutRows: holdout.labels.length,
    output,
  };
}

interface Holdout<Instance = unknown> {
  /** Instances as the recipe's feature set parses them (for subgroup slicing). */
  readonly instances: Instance[];
  /** Per loaded model: its instances as its own feature set parses them, encoded as it was trained. */
  readonly encodedBy: Float32Array[];
  readonly labels: Uint8Array;
  readonly rejected: number;
}

/**
 * The holdout rows every model (and the recipe) can read, so both models score exactly the same
 * rows; a row one of them refuses is left out for all and counted.
 */
async function readHoldout(
  uri: string,
  recipe: TrainingRecipe,
  models: readonly LoadedModel[],
  artifacts: ObjectStore,
): Promise<Holdout> {
  const { bucket, key } = parseS3Uri(uri);
  if (bucket !== artifacts.bucket)
    throw new InvalidRequest(`the holdout ${uri} is not in the artifacts bucket ${artifacts.bucket}`);
  const instances: unknown[] = [];
  const perModel: unknown[][] = models.map(() => []);
  const labels: number[] = [];
  let rejected = 0;
  for (const row of parseDataset(await artifacts.read(key))) {
    const record = (typeof row === 'object' && row !== null ? row : {}) as Record<string, unknown>;
    const label = recipe.label(record);
    const raw = Object.fromEntries(Object.entries(record).filter(([k]) => !recipe.labelColumns.includes(k)));
    const mine = recipe.featureSet.instanceSchema.safeParse(raw);
    const theirs = models.map((m) => m.featureSet.instanceSchema.safeParse(raw));
    if (label === undefined || !mine.success || theirs.some((p) => !p.success)) {
      rejected++;
      continue;
    }
    instances.push(mine.data);
    for (const [i, p] of theirs.entries()) perModel[i]?.push(p.data);
    labels.push(label);
  }
  if (labels.length === 0) throw new InvalidRequest(`the holdout ${uri} has no row both models can score`);
  return {
    instances,
    encodedBy: models.map((m, i) => m.featureSet.encode(perModel[i] ?? [], m.encoding)),
    labels: Uint8Array.from(labels),
    rejected,
  };
}

/** Score every encoded row (its width is the model's feature count), SCORE_BATCH rows per call. */
async function scoreAll(model: LoadedModel, x: Float32Array): Promise<Float32Array> {
  const width = model.featureSet.featureNames(model.encoding).length;
  if (width === 0 || x.length % width !== 0)
    throw new Error(
      `${model.version.model} v${model.version.version}: ${x.length} values are not rows of ${width}`,
    );
  const rows = x.length / width;
  const scores = new Float32Array(rows);
  for (let start = 0; start < rows; start += SCORE_BATCH) {
    const end = Math.min(rows, start + SCORE_BATCH);
    scores.set(await model.score(x.subarray(start * width, end * width), end - start), start);
  }
  return scores;
}

function describeModel(version: ModelVersion, evaluation: HoldoutEvaluation) {
  return {
    version: version.version,
    stage: version.stage,
    trainingRunId: version.trainingRunId,
    artifactUri: version.artifactUri,
    threshold: evaluation.threshold,
    overall: evaluation.overall,
    subgroups: evaluation.subgroups,
  };
}

function verdictFields(verdict: ComparisonVerdict) {
  return {
    decision: verdict.decision,
    reasons: verdict.reasons,
    gates: verdict.checks,
    skipped: verdict.skipped,
  };
}
