// The registry against dynalite (the local runtime's DynamoDB): conditional writes are the
// point of this module, so they are checked against a real implementation, not a mock.
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, ModelNotFound } from '../../../../../functions/lib/errors.ts';
import { DynamoDbModelRegistry } from '../../../../../functions/lib/registry/dynamodb-registry.ts';
import type { NewModelVersion } from '../../../../../functions/lib/registry/model-version.ts';
import { localDynamoDbClient, startDynamoDb } from '../../../../../local/emulators/dynamodb.ts';

let db: Awaited<ReturnType<typeof startDynamoDb>>;
let client: DynamoDBDocumentClient;
let registry: DynamoDbModelRegistry;
let tableCount = 0;

const lineage = (version: number, runId = `run-${version}`): NewModelVersion => ({
  model: 'm',
  version,
  artifactUri: `s3://a/models/m/${version}/model.onnx`,
  artifactSha256: 'f'.repeat(64),
  featureSet: 'flights-v1',
  trainingRunId: runId,
  datasetUri: 's3://d/datasets/x.json',
  datasetSha256: 'e'.repeat(64),
  params: { l2: 1 },
  metrics: { test: { auc: 0.7 } },
  createdBy: 'test',
});

async function register(runId: string) {
  const version = await registry.allocateVersion('m', runId);
  return registry.registerVersion(lineage(version, runId));
}

beforeAll(async () => {
  db = await startDynamoDb({ port: 0 });
  client = DynamoDBDocumentClient.from(localDynamoDbClient(db.endpoint));
});

afterAll(async () => {
  await db?.stop();
});

beforeEach(async () => {
  const tableName = `registry-${++tableCount}`;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
    }),
  );
  registry = new DynamoDbModelRegistry(client, tableName);
});

describe('DynamoDbModelRegistry', () => {
  it('registers versions as Staging with increasing numbers', async () => {
    const first = await register('a');
    const second = await register('b');
    expect([first.version, second.version]).toEqual([1, 2]);
    expect(first.stage).toBe('Staging');
    expect(await registry.getModel('m')).toMatchObject({ latestVersion: 2, stageRevision: 0 });
  });

  it('gives a retried training run the same version number', async () => {
    const first = await registry.allocateVersion('m', 'same-run');
    const again = await registry.allocateVersion('m', 'same-run');
    expect(again).toBe(first);
    const concurrent = await Promise.all(
      Array.from({ length: 5 }, () => registry.allocateVersion('m', 'race-run')),
    );
    expect(new Set(concurrent).size).toBe(1);
  });

  it('keeps the first registration when a version is registered twice', async () => {
    const first = await register('a');
    const again = await registry.registerVersion({
      ...lineage(first.version, 'a'),
      createdBy: 'someone-else',
    });
    expect(again.createdBy).toBe('test');
    expect(await registry.listVersions('m')).toHaveLength(1);
  });

  it('promotes to Production and archives the previous champion', async () => {
    await register('a');
    await register('b');
    await registry.promoteToProduction('m', 1, { actor: 't' });
    await registry.promoteToProduction('m', 2, { actor: 't' });
    expect((await registry.getProductionVersion('m'))?.version).toBe(2);
    expect((await registry.getVersion('m', 1))?.stage).toBe('Archived');
    const stages = (await registry.listVersions('m')).map((v) => v.stage);
    expect(stages.filter((s) => s === 'Production')).toHaveLength(1);
  });

  it('lets exactly one of two concurrent promotions win', async () => {
    await register('a');
    await register('b');
    await register('c');
    await registry.promoteToProduction('m', 1, { actor: 't' });
    // Both release managers looked at the same state, then promoted different challengers.
    const seen = (await registry.getModel('m'))?.stageRevision;
    const results = await Promise.allSettled([
      registry.promoteToProduction('m', 2, { actor: 'alice', expectedRevision: seen }),
      registry.promoteToProduction('m', 3, { actor: 'bob', expectedRevision: seen }),
    ]);
    const winners = results.filter((r) => r.status === 'fulfilled');
    const losers = results.filter((r) => r.status === 'rejected');
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(1);
    expect((losers[0] as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
    const production = await registry.getProductionVersion('m');
    expect(production?.version).toBe(
      (winners[0] as PromiseFulfilledResult<{ version: number }>).value.version,
    );
    expect((await registry.listVersions('m')).filter((v) => v.stage === 'Production')).toHaveLength(1);
  });

  it('lets one of two racing promotions without a revision win, and the other lose or follow', async () => {
    await register('a');
    await register('b');
    const results = await Promise.allSettled([
      registry.promoteToProduction('m', 1, { actor: 'alice' }),
      registry.promoteToProduction('m', 2, { actor: 'bob' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(1);
    expect((await registry.listVersions('m')).filter((v) => v.stage === 'Production')).toHaveLength(1);
  });

  it('fails to promote a version that does not exist', async () => {
    await register('a');
    await expect(registry.promoteToProduction('m', 9, { actor: 't' })).rejects.toThrow(ModelNotFound);
  });

  it('lists models with their Production pointer', async () => {
    await register('a');
    await registry.promoteToProduction('m', 1, { actor: 't' });
    expect(await registry.listModels()).toEqual([
      { model: 'm', latestVersion: 1, productionVersion: 1, stageRevision: 1 },
    ]);
  });
});
