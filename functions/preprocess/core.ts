// Pipeline step Preprocess: turns the validated dataset into labelled instances, splits them
// deterministically into train and test, fits the feature encoding on the train side only
// (so test metrics stay honest), and profiles the train side as the drift reference.
import { createHash } from 'node:crypto';
import { buildProfile } from '../lib/drift/profile.ts';
import { ConflictError } from '../lib/errors.ts';
import type { StepPorts } from '../lib/runs/pipeline-step.ts';
import { type FittedEncoding, type LabelledRow, runFiles } from '../lib/runs/run-files.ts';
import { type PreprocessResult, stepResult, ValidationResult } from '../lib/runs/step-results.ts';
import type { PipelineState } from '../lib/runs/training-run.ts';
import { writeJson } from '../lib/storage/object-store.ts';
import { runKey, s3Uri } from '../lib/storage/s3-layout.ts';
import { parseDataset, toJsonLines } from '../lib/training/dataset-file.ts';
import { recipeFor } from '../lib/training/recipes.ts';
import { splitTrainTest } from '../lib/training/split.ts';

export type PreprocessPorts = Pick<StepPorts, 'artifacts' | 'readObject'>;

export async function preprocess(state: PipelineState, ports: PreprocessPorts): Promise<PreprocessResult> {
  const validation = stepResult(ValidationResult, state.validation, 'validation result');
  const recipe = recipeFor(state.featureSet);
  const bytes = await ports.readObject(state.datasetUri);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  // The dataset URI names a mutable object: train only on the bytes that passed the gate.
  if (sha256 !== validation.datasetSha256)
    throw new ConflictError(
      `${state.datasetUri} changed after validation (sha256 ${sha256.slice(0, 12)}… vs ${validation.datasetSha256.slice(0, 12)}…); start a new run`,
    );

  const labelled: LabelledRow[] = [];
  let rejectedRows = 0;
  for (const row of parseDataset(bytes)) {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      rejectedRows++;
      continue;
    }
    const record = row as Record<string, unknown>;
    const label = recipe.label(record);
    const instance = Object.fromEntries(
      Object.entries(record).filter(([k]) => !recipe.labelColumns.includes(k)),
    );
    const parsed = recipe.featureSet.instanceSchema.safeParse(instance);
    if (label === undefined || !parsed.success) {
      rejectedRows++;
      continue;
    }
    labelled.push({ instance: parsed.data, label });
  }
  const split = splitTrainTest(labelled.length, { seed: state.seed });
  const train = Array.from(split.train, (i) => labelled[i] as LabelledRow);
  const test = Array.from(split.test, (i) => labelled[i] as LabelledRow);
  const trainInstances = train.map((row) => row.instance);
  const encoding = recipe.featureSet.fit(trainInstances);
  const fitted: FittedEncoding = {
    featureSet: recipe.featureSet.name,
    encoding,
    featureNames: recipe.featureSet.featureNames(encoding),
  };

  const files = runFiles(state.runId);
  await ports.artifacts.write(files.trainRows, toJsonLines(train), 'application/x-ndjson');
  await ports.artifacts.write(files.testRows, toJsonLines(test), 'application/x-ndjson');
  await writeJson(ports.artifacts, files.encoding, fitted);
  await writeJson(
    ports.artifacts,
    files.inputProfile,
    buildProfile({
      fields: recipe.monitoredFields,
      rows: trainInstances.map((i) => recipe.monitoredValues(i)),
    }),
  );
  return {
    trainRows: train.length,
    testRows: test.length,
    rejectedRows,
    output: s3Uri(ports.artifacts.bucket, runKey(state.runId, 'preprocess', '')),
  };
}
