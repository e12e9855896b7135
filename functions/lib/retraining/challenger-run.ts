// The challenger's training run, as the retraining hands it to the training pipeline (a nested
// execution): its run id derived from the retraining execution, so a repeated start converges on
// one run and one registered version, and the champion's recipe (trainer, parameters, seed)
// applied to the recent window, with the data gate tolerant of the drift it is meant to learn.
import { createHash } from 'node:crypto';
import type * as z from 'zod';
import type { ModelVersion } from '../registry/model-version.ts';
import { RunId, TrainingRunInput } from '../runs/training-run.ts';
import { resolveTrainerParams, TRAINERS, type Trainer } from '../training/train-classifier.ts';

/** Longest run id (see RunId: it also names SageMaker jobs `{runId}-train`). */
const MAX_RUN_ID = 57;

/**
 * The challenger's run id: the retraining execution's name where it fits the run id rules
 * (`_` becomes `-`), else its start and a hash of the whole name, so two long names never collide.
 */
export function challengerRunId(executionName: string): string {
  const cleaned = executionName.replaceAll(/[^A-Za-z0-9-]/g, '-').replace(/^-+/, '');
  if (cleaned === executionName && cleaned.length <= MAX_RUN_ID) return cleaned;
  const hash = createHash('sha256').update(executionName).digest('hex').slice(0, 8);
  const head = cleaned.slice(0, MAX_RUN_ID - hash.length - 1).replace(/-+$/, '');
  return RunId.parse(head ? `${head}-${hash}` : `retrain-${hash}`);
}

/** How the challenger is trained: the champion's trainer and parameters where they carry over. */
export interface ChallengerRecipe {
  readonly trainer: Trainer;
  readonly params: Record<string, number>;
  readonly seed: number;
  /** Set when the champion's recipe could not be reused, saying what was used instead and why. */
  readonly note?: string;
}

/** What `reference` (the champion, or the latest version) was trained with, for the challenger. */
export function challengerRecipe(reference: Pick<ModelVersion, 'params' | 'version'>): ChallengerRecipe {
  const { trainer, splitSeed, ...rest } = reference.params as Record<string, unknown>;
  const seed =
    typeof splitSeed === 'number' && Number.isSafeInteger(splitSeed) && splitSeed >= 0 ? splitSeed : 0;
  if (!TRAINERS.includes(trainer as Trainer))
    return {
      trainer: 'logreg',
      params: {},
      seed,
      note: `v${reference.version} was trained with "${String(trainer)}", which a retraining cannot rerun: the challenger uses logreg with its defaults`,
    };
  const params = Object.fromEntries(
    Object.entries(rest).filter((entry): entry is [string, number] => typeof entry[1] === 'number'),
  );
  try {
    resolveTrainerParams(trainer as Trainer, params);
    return { trainer: trainer as Trainer, params, seed };
  } catch (err) {
    return {
      trainer: trainer as Trainer,
      params: {},
      seed,
      note: `v${reference.version}'s ${String(trainer)} parameters are not valid any more (${(err as Error).message}): the challenger uses the defaults`,
    };
  }
}

/** The training pipeline's execution input for the challenger (no promotion: it registers as Staging). */
export function challengerTrainingRun(opts: {
  readonly executionName: string;
  readonly model: string;
  readonly featureSet: string;
  readonly datasetUri: string;
  readonly recipe: ChallengerRecipe;
}): z.input<typeof TrainingRunInput> {
  const run = {
    runId: challengerRunId(opts.executionName),
    model: opts.model,
    datasetUri: opts.datasetUri,
    featureSet: opts.featureSet,
    trainer: opts.recipe.trainer,
    params: opts.recipe.params,
    seed: opts.recipe.seed,
    dataValidation: 'drift-tolerant' as const,
    requestedBy: `retraining:${opts.executionName}`,
  };
  TrainingRunInput.parse(run); // refuse here, naming the field, rather than in the nested run
  return run;
}
