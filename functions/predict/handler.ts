// Lambda entry point for `POST /models/{model}/predict`: wires AWS clients to the use case.
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { createCaptureSink } from '../lib/capture/capture-sink.ts';
import { jsonEnv, parseEnv } from '../lib/config/env.ts';
import { writeEmf } from '../lib/metrics/emf.ts';
import { DynamoDbModelRegistry } from '../lib/registry/dynamodb-registry.ts';
import { cachedModelLoader } from '../lib/serving/model-cache.ts';
import { createOnnxModelLoader } from '../lib/serving/onnx-model-loader.ts';
import { createVersionResolver } from '../lib/serving/version-resolver.ts';
import { s3ObjectFetcher } from '../lib/storage/s3-objects.ts';
import { createPredictHandler } from './http.ts';

const env = parseEnv(
  z.object({
    REGISTRY_TABLE: z.string().min(1),
    /** JSON `{ "model": version }`: set on a published function version to pin its model version. */
    MODEL_VERSION_PINS: jsonEnv(z.record(z.string(), z.number().int().positive())).optional(),
    REGISTRY_CACHE_TTL_MS: z.coerce.number().int().nonnegative().default(5_000),
    /** Share of requests captured for drift monitoring, 0–1 (0: off). */
    CAPTURE_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(1),
    /** Set by Lambda. */
    AWS_LAMBDA_FUNCTION_VERSION: z.string().default('$LATEST'),
  }),
);

const logger = new Logger({ serviceName: 'predict' });
const registry = new DynamoDbModelRegistry(
  DynamoDBDocumentClient.from(new DynamoDBClient({})),
  env.REGISTRY_TABLE,
);
// Capture records and metrics are log lines on stdout: Lambda ships them, nothing waits on them.
const stdout = (text: string) => {
  process.stdout.write(text);
};

export const handler = createPredictHandler(
  {
    resolveVersion: createVersionResolver(registry, {
      pins: env.MODEL_VERSION_PINS,
      ttlMs: env.REGISTRY_CACHE_TTL_MS,
    }),
    loadModel: cachedModelLoader(createOnnxModelLoader(s3ObjectFetcher(new S3Client({})))),
  },
  logger,
  {
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    capture: createCaptureSink({ sampleRate: env.CAPTURE_SAMPLE_RATE, write: stdout }),
    emitMetrics: (entries) => writeEmf(entries, stdout),
  },
);
