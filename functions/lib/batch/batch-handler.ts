// Lambda wiring shared by the batch-scoring steps: clients and the registry, created once per
// execution environment (the model loader, which needs the onnxruntime layer, is in scoring-ports.ts). Handlers stay thin: they
// parse their event, call their core, and let `batchStep` name transient faults for the ASL.
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { parseEnv } from '../config/env.ts';
import { DynamoDbModelRegistry } from '../registry/dynamodb-registry.ts';
import { stepRunner } from '../step-runner.ts';
import { type ObjectStore, s3ObjectStore } from '../storage/object-store.ts';

export const s3 = new S3Client({});

let registryClient: DynamoDbModelRegistry | undefined;
/** The registry, for the steps that read it (created on first use: Finalize has no REGISTRY_TABLE). */
export function registry(): DynamoDbModelRegistry {
  registryClient ??= new DynamoDbModelRegistry(
    DynamoDBDocumentClient.from(new DynamoDBClient({})),
    parseEnv(z.object({ REGISTRY_TABLE: z.string().min(1) })).REGISTRY_TABLE,
  );
  return registryClient;
}
export const logger = new Logger({ serviceName: 'batch-scoring' });

/** The bucket a plan reads and writes (the data bucket). */
export const dataStore = (bucket: string): ObjectStore => s3ObjectStore(s3, bucket);

/** Run a step; throttling and passing faults become TransientError, which the ASL retries. */
export const batchStep = stepRunner(logger);
