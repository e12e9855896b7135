// The registry against dynalite (the local runtime's DynamoDB): conditional writes are the
// point of this module, so they are checked against a real implementation, not a mock.
import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, ModelNotFound } from '../../../../../functions/lib/errors.ts';
import { DynamoDbModelRegistry } from '../../../../../functions/lib/registry/dynamodb-registry.ts';
import type { NewModelVersion } from '../../../../../functions/lib/registry/model-version.ts';
import { localDynamoDbClient, startDynamoDb } from '../../../../../local/emulators/dynamodb.ts';

let db: Awaited<ReturnType<typeof startDynamoDb>>;
let client: DynamoDBDocumentClient;
let registry: DynamoDbModelRegistry;
let tableName: string;
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

/**
 * A registry on the same table whose client fails the first command `matches` picks, as a
 * network error or throttle would, and passes everything else through.
 */
function registryFailingOnce(matches: (command: unknown) => boolean) {
  const flaky = DynamoDBDocumentClient.from(localDynamoDbClient(db.endpoint));
  const send = flaky.send.bind(flaky) as (command: unknown) => Promise<unknown>;
  let failed = false;
  flaky.send = (async (command: unknown) => {
    if (!failed && matches(command)) {
      failed = true;
      throw Object.assign(new Error('injected failure'), { name: 'InternalServerError' });
    }
    return send(command);
  }) as typeof flaky.send;
  return new DynamoDbModelRegistry(flaky, tableName);
}

const isAuditPut = (command: unknown) =>
  command instanceof PutCommand && String(command.input.Item?.sk).startsWith('AUDIT#');
const isVersionStageUpdate = (command: unknown) =>
  command instanceof UpdateCommand && String(command.input.Key?.sk).startsWith('VERSION#');

/** The audit trail as stored, oldest change key first. */
async function auditEvents() {
  const out = await client.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :a)',
      ExpressionAttributeValues: { ':pk': 'MODEL#m', ':a': 'AUDIT#' },
    }),
  );
  return out.Items ?? [];
}

/** A version item's stored stage field (reads derive stages from the head, so look underneath). */
async function storedStage(version: number) {
  const out = await client.send(
    new GetCommand({
      TableName: tableName,
      Key: { pk: 'MODEL#m', sk: `VERSION#${String(version).padStart(10, '0')}` },
    }),
  );
  return out.Item?.stage;
}

beforeAll(async () => {
  db = await startDynamoDb({ port: 0 });
  client = DynamoDBDocumentClient.from(localDynamoDbClient(db.endpoint));
});

afterAll(async () => {
  await db?.stop();
});

beforeEach(async () => {
  tableName = `registry-${++tableCount}`;
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
  // dynalite answers ResourceNotFound until the table turns ACTIVE, a tick after CreateTable.
  while (
    (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.TableStatus !== 'ACTIVE'
  )
    await new Promise((resolve) => setTimeout(resolve, 5));
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

  it('writes one audit event per registration', async () => {
    // Act
    await register('a');
    await registry.registerVersion({ ...lineage(1, 'a'), createdBy: 'someone-else' });

    // Assess
    expect(await auditEvents()).toEqual([
      expect.objectContaining({ sk: 'AUDIT#register#1', action: 'register', version: 1, actor: 'test' }),
    ]);
  });

  it('writes the registration audit event on retry when the first attempt failed to', async () => {
    // Prepare
    const version = await registry.allocateVersion('m', 'a');
    const flaky = registryFailingOnce(isAuditPut);
    await expect(flaky.registerVersion(lineage(version, 'a'))).rejects.toThrow('injected failure');
    expect(await auditEvents()).toEqual([]);

    // Act
    const retried = await flaky.registerVersion(lineage(version, 'a'));

    // Assess
    expect(retried).toMatchObject({ version, stage: 'Staging' });
    expect(await auditEvents()).toEqual([
      expect.objectContaining({ sk: 'AUDIT#register#1', action: 'register', at: retried.createdAt }),
    ]);
  });

  it('writes one audit event per promotion, naming the version it replaced', async () => {
    // Prepare
    await register('a');
    await register('b');

    // Act
    await registry.promoteToProduction('m', 1, { actor: 'alice', reason: 'first' });
    await registry.promoteToProduction('m', 2, { actor: 'bob' });
    await registry.promoteToProduction('m', 2, { actor: 'carol', reason: 'again' });

    // Assess
    const promotions = (await auditEvents()).filter((e) => e.action === 'promote');
    expect(promotions).toEqual([
      expect.objectContaining({
        sk: 'AUDIT#rev#1',
        version: 1,
        previousVersion: null,
        actor: 'alice',
        reason: 'first',
      }),
      expect.objectContaining({
        sk: 'AUDIT#rev#2',
        version: 2,
        previousVersion: 1,
        actor: 'bob',
        reason: null,
      }),
    ]);
    expect((await registry.getModel('m'))?.stageRevision).toBe(2);
  });

  it('completes an interrupted promotion when it is retried: stage fields and audit event', async () => {
    // Prepare: the head write decides, then the first stage-field write fails.
    await register('a');
    await register('b');
    await registry.promoteToProduction('m', 1, { actor: 't' });
    const flaky = registryFailingOnce(isVersionStageUpdate);
    await expect(flaky.promoteToProduction('m', 2, { actor: 'alice', reason: 'better' })).rejects.toThrow(
      'injected failure',
    );
    expect((await registry.getProductionVersion('m'))?.version).toBe(2);
    expect(await auditEvents()).not.toContainEqual(expect.objectContaining({ sk: 'AUDIT#rev#2' }));

    // Act: the retry takes the already-Production path.
    const retried = await flaky.promoteToProduction('m', 2, { actor: 'someone-else' });

    // Assess
    expect(retried.stage).toBe('Production');
    expect([await storedStage(1), await storedStage(2)]).toEqual(['Archived', 'Production']);
    expect(await auditEvents()).toContainEqual(
      expect.objectContaining({
        sk: 'AUDIT#rev#2',
        version: 2,
        previousVersion: 1,
        actor: 'alice',
        reason: 'better',
      }),
    );
    expect((await registry.getModel('m'))?.stageRevision).toBe(2);
  });

  it('writes the promotion audit event on retry when the first attempt failed to', async () => {
    // Prepare
    await register('a');
    const flaky = registryFailingOnce(isAuditPut);
    await expect(flaky.promoteToProduction('m', 1, { actor: 'alice' })).rejects.toThrow('injected failure');

    // Act
    await flaky.promoteToProduction('m', 1, { actor: 'alice' });

    // Assess
    expect(await auditEvents()).toContainEqual(
      expect.objectContaining({ sk: 'AUDIT#rev#1', action: 'promote', version: 1, actor: 'alice' }),
    );
  });

  it('keeps the champion in Production when it is re-promoted with expectedRevision', async () => {
    // Prepare
    await register('a');
    await register('b');
    await registry.promoteToProduction('m', 1, { actor: 't' });
    await registry.promoteToProduction('m', 2, { actor: 't' });
    const seen = (await registry.getModel('m'))?.stageRevision;

    // Act
    const again = await registry.promoteToProduction('m', 2, { actor: 't', expectedRevision: seen });

    // Assess
    expect(again.stage).toBe('Production');
    expect((await registry.getProductionVersion('m'))?.version).toBe(2);
    expect([await storedStage(1), await storedStage(2)]).toEqual(['Archived', 'Production']);
    expect((await registry.listVersions('m')).map((v) => v.stage)).toEqual(['Archived', 'Production']);
  });

  it('lists models with their Production pointer', async () => {
    await register('a');
    await registry.promoteToProduction('m', 1, { actor: 't' });
    expect(await registry.listModels()).toEqual([
      { model: 'm', latestVersion: 1, productionVersion: 1, stageRevision: 1 },
    ]);
  });
});
