// `mlops train`: starts a training pipeline run (local or AWS, the same Step Functions call),
// shows each step as it progresses, and ends with the run id and the registered version — or
// the failing step and its reason, with a non-zero exit.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbModelRegistry } from '../../functions/lib/registry/dynamodb-registry.ts';
import { DynamoDbRunLog } from '../../functions/lib/runs/dynamodb-run-log.ts';
import { RunId } from '../../functions/lib/runs/training-run.ts';
import { ModelName } from '../../functions/lib/schemas/model-name.ts';
import { DATASETS_PREFIX, s3Uri } from '../../functions/lib/storage/s3-layout.ts';
import { num } from '../format.ts';
import { gitCommitOf } from '../git-commit.ts';
import {
  followTrainingRun,
  formatStep,
  newRunId,
  type PipelineClients,
  startTrainingRun,
} from '../pipeline-client.ts';
import { clientOptions, type Target } from '../target.ts';

export interface TrainArgs {
  readonly model: string;
  /** `s3://…` or a local file, uploaded to the data bucket first. */
  readonly dataset?: string;
  readonly featureSet: string;
  readonly trainer?: string;
  readonly runId?: string;
  readonly params?: string;
  readonly subgroup?: string;
  readonly minAuc?: string;
  readonly image?: string;
  readonly promote: boolean;
  readonly json: boolean;
}

/** Clients for the pipeline on `target`. */
export function pipelineClients(target: Target): PipelineClients {
  const tableName = target.outputs.RunsTableName;
  if (!tableName) throw new Error('the stack has no RunsTableName output (deploy or start a newer platform)');
  return {
    sfn: new SFNClient(clientOptions(target, 'sfn')),
    runLog: new DynamoDbRunLog(
      DynamoDBDocumentClient.from(new DynamoDBClient(clientOptions(target, 'dynamodb'))),
      tableName,
    ),
  };
}

/** A local file goes to `datasets/uploads/{sha256 prefix}/{name}` in the data bucket (overwrite-by-key). */
async function datasetUriFor(target: Target, dataset: string | undefined): Promise<string> {
  if (!dataset) {
    const seed = target.outputs.SeedDatasetUri;
    if (!seed) throw new Error('no --dataset given and the stack has no SeedDatasetUri output');
    return seed;
  }
  if (dataset.startsWith('s3://')) return dataset;
  const bucket = target.outputs.DataBucketName;
  if (!bucket) throw new Error('the stack has no DataBucketName output to upload the dataset to');
  const body = readFileSync(dataset);
  const key = `${DATASETS_PREFIX}uploads/${createHash('sha256').update(body).digest('hex').slice(0, 16)}/${basename(dataset)}`;
  await new S3Client(clientOptions(target, 's3')).send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }),
  );
  console.error(`uploaded ${dataset} → ${s3Uri(bucket, key)}`);
  return s3Uri(bucket, key);
}

function parseParams(text: string | undefined): Record<string, number> | undefined {
  if (text === undefined) return undefined;
  const parsed = JSON.parse(text) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`--params must be a JSON object of numbers, e.g. '{"l2":0.5}'`);
  return parsed as Record<string, number>;
}

export async function trainCommand(target: Target, args: TrainArgs): Promise<number> {
  const stateMachineArn = target.outputs.TrainingPipelineArn;
  if (!stateMachineArn) throw new Error('the stack has no TrainingPipelineArn output');
  // Refused here with the platform's own rules, not as an opaque "Invalid Name" from StartExecution.
  const model = ModelName.safeParse(args.model);
  if (!model.success) throw new Error(`--model "${args.model}": ${model.error.issues[0]?.message}`);
  const runId = args.runId ?? newRunId(args.model);
  const validRunId = RunId.safeParse(runId);
  if (!validRunId.success) throw new Error(`--run-id "${runId}": ${validRunId.error.issues[0]?.message}`);
  const clients = pipelineClients(target);
  const datasetUri = await datasetUriFor(target, args.dataset);
  const params = parseParams(args.params);
  const gitCommit = gitCommitOf();
  const request = {
    runId,
    model: args.model,
    datasetUri,
    featureSet: args.featureSet,
    requestedBy: `mlops-cli (${process.env.USER ?? 'unknown user'})`,
    ...(gitCommit ? { gitCommit } : {}),
    ...(args.trainer ? { trainer: args.trainer as 'logreg' } : {}),
    ...(params ? { params } : {}),
    ...(args.subgroup ? { subgroupColumn: args.subgroup } : {}),
    ...(args.minAuc
      ? { gates: { minAuc: Number(args.minAuc), maxSubgroupAucGap: 0.1, minSubgroupRows: 200 } }
      : {}),
    ...(args.image
      ? { container: { image: args.image, instanceType: 'ml.m5.xlarge', maxRuntimeSeconds: 3600 } }
      : {}),
  };
  const executionArn = await startTrainingRun(clients, stateMachineArn, request);
  if (!args.json)
    console.error(`run ${runId}: training ${args.model} (${args.trainer ?? 'logreg'}) on ${datasetUri}`);
  const outcome = await followTrainingRun(clients, { executionArn, runId }, (step) => {
    if (!args.json) console.error(formatStep(step));
  });
  if (outcome.status !== 'SUCCEEDED' || !outcome.registration) {
    const step = outcome.run?.failedStep ?? 'unknown step';
    const reason = outcome.run?.error
      ? `${outcome.run.error.name}: ${outcome.run.error.message}`
      : `${outcome.error ?? outcome.status}: ${outcome.cause ?? ''}`;
    if (args.json)
      console.log(JSON.stringify({ runId, status: outcome.status, failedStep: step, reason }, null, 2));
    else console.error(`run ${runId} failed at step ${step}: ${reason}`);
    return 1;
  }
  const registry = new DynamoDbModelRegistry(
    DynamoDBDocumentClient.from(new DynamoDBClient(clientOptions(target, 'dynamodb'))),
    target.outputs.RegistryTableName ?? '',
  );
  let version = await registry.getVersion(args.model, outcome.registration.version);
  if (args.promote && version) {
    version = await registry.promoteToProduction(args.model, version.version, {
      actor: request.requestedBy,
      reason: `mlops train --promote (run ${runId})`,
    });
  }
  if (args.json) {
    console.log(JSON.stringify({ runId, status: outcome.status, version }, null, 2));
    return 0;
  }
  const test = version?.metrics.test as { auc?: number; logLoss?: number } | undefined;
  console.log(
    `run ${runId} → ${args.model} v${outcome.registration.version} (${version?.stage ?? outcome.registration.stage}), test AUC ${num(test?.auc)}, log loss ${num(test?.logLoss)}`,
  );
  return 0;
}
