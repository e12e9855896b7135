// Lambda wiring shared by the retraining steps: clients, the registry and a logger, created once
// per execution environment. Handlers stay thin: they call their core inside `retrainingStep`,
// which names transient faults for the ASL's Retry and lets every other error keep its name.
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { parseEnv } from '../config/env.ts';
import { DynamoDbModelRegistry } from '../registry/dynamodb-registry.ts';
import { stepRunner } from '../step-runner.ts';

export const s3 = new S3Client({});
export const logger = new Logger({ serviceName: 'retraining' });

let registryClient: DynamoDbModelRegistry | undefined;
/** The registry (created on first use: DescribeRetrainingOutcome has no REGISTRY_TABLE). */
export function registry(): DynamoDbModelRegistry {
  registryClient ??= new DynamoDbModelRegistry(
    DynamoDBDocumentClient.from(new DynamoDBClient({})),
    parseEnv(z.object({ REGISTRY_TABLE: z.string().min(1) })).REGISTRY_TABLE,
  );
  return registryClient;
}

/** Run a step; throttling and passing faults become TransientError, which the ASL retries. */
export const retrainingStep = stepRunner(logger);
