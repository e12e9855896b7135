// First start with an empty registry: train and register the seed model through the same
// train function `cdk deploy` creates, so a new user's first curl gets a real prediction.
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbModelRegistry } from '../functions/lib/registry/dynamodb-registry.ts';
import { localDynamoDbClient } from './emulators/dynamodb.ts';
import type { Platform, StackInfo } from './platform.ts';

/** What the stack declares about its seed model (see SEED_MODEL in the stack). */
export const SEED = { model: 'flight-delay', featureSet: 'flights-v1' } as const;

/** The stack that carries the platform (the one with a train function and a registry). */
export function platformStack(platform: Platform): StackInfo {
  const stack = platform.stacks.find((s) => s.outputs.TrainFunctionName && s.outputs.RegistryTableName);
  if (!stack) throw new Error('no stack in cdk.out declares TrainFunctionName and RegistryTableName outputs');
  return stack;
}

/** Train + promote the seed model unless it already has a Production version. */
export async function bootstrapSeedModel(
  platform: Platform,
  log: (line: string) => void,
): Promise<'existing' | 'trained'> {
  const stack = platformStack(platform);
  const registry = new DynamoDbModelRegistry(
    DynamoDBDocumentClient.from(localDynamoDbClient(platform.endpoints.dynamodb)),
    stack.outputs.RegistryTableName ?? '',
  );
  const production = await registry.getProductionVersion(SEED.model);
  if (production) return 'existing';
  log(`registry has no ${SEED.model} in Production: training it on ${stack.outputs.SeedDatasetUri} …`);
  const started = Date.now();
  const { result } = await platform.lambda.invoke(stack.outputs.TrainFunctionName ?? '', {
    model: SEED.model,
    datasetUri: stack.outputs.SeedDatasetUri,
    featureSet: SEED.featureSet,
    promote: true,
    createdBy: 'npm-start-bootstrap',
  });
  const trained = result as { version: { version: number; metrics: { test?: { auc?: number } } } };
  log(
    `trained ${SEED.model} v${trained.version.version} in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
      `(held-out AUC ${trained.version.metrics.test?.auc?.toFixed(3) ?? '?'}) and promoted it to Production`,
  );
  return 'trained';
}
