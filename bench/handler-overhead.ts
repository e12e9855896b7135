// In-process cost of the predict handler (parse, validate, encode, score, shape, log) over a
// bare `session.run` of the same artifact on the same row. Child-process entry: the handler's
// logs go to the ignored stdout; the result is sent over IPC.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Logger } from '@aws-lambda-powertools/logger';
import * as ort from 'onnxruntime-node';
import { getFeatureSet } from '../functions/lib/features/index.ts';
import { readModelMetadata } from '../functions/lib/onnx/model-metadata.ts';
import type { ModelVersion } from '../functions/lib/registry/model-version.ts';
import { cachedModelLoader } from '../functions/lib/serving/model-cache.ts';
import { createOnnxModelLoader } from '../functions/lib/serving/onnx-model-loader.ts';
import { createPredictHandler } from '../functions/predict/http.ts';

const ITERATIONS = Number(process.argv[3] ?? 20_000);
const bytes = readFileSync(process.argv[2] ?? '');
const row = { date: '2001/01/14 21:55', distance: 1200, origin: 'SFO', destination: 'LAX' };
const version = {
  model: 'flight-delay',
  version: 1,
  artifactUri: 's3://bench/model.onnx',
  artifactSha256: createHash('sha256').update(bytes).digest('hex'),
} as ModelVersion;

const handler = createPredictHandler(
  {
    resolveVersion: async () => version,
    loadModel: cachedModelLoader(createOnnxModelLoader(async () => bytes)),
  },
  new Logger({ serviceName: 'predict' }),
);
const event = {
  body: JSON.stringify({ instances: [row] }),
  isBase64Encoded: false,
  pathParameters: { model: 'flight-delay' },
  requestContext: { requestId: 'bench' },
} as never;

const metadata = readModelMetadata(bytes);
const featureSet = getFeatureSet(metadata['mlops.featureSet'] ?? '');
const encoding: unknown = JSON.parse(metadata['mlops.encoding'] ?? 'null');
const width = featureSet?.featureNames(encoding).length ?? 0;
const session = await ort.InferenceSession.create(bytes, {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
});
const features = featureSet?.encode([row], encoding) ?? new Float32Array();

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 2_000; i++) await fn(); // warm-up: JIT, caches
  const t0 = performance.now();
  for (let i = 0; i < ITERATIONS; i++) await fn();
  return ((performance.now() - t0) * 1000) / ITERATIONS; // µs per call
}

// Interleave the two measurements twice to spread machine noise over both.
const bare1 = await timeIt(() => session.run({ features: new ort.Tensor('float32', features, [1, width]) }));
const full1 = await timeIt(() => handler(event, { awsRequestId: 'bench' }));
const bare2 = await timeIt(() => session.run({ features: new ort.Tensor('float32', features, [1, width]) }));
const full2 = await timeIt(() => handler(event, { awsRequestId: 'bench' }));
const bareUs = Math.min(bare1, bare2);
const handlerUs = Math.min(full1, full2);
process.send?.({ iterations: ITERATIONS, bareUs, handlerUs, overheadUs: handlerUs - bareUs });
