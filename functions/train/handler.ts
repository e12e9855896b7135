// Lambda entry point for training: fits a model on a dataset in S3 and registers it.
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { parseEnv } from '../lib/config/env.ts';
import { InvalidRequest } from '../lib/errors.ts';
import { DynamoDbModelRegistry } from '../lib/registry/dynamodb-registry.ts';
import { ModelName } from '../lib/schemas/model-name.ts';
import { toFieldIssues } from '../lib/schemas/zod-issues.ts';
import { s3Uri } from '../lib/storage/s3-layout.ts';
import { putObject, s3ObjectFetcher } from '../lib/storage/s3-objects.ts';
import { TRAINERS } from '../lib/training/train-classifier.ts';
import { trainAndRegister } from './core.ts';

const env = parseEnv(z.object({ REGISTRY_TABLE: z.string().min(1), ARTIFACTS_BUCKET: z.string().min(1) }));

const TrainEvent = z
  .object({
    model: ModelName,
    datasetUri: z.string().startsWith('s3://'),
    featureSet: z.string().min(1),
    trainer: z.enum(TRAINERS).optional(),
    params: z.record(z.string(), z.number()).optional(),
    seed: z.number().int().optional(),
    runId: z
      .string()
      .regex(/^[A-Za-z0-9-_]{1,80}$/)
      .optional(),
    promote: z.boolean().optional(),
    createdBy: z.string().max(200).optional(),
  })
  .strict();

const logger = new Logger({ serviceName: 'train' });
const s3 = new S3Client({});
const readObject = s3ObjectFetcher(s3);
const registry = new DynamoDbModelRegistry(
  DynamoDBDocumentClient.from(new DynamoDBClient({})),
  env.REGISTRY_TABLE,
);

export const handler = async (event: unknown) => {
  const parsed = TrainEvent.safeParse(event);
  if (!parsed.success) throw new InvalidRequest('invalid training request', toFieldIssues(parsed.error));
  const result = await trainAndRegister(parsed.data, {
    registry,
    readDataset: async (uri) => {
      try {
        return await readObject(uri);
      } catch (err) {
        const name = (err as Error).name;
        if (name === 'NoSuchKey' || name === 'NoSuchBucket')
          throw new InvalidRequest(`dataset ${uri} does not exist`);
        throw err;
      }
    },
    writeArtifact: async (key, body, contentType) => {
      await putObject(s3, env.ARTIFACTS_BUCKET, key, body, contentType);
      return s3Uri(env.ARTIFACTS_BUCKET, key);
    },
    log: (message, data) => logger.info(message, data ?? {}),
  });
  logger.info('registered', {
    runId: result.runId,
    model: result.version.model,
    modelVersion: result.version.version,
    durationMs: result.durationMs,
  });
  return result;
};
