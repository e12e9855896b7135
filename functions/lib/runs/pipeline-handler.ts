// Lambda wiring shared by the training pipeline's step functions: configuration, clients and
// the run log, created once per execution environment; each step's handler.ts adds its core.
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { parseEnv } from '../config/env.ts';
import { InvalidRequest } from '../errors.ts';
import { s3ObjectStore } from '../storage/object-store.ts';
import { parseS3Uri } from '../storage/s3-layout.ts';
import { DynamoDbRunLog } from './dynamodb-run-log.ts';
import { runPipelineStep, type StepOutcome, type StepPorts } from './pipeline-step.ts';
import type { PipelineState, PipelineStep } from './training-run.ts';

const env = parseEnv(z.object({ ARTIFACTS_BUCKET: z.string().min(1), RUNS_TABLE: z.string().min(1) }));

/** Clients shared by every step of one execution environment. */
export const s3 = new S3Client({});
export const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({}));
/** The run log every step records itself in. */
export const runLog = new DynamoDbRunLog(documentClient, env.RUNS_TABLE);

/** A Lambda handler running `core` as pipeline step `step`. */
export function pipelineHandler<T extends StepOutcome>(
  step: PipelineStep,
  core: (state: PipelineState, ports: StepPorts) => Promise<T>,
): (event: unknown) => Promise<T> {
  const logger = new Logger({ serviceName: `pipeline-${step}` });
  const log = (message: string, data?: Record<string, unknown>) => logger.info(message, data ?? {});
  const ports: StepPorts = {
    artifacts: s3ObjectStore(s3, env.ARTIFACTS_BUCKET),
    async readObject(uri) {
      const { bucket, key } = parseS3Uri(uri);
      try {
        return await s3ObjectStore(s3, bucket).read(key);
      } catch (err) {
        const name = (err as Error).name;
        if (name === 'NoSuchKey' || name === 'NoSuchBucket')
          throw new InvalidRequest(`${uri} does not exist`);
        throw err;
      }
    },
    log,
    runLog,
  };
  return (event) => runPipelineStep(step, event, { runLog, log }, (state) => core(state, ports));
}
