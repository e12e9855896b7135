// Registry archiveVersion against dynalite: archives are stage changes decided by the same
// conditional write on the model's head item as promotions, so they are checked for races and
// retries against a real implementation.
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, ModelNotFound } from '../../../../../functions/lib/errors.ts';
import { DynamoDbModelRegistry } from '../../../../../functions/lib/registry/dynamodb-registry.ts';
import type { NewModelVersion } from '../../../../../functions/lib/registry/model-version.ts';
import { REGISTRY_KEYS, startTestDynamoDb, type TestDynamoDb } from '../../../../support/local-dynamodb.ts';

let dynamo: TestDynamoDb;
let registry: DynamoDbModelRegistry;
let tableName: string;

const lineage = (version: number, runId: string): NewModelVersion => ({
  model: 'm',
  version,
  artifactUri: `s3://a/models/m/${version}/model.onnx`,
  artifactSha256: 'f'.repeat(64),
  featureSet: 'flights-v1',
  trainingRunId: runId,
  datasetUri: 's3://d/datasets/x.json',
  datasetSha256: 'e'.repeat(64),
  params: { trainer: 'logreg', l2: 1 },
  metrics: { test: { auc: 0.65 } },
  createdBy: 'test',
});

/** Register versions 1…n as Staging, as training runs do. */
async function registerVersions(n: number) {
  for (let i = 1; i <= n; i++) {
    const version = await registry.allocateVersion('m', `run-${i}`);
    await registry.registerVersion(lineage(version, `run-${i}`));
  }
}

/** The audit trail as stored, oldest change key first. */
async function auditEvents() {
  const out = await dynamo.client.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :a)',
      ExpressionAttributeValues: { ':pk': 'MODEL#m', ':a': 'AUDIT#' },
    }),
  );
  return out.Items ?? [];
}

const archiveEvents = async () => (await auditEvents()).filter((e) => e.action === 'archive');
const stages = async () => (await registry.listVersions('m')).map((v) => [v.version, v.stage]);

beforeAll(async () => {
  dynamo = await startTestDynamoDb();
});

afterAll(async () => {
  await dynamo?.stop();
});

beforeEach(async () => {
  tableName = await dynamo.createTable(REGISTRY_KEYS);
  registry = new DynamoDbModelRegistry(dynamo.client, tableName);
});

describe('DynamoDbModelRegistry.archiveVersion', () => {
  it('archives a Staging version and writes one audit event naming who and why', async () => {
    // Prepare
    await registerVersions(2);

    // Act
    const archived = await registry.archiveVersion('m', 2, { actor: 'alice', reason: 'lost to v1' });

    // Assess
    expect(archived).toMatchObject({ version: 2, stage: 'Archived' });
    expect(await stages()).toEqual([
      [1, 'Staging'],
      [2, 'Archived'],
    ]);
    expect(await archiveEvents()).toEqual([
      expect.objectContaining({ sk: 'AUDIT#rev#1', version: 2, actor: 'alice', reason: 'lost to v1' }),
    ]);
    expect(await registry.getModel('m')).toMatchObject({ stageRevision: 1 });
  });

  it('lists the audit trail in the order the changes happened', async () => {
    await registerVersions(3);
    await registry.promoteToProduction('m', 1, { actor: 'alice', reason: 'first model' });
    await registry.promoteToProduction('m', 2, { actor: 'bob' });
    await registry.archiveVersion('m', 3, { actor: 'carol', reason: 'lost to v2' });

    const trail = await registry.listAuditEvents('m');

    expect(trail.map((e) => [e.action, e.version, e.actor])).toEqual([
      ['register', 1, 'test'],
      ['register', 2, 'test'],
      ['register', 3, 'test'],
      ['promote', 1, 'alice'],
      ['promote', 2, 'bob'],
      ['archive', 3, 'carol'],
    ]);
    expect(trail[4]).toMatchObject({ previousVersion: 1, reason: null });
    expect(trail[5]).toMatchObject({ reason: 'lost to v2' });
  });

  it('fails with ConflictError to archive the Production version, and changes nothing', async () => {
    // Prepare
    await registerVersions(2);
    await registry.promoteToProduction('m', 1, { actor: 't' });

    // Act
    const outcome = registry.archiveVersion('m', 1, { actor: 'alice' });

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(ConflictError);
    await expect(outcome).rejects.toThrow(/is the Production version/);
    expect((await registry.getProductionVersion('m'))?.version).toBe(1);
    expect(await archiveEvents()).toEqual([]);
    expect(await registry.getModel('m')).toMatchObject({ stageRevision: 1 });
  });

  it('fails with ModelNotFound for a version that does not exist', async () => {
    await registerVersions(1);
    await expect(registry.archiveVersion('m', 9, { actor: 'alice' })).rejects.toBeInstanceOf(ModelNotFound);
  });

  it('changes nothing when an Archived version is archived again', async () => {
    // Prepare
    await registerVersions(2);
    await registry.archiveVersion('m', 2, { actor: 'alice' });
    const seen = (await registry.getModel('m'))?.stageRevision;

    // Act
    const again = await registry.archiveVersion('m', 2, { actor: 'bob' });
    const withRevision = await registry.archiveVersion('m', 2, { actor: 'carol', expectedRevision: seen });

    // Assess
    expect([again.stage, withRevision.stage]).toEqual(['Archived', 'Archived']);
    expect(await archiveEvents()).toEqual([expect.objectContaining({ version: 2, actor: 'alice' })]);
    expect((await registry.getModel('m'))?.stageRevision).toBe(seen);
  });

  it('lets exactly one of an archive and a promotion of the same version win from the same revision', async () => {
    // Prepare: both callers looked at the same state.
    await registerVersions(2);
    await registry.promoteToProduction('m', 1, { actor: 't' });
    const seen = (await registry.getModel('m'))?.stageRevision;

    // Act
    const [archive, promotion] = await Promise.allSettled([
      registry.archiveVersion('m', 2, { actor: 'alice', expectedRevision: seen }),
      registry.promoteToProduction('m', 2, { actor: 'bob', expectedRevision: seen }),
    ]);

    // Assess
    const outcomes = [archive?.status, promotion?.status];
    expect(outcomes.sort()).toEqual(['fulfilled', 'rejected']);
    const loser = [archive, promotion].find((r) => r?.status === 'rejected') as PromiseRejectedResult;
    expect(loser.reason).toBeInstanceOf(ConflictError);
    const v2 = await registry.getVersion('m', 2);
    if (archive?.status === 'fulfilled') {
      expect(v2?.stage).toBe('Archived');
      expect((await registry.getProductionVersion('m'))?.version).toBe(1);
    } else {
      expect(v2?.stage).toBe('Production');
      expect(await archiveEvents()).toEqual([]);
    }
    expect((await registry.getModel('m'))?.stageRevision).toBe((seen ?? 0) + 1);
    expect((await registry.listVersions('m')).filter((v) => v.stage === 'Production')).toHaveLength(1);
  });

  it('fails with ConflictError when the stage changed since the caller looked', async () => {
    // Prepare
    await registerVersions(3);
    const seen = (await registry.getModel('m'))?.stageRevision;
    await registry.promoteToProduction('m', 1, { actor: 'bob' });

    // Act
    const outcome = registry.archiveVersion('m', 2, { actor: 'alice', expectedRevision: seen });

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(ConflictError);
    expect((await registry.getVersion('m', 2))?.stage).toBe('Staging');
  });

  it('makes a promotion from the revision an archive already used fail with ConflictError', async () => {
    // Prepare
    await registerVersions(2);
    const seen = (await registry.getModel('m'))?.stageRevision;
    await registry.archiveVersion('m', 2, { actor: 'alice', expectedRevision: seen });

    // Act
    const outcome = registry.promoteToProduction('m', 2, { actor: 'bob', expectedRevision: seen });

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(ConflictError);
    expect(await registry.getProductionVersion('m')).toBeUndefined();
  });

  it('promotes an Archived version back to Production (rollback) and archives the one it replaces', async () => {
    // Prepare: v1 was champion, v2 replaced it (archiving v1), v3 was archived unreleased.
    await registerVersions(3);
    await registry.promoteToProduction('m', 1, { actor: 't' });
    await registry.promoteToProduction('m', 2, { actor: 't' });
    await registry.archiveVersion('m', 3, { actor: 't' });

    // Act
    const rolledBack = await registry.promoteToProduction('m', 1, {
      actor: 'oncall',
      reason: 'v2 regressed',
    });
    const revived = await registry.promoteToProduction('m', 3, { actor: 'oncall', reason: 'v3 after all' });

    // Assess
    expect(rolledBack).toMatchObject({ version: 1, stage: 'Production' });
    expect(revived).toMatchObject({ version: 3, stage: 'Production' });
    expect(await stages()).toEqual([
      [1, 'Archived'],
      [2, 'Archived'],
      [3, 'Production'],
    ]);
    expect((await auditEvents()).map((e) => [e.sk, e.action, e.version])).toEqual([
      ['AUDIT#register#1', 'register', 1],
      ['AUDIT#register#2', 'register', 2],
      ['AUDIT#register#3', 'register', 3],
      ['AUDIT#rev#1', 'promote', 1],
      ['AUDIT#rev#2', 'promote', 2],
      ['AUDIT#rev#3', 'archive', 3],
      ['AUDIT#rev#4', 'promote', 1],
      ['AUDIT#rev#5', 'promote', 3],
    ]);
  });

  it('refuses to archive a version promoted after it was archived, as long as it is Production', async () => {
    // Prepare
    await registerVersions(2);
    await registry.archiveVersion('m', 2, { actor: 't' });
    await registry.promoteToProduction('m', 2, { actor: 't' });

    // Act
    const outcome = registry.archiveVersion('m', 2, { actor: 't' });

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(ConflictError);
    expect((await registry.getVersion('m', 2))?.stage).toBe('Production');
  });
});
