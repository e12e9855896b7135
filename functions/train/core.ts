// Pipeline step TrainModel: fits the run's trainer on the encoded train split and writes the
// ONNX artifact (with the metadata serving needs) and the training summary. Deterministic: the
// same run gives the same bytes, so a retry overwrites its output with identical files.
import { createHash } from 'node:crypto';
import { InvalidRequest } from '../lib/errors.ts';
import type { StepPorts } from '../lib/runs/pipeline-step.ts';
import { runFiles } from '../lib/runs/run-files.ts';
import { loadEncodedRows } from '../lib/runs/run-inputs.ts';
import type { TrainResult } from '../lib/runs/step-results.ts';
import type { PipelineState } from '../lib/runs/training-run.ts';
import { writeJson } from '../lib/storage/object-store.ts';
import { evaluateBinary } from '../lib/training/metrics.ts';
import { classifierMetadata, DECISION_THRESHOLD, fitClassifier } from '../lib/training/train-classifier.ts';

export type TrainPorts = Pick<StepPorts, 'artifacts' | 'log'>;

export async function trainModel(state: PipelineState, ports: TrainPorts): Promise<TrainResult> {
  if (state.trainer === 'container')
    throw new InvalidRequest('trainer "container" runs as a SageMaker training job, not in this function');
  const train = await loadEncodedRows(ports.artifacts, state.runId, 'train');
  const { fitted } = train;
  ports.log('training', { runId: state.runId, trainer: state.trainer, rows: train.rows.length });
  const model = fitClassifier({
    x: train.x,
    labels: train.labels,
    featureNames: fitted.featureNames,
    trainer: state.trainer,
    params: state.params,
    seed: state.seed,
    metadata: classifierMetadata({
      featureSet: fitted.featureSet,
      encoding: fitted.encoding,
      featureNames: fitted.featureNames,
      modelName: state.model,
    }),
  });
  const files = runFiles(state.runId);
  const modelUri = await ports.artifacts.write(files.model, model.modelBytes, 'application/octet-stream');
  // The run's seed chose the split (and the trees' early-stopping slice); gbdt has its own `seed`.
  const params = { ...model.params, splitSeed: state.seed };
  await writeJson(ports.artifacts, files.training, {
    trainer: model.trainer,
    params,
    rows: train.rows.length,
    featureNames: fitted.featureNames,
    train: evaluateBinary(model.predict(train.x), train.labels, DECISION_THRESHOLD),
  });
  return {
    modelUri,
    modelSha256: createHash('sha256').update(model.modelBytes).digest('hex'),
    trainer: model.trainer,
    params,
    output: modelUri,
  };
}
