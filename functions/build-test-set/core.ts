// Pipeline step BuildTestSet (runs beside TrainModel): encodes the held-out rows with the
// train-side encoding and tags each with its subgroup, ready for Evaluate to score.
import type { StepPorts } from '../lib/runs/pipeline-step.ts';
import { runFiles } from '../lib/runs/run-files.ts';
import { loadEncodedRows } from '../lib/runs/run-inputs.ts';
import type { TestSetResult } from '../lib/runs/step-results.ts';
import type { PipelineState } from '../lib/runs/training-run.ts';
import { writeJson } from '../lib/storage/object-store.ts';

export type BuildTestSetPorts = Pick<StepPorts, 'artifacts'>;

/** The test set's description; its features sit beside it as little-endian float32 (`features.f32`). */
export interface TestSetFile {
  readonly featureNames: string[];
  readonly rows: number;
  readonly labels: number[];
  readonly subgroupColumn: string;
  readonly subgroups: string[];
  /** Key of the row-major float32 feature matrix. */
  readonly featuresKey: string;
}

export async function buildTestSet(state: PipelineState, ports: BuildTestSetPorts): Promise<TestSetResult> {
  const test = await loadEncodedRows(ports.artifacts, state.runId, 'test');
  const column = state.subgroupColumn ?? test.recipe.defaultSubgroup;
  const slice = test.recipe.subgroups[column];
  if (!slice) throw new Error(`recipe ${test.fitted.featureSet} has no subgroup "${column}"`);
  const files = runFiles(state.runId);
  const features = Buffer.from(test.x.buffer, test.x.byteOffset, test.x.byteLength);
  await ports.artifacts.write(files.testFeatures, features, 'application/octet-stream');
  const testSet: TestSetFile = {
    featureNames: test.fitted.featureNames,
    rows: test.rows.length,
    labels: Array.from(test.labels),
    subgroupColumn: column,
    subgroups: test.rows.map((r) => slice(r.instance)),
    featuresKey: files.testFeatures,
  };
  const output = await writeJson(ports.artifacts, files.testSet, testSet);
  return { rows: test.rows.length, subgroupColumn: column, output };
}
