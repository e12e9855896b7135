// Lambda entry point of the training pipeline's Evaluate step: loads the trained artifact with
// the same onnxruntime loader serving uses.
import type { ModelVersion } from '../lib/registry/model-version.ts';
import { pipelineHandler, s3 } from '../lib/runs/pipeline-handler.ts';
import { createOnnxModelLoader } from '../lib/serving/onnx-model-loader.ts';
import { s3ObjectFetcher } from '../lib/storage/s3-objects.ts';
import { evaluate } from './core.ts';

// Whole test sets are scored at once: let onnxruntime use the function's cores.
const loadModel = createOnnxModelLoader(s3ObjectFetcher(s3), { intraOpThreads: 2 });

export const handler = pipelineHandler('evaluate', (state, ports) =>
  evaluate(state, {
    ...ports,
    // Not registered yet: the loader only reads the artifact's location, checksum and name.
    loadModel: ({ uri, sha256, model }) =>
      loadModel({
        model,
        version: 0,
        artifactUri: uri,
        artifactSha256: sha256,
        featureSet: state.featureSet,
      } as ModelVersion),
  }),
);
