// Lambda entry point for `POST /models/{model}/predict`: wires AWS clients to the use case.
// Invoked on its `shadow` alias with a shadow copy instead, it scores the copy as the challenger.
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import * as z from 'zod';
import { createCaptureSink } from '../lib/capture/capture-sink.ts';
import { jsonEnv, parseEnv } from '../lib/config/env.ts';
import { writeEmf } from '../lib/metrics/emf.ts';
import { DynamoDbModelRegistry } from '../lib/registry/dynamodb-registry.ts';
import { cachedShadowLookup, DynamoDbShadowConfigStore } from '../lib/releases/shadow-config.ts';
import { isShadowCopyEvent, lambdaShadowCopySender, type ShadowCopy } from '../lib/releases/shadow-copy.ts';
import { cachedModelLoader } from '../lib/serving/model-cache.ts';
import { createOnnxModelLoader } from '../lib/serving/onnx-model-loader.ts';
import { createVersionResolver } from '../lib/serving/version-resolver.ts';
import { s3ObjectFetcher } from '../lib/storage/s3-objects.ts';
import { createPredictHandler } from './http.ts';
import { createShadowCopyHandler, createShadowDispatcher, type ShadowOutcome } from './shadow.ts';

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
    /**
     * This function's alias that runs shadow challengers (`shadow`); unset: no shadow copies.
     * An alias name, not an ARN: the function cannot reference its own alias in CloudFormation.
     */
    SHADOW_ALIAS: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .optional(),
    /** Set by Lambda: the function the shadow alias belongs to. */
    AWS_LAMBDA_FUNCTION_NAME: z.string().min(1).optional(),
    /** Longest an answer waits for its shadow copy to be handed over (see ShadowDispatchPorts). */
    SHADOW_SEND_BUDGET_MS: z.coerce.number().int().nonnegative().default(0),
  }),
);
if (env.SHADOW_ALIAS !== undefined && env.AWS_LAMBDA_FUNCTION_NAME === undefined)
  throw new Error('invalid function configuration: SHADOW_ALIAS is set but AWS_LAMBDA_FUNCTION_NAME is not');

const logger = new Logger({ serviceName: 'predict' });
const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const registry = new DynamoDbModelRegistry(documentClient, env.REGISTRY_TABLE);
// Capture records and metrics are log lines on stdout: Lambda ships them, nothing waits on them.
const stdout = (text: string) => {
  process.stdout.write(text);
};

const ports = {
  resolveVersion: createVersionResolver(registry, {
    pins: env.MODEL_VERSION_PINS,
    ttlMs: env.REGISTRY_CACHE_TTL_MS,
  }),
  loadModel: cachedModelLoader(createOnnxModelLoader(s3ObjectFetcher(new S3Client({})))),
};
const observers = {
  functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
  capture: createCaptureSink({ sampleRate: env.CAPTURE_SAMPLE_RATE, write: stdout }),
  emitMetrics: (entries: Parameters<typeof writeEmf>[0]) => writeEmf(entries, stdout),
  clock: () => new Date(),
};

const shadow =
  env.SHADOW_ALIAS !== undefined && env.AWS_LAMBDA_FUNCTION_NAME !== undefined
    ? createShadowDispatcher(
        {
          lookup: cachedShadowLookup(new DynamoDbShadowConfigStore(documentClient, env.REGISTRY_TABLE), {
            ttlMs: env.REGISTRY_CACHE_TTL_MS,
          }),
          // One attempt with short timeouts: a retry could queue a copy twice, and no copy is
          // worth holding an environment for.
          send: lambdaShadowCopySender(
            new LambdaClient({
              maxAttempts: 1,
              requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
            }),
            { functionName: env.AWS_LAMBDA_FUNCTION_NAME, qualifier: env.SHADOW_ALIAS },
          ),
          sendBudgetMs: env.SHADOW_SEND_BUDGET_MS,
        },
        logger,
        observers,
      )
    : undefined;

const predictHandler = createPredictHandler(ports, logger, { ...observers, ...(shadow ? { shadow } : {}) });
const shadowCopyHandler = createShadowCopyHandler(ports, logger, observers);

/** API Gateway's proxy event → the prediction; a shadow copy (on the `shadow` alias) → the challenger's run. */
export function handler(event: ShadowCopy, context: Pick<Context, 'awsRequestId'>): Promise<ShadowOutcome>;
export function handler(
  event: APIGatewayProxyEvent,
  context: Pick<Context, 'awsRequestId'>,
): Promise<APIGatewayProxyResult>;
export function handler(
  event: APIGatewayProxyEvent | ShadowCopy,
  context: Pick<Context, 'awsRequestId'>,
): Promise<APIGatewayProxyResult | ShadowOutcome> {
  return isShadowCopyEvent(event)
    ? shadowCopyHandler(event, context)
    : predictHandler(event as APIGatewayProxyEvent, context);
}
