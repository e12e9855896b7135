// Pipeline step ImportContainerModel (after a SageMaker training job): unpacks the job's
// model.tar.gz, checks that model.onnx honours the serving contract (the run's feature set and
// input columns in its metadata), and puts it where TrainModel would have: runs/{runId}/train/.
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import * as z from 'zod';
import { InvalidRequest } from '../lib/errors.ts';
import { MODEL_METADATA_KEYS, readModelMetadata } from '../lib/onnx/model-metadata.ts';
import type { StepPorts } from '../lib/runs/pipeline-step.ts';
import { type FittedEncoding, runFiles } from '../lib/runs/run-files.ts';
import { stepResult, type TrainResult } from '../lib/runs/step-results.ts';
import type { PipelineState } from '../lib/runs/training-run.ts';
import { readJson } from '../lib/storage/object-store.ts';
import { readTar } from '../lib/storage/tar.ts';

const ContainerJob = z.object({ modelArtifactsUri: z.string(), trainingJobName: z.string() });

export type ImportPorts = Pick<StepPorts, 'artifacts' | 'readObject'>;

export async function importContainerModel(state: PipelineState, ports: ImportPorts): Promise<TrainResult> {
  const job = stepResult(ContainerJob, state.containerJob, 'SageMaker training job result');
  const archive = await ports.readObject(job.modelArtifactsUri);
  let files: Map<string, Uint8Array>;
  try {
    files = readTar(gunzipSync(archive));
  } catch (err) {
    throw new InvalidRequest(
      `${job.modelArtifactsUri} is not a gzipped tar archive: ${(err as Error).message}`,
    );
  }
  const modelBytes = files.get('model.onnx');
  if (!modelBytes)
    throw new InvalidRequest(
      `training job ${job.trainingJobName} wrote no model.onnx to /opt/ml/model (found: ${[...files.keys()].join(', ') || 'nothing'})`,
    );
  const fitted = await readJson<FittedEncoding>(ports.artifacts, runFiles(state.runId).encoding);
  let metadata: Record<string, string>;
  try {
    metadata = readModelMetadata(modelBytes);
  } catch (err) {
    throw new InvalidRequest(
      `model.onnx of ${job.trainingJobName} is not an ONNX model: ${(err as Error).message}`,
    );
  }
  if (metadata[MODEL_METADATA_KEYS.featureSet] !== fitted.featureSet)
    throw new InvalidRequest(
      `model.onnx of ${job.trainingJobName} declares feature set "${metadata[MODEL_METADATA_KEYS.featureSet] ?? ''}", the run uses "${fitted.featureSet}" (metadata key ${MODEL_METADATA_KEYS.featureSet})`,
    );
  if (metadata[MODEL_METADATA_KEYS.featureNames] !== JSON.stringify(fitted.featureNames))
    throw new InvalidRequest(
      `model.onnx of ${job.trainingJobName} does not declare the run's input columns in ${MODEL_METADATA_KEYS.featureNames} (copy them from encoding.json)`,
    );
  const modelUri = await ports.artifacts.write(
    runFiles(state.runId).model,
    modelBytes,
    'application/octet-stream',
  );
  return {
    modelUri,
    modelSha256: createHash('sha256').update(modelBytes).digest('hex'),
    trainer: 'container',
    params: {
      image: state.container?.image ?? 'unknown',
      trainingJob: job.trainingJobName,
      splitSeed: state.seed,
    },
    output: modelUri,
  };
}
