// First start with an empty registry: train the seed model through the training pipeline (the
// same state machine and step functions `cdk deploy` creates) and promote it, so a new user's
// first curl gets a real prediction.

import { fileURLToPath } from 'node:url';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { gitCommitOf } from '../cli/git-commit.ts';
import { followTrainingRun, formatStep, newRunId, startTrainingRun } from '../cli/pipeline-client.ts';
import { DynamoDbModelRegistry } from '../functions/lib/registry/dynamodb-registry.ts';
import { DynamoDbRunLog } from '../functions/lib/runs/dynamodb-run-log.ts';
import { localDynamoDbClient } from './emulators/dynamodb.ts';
import { LOCAL_CREDENTIALS } from './emulators/local-aws.ts';
import type { Platform, StackInfo } from './platform.ts';
import { DEFAULT_LOCAL_REGION } from './template/pseudo-parameters.ts';

/** What the stack declares about its seed model (see SEED_MODEL in the stack). */
export const SEED = { model: 'flight-delay', featureSet: 'flights-v1' } as const;

/** The stack that carries the platform (the one with a training pipeline and a registry). */
export function platformStack(platform: Platform): StackInfo {
  const stack = platform.stacks.find((s) => s.outputs.TrainingPipelineArn && s.outputs.RegistryTableName);
  if (!stack)
    throw new Error('no stack in cdk.out declares TrainingPipelineArn and RegistryTableName outputs');
  return stack;
}

/** Train + promote the seed model unless it already has a Production version. */
export async function bootstrapSeedModel(
  platform: Platform,
  log: (line: string) => void,
): Promise<'existing' | 'trained'> {
  const stack = platformStack(platform);
  const db = DynamoDBDocumentClient.from(localDynamoDbClient(platform.endpoints.dynamodb));
  const registry = new DynamoDbModelRegistry(db, stack.outputs.RegistryTableName ?? '');
  if (await registry.getProductionVersion(SEED.model)) return 'existing';
  const datasetUri = stack.outputs.SeedDatasetUri ?? '';
  log(`registry has no ${SEED.model} in Production: running the training pipeline on ${datasetUri} …`);
  const started = Date.now();
  const clients = {
    sfn: new SFNClient({
      endpoint: platform.baseUrl,
      region: DEFAULT_LOCAL_REGION,
      credentials: { ...LOCAL_CREDENTIALS },
    }),
    runLog: new DynamoDbRunLog(db, stack.outputs.RunsTableName ?? ''),
  };
  const runId = newRunId(SEED.model);
  const gitCommit = gitCommitOf(fileURLToPath(new URL('..', import.meta.url)));
  const executionArn = await startTrainingRun(clients, stack.outputs.TrainingPipelineArn ?? '', {
    runId,
    model: SEED.model,
    datasetUri,
    featureSet: SEED.featureSet,
    requestedBy: 'npm-start-bootstrap',
    ...(gitCommit ? { gitCommit } : {}),
  });
  const outcome = await followTrainingRun(clients, { executionArn, runId }, (step) => log(formatStep(step)));
  if (outcome.status !== 'SUCCEEDED' || !outcome.registration)
    throw new Error(
      `the seed training run ${runId} failed at ${outcome.run?.failedStep ?? '?'}: ${outcome.run?.error?.message ?? outcome.cause ?? outcome.status}`,
    );
  const promoted = await registry.promoteToProduction(SEED.model, outcome.registration.version, {
    actor: 'npm-start-bootstrap',
    reason: 'bootstrap: first model of an empty registry',
  });
  const auc = (promoted.metrics.test as { auc?: number } | undefined)?.auc;
  log(
    `trained ${SEED.model} v${promoted.version} (run ${runId}) in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
      `(held-out AUC ${auc?.toFixed(3) ?? '?'}) and promoted it to Production`,
  );
  return 'trained';
}
