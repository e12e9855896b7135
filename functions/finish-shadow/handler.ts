// Lambda entry point of the release state machine's FinishShadow step (strategy `shadow`).
import { Logger } from '@aws-lambda-powertools/logger';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { s3CaptureObjects } from '../drift-check/adapters.ts';
import { parseEnv } from '../lib/config/env.ts';
import { DynamoDbShadowConfigStore, SHADOW_ALIAS_NAME } from '../lib/releases/shadow-config.ts';
import { stepRunner } from '../lib/step-runner.ts';
import { s3ObjectStore } from '../lib/storage/object-store.ts';
import { cloudWatchChallengerErrors } from './adapters.ts';
import { finishShadow } from './core.ts';

const env = parseEnv(
  z.object({
    REGISTRY_TABLE: z.string().min(1),
    DATA_BUCKET: z.string().min(1),
    ARTIFACTS_BUCKET: z.string().min(1),
    PREDICT_FUNCTION_NAME: z.string().min(1),
    SHADOW_ALIAS: z.string().min(1).default(SHADOW_ALIAS_NAME),
  }),
);

const logger = new Logger({ serviceName: 'finish-shadow' });
const runStep = stepRunner(logger);
const s3 = new S3Client({});

const ports = {
  shadows: new DynamoDbShadowConfigStore(
    DynamoDBDocumentClient.from(new DynamoDBClient({})),
    env.REGISTRY_TABLE,
  ),
  captures: s3CaptureObjects(s3, env.DATA_BUCKET),
  reports: s3ObjectStore(s3, env.ARTIFACTS_BUCKET),
  countChallengerErrors: cloudWatchChallengerErrors(new CloudWatchClient({}), {
    functionName: env.PREDICT_FUNCTION_NAME,
    shadowAlias: env.SHADOW_ALIAS,
  }),
  now: () => new Date(),
  log: (message: string, data?: Record<string, unknown>) => logger.info(message, data ?? {}),
};

/** Input and output: see FinishShadowInput and ShadowFinished in core.ts. */
export const handler = (event: unknown) => runStep('finish-shadow', () => finishShadow(event, ports));
