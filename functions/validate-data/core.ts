// Pipeline step ValidateData: the data gate. Checks the dataset against its recipe's expectation
// set before anything is trained, writes the full report, and fails the run (listing every
// violated expectation) when the data is not fit to train on.
import { createHash } from 'node:crypto';
import { InvalidRequest } from '../lib/errors.ts';
import type { StepPorts } from '../lib/runs/pipeline-step.ts';
import { runFiles } from '../lib/runs/run-files.ts';
import type { ValidationResult } from '../lib/runs/step-results.ts';
import type { PipelineState } from '../lib/runs/training-run.ts';
import { writeJson } from '../lib/storage/object-store.ts';
import { parseDataset } from '../lib/training/dataset-file.ts';
import { recipeFor, type TrainingRecipe } from '../lib/training/recipes.ts';
import { resolveTrainerParams } from '../lib/training/train-classifier.ts';
import { expectationsFor } from '../lib/validation/reference-checks.ts';
import { DataValidationFailed, validateDataset } from '../lib/validation/validate-dataset.ts';

export type ValidatePorts = Pick<StepPorts, 'artifacts' | 'readObject'>;

/** Refuse a run whose own settings are wrong before reading any data. */
function checkRunSettings(state: PipelineState, recipe: TrainingRecipe): void {
  if (state.trainer === 'container' && !state.container)
    throw new InvalidRequest('trainer "container" needs container.image (the training image to run)');
  if (state.trainer !== 'container') resolveTrainerParams(state.trainer, state.params);
  if (state.subgroupColumn !== undefined && !Object.hasOwn(recipe.subgroups, state.subgroupColumn))
    throw new InvalidRequest(
      `unknown subgroup column "${state.subgroupColumn}" (known: ${Object.keys(recipe.subgroups).join(', ')})`,
    );
}

export async function validateData(state: PipelineState, ports: ValidatePorts): Promise<ValidationResult> {
  const recipe = recipeFor(state.featureSet);
  checkRunSettings(state, recipe);
  const bytes = await ports.readObject(state.datasetUri);
  const datasetSha256 = createHash('sha256').update(bytes).digest('hex');
  const report = validateDataset(
    parseDataset(bytes),
    expectationsFor(recipe.expectations, state.dataValidation),
  );
  const output = await writeJson(ports.artifacts, runFiles(state.runId).validationReport, {
    datasetUri: state.datasetUri,
    datasetSha256,
    dataValidation: state.dataValidation,
    ...report,
  });
  if (!report.passed) throw new DataValidationFailed(report, output);
  return {
    datasetSha256,
    settings: {
      trainer: state.trainer,
      params: state.params,
      seed: state.seed,
      ...(state.container ? { container: state.container } : {}),
    },
    rows: report.rows,
    validRows: report.validRows,
    output,
  };
}
