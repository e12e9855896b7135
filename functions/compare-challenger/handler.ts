// Lambda entry point of the retraining's CompareChallenger step: loads both models with the same
// onnxruntime loader serving uses.
import * as z from 'zod';
import { parseEnv } from '../lib/config/env.ts';
import { logger, registry, retrainingStep, s3 } from '../lib/retraining/retraining-handler.ts';
import { cachedModelLoader } from '../lib/serving/model-cache.ts';
import { createOnnxModelLoader } from '../lib/serving/onnx-model-loader.ts';
import { s3ObjectStore } from '../lib/storage/object-store.ts';
import { s3ObjectFetcher } from '../lib/storage/s3-objects.ts';
import { compareChallenger } from './core.ts';

const env = parseEnv(z.object({ ARTIFACTS_BUCKET: z.string().min(1) }));
// Whole holdouts are scored at once: let onnxruntime use the function's cores.
const loadModel = cachedModelLoader(createOnnxModelLoader(s3ObjectFetcher(s3), { intraOpThreads: 2 }), 4);

export const handler = (event: unknown) =>
  retrainingStep('compare', () =>
    compareChallenger(event, {
      registry: registry(),
      loadModel,
      artifacts: s3ObjectStore(s3, env.ARTIFACTS_BUCKET),
      log: (message, data) => logger.info(message, data ?? {}),
    }),
  );
