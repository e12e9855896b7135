// PromoteChallenger on the real registry (dynalite): the challenger becomes Production by a
// compare-and-set at the revision the comparison was made at; a promotion by someone else in
// between makes it lose with ConflictError and the champion in place stays; a retry after its
// own success completes instead of failing.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError } from '../../../../functions/lib/errors.ts';
import { DynamoDbModelRegistry } from '../../../../functions/lib/registry/dynamodb-registry.ts';
import { type PromoteInput, promoteChallenger } from '../../../../functions/promote-challenger/core.ts';
import { REGISTRY_KEYS, startTestDynamoDb, type TestDynamoDb } from '../../../support/local-dynamodb.ts';

const EXECUTION = 'flight-delay-drift-20261127T070000Z';
const REASONS = [
  'challenger v2 vs champion v1: holdout AUC 0.690 vs 0.650, +0.040, at least the +0.005 required',
  'no subgroup lost more than 0.020 AUC against the champion (9 gated; closest: day_part=night (0-6h) −0.004)',
];

let dynamo: TestDynamoDb;
let registry: DynamoDbModelRegistry;

beforeAll(async () => {
  dynamo = await startTestDynamoDb();
});
afterAll(async () => {
  await dynamo?.stop();
});

/** A fresh registry: v1 Production (the champion), v2 and v3 Staging. */
beforeEach(async () => {
  registry = new DynamoDbModelRegistry(dynamo.client, await dynamo.createTable(REGISTRY_KEYS));
  for (const runId of ['r1', 'r2', 'r3']) {
    const version = await registry.allocateVersion('flight-delay', runId);
    await registry.registerVersion({
      model: 'flight-delay',
      version,
      artifactUri: `s3://artifacts/models/flight-delay/${version}/model.onnx`,
      artifactSha256: String(version).repeat(64),
      featureSet: 'flights-v1',
      trainingRunId: runId,
      datasetUri: 's3://data/datasets/x.json',
      datasetSha256: 'd'.repeat(64),
      params: {},
      metrics: {},
      createdBy: 'test',
    });
  }
  await registry.promoteToProduction('flight-delay', 1, { actor: 'alice', reason: 'first' });
});

async function compared(): Promise<PromoteInput> {
  const summary = await registry.getModel('flight-delay');
  return {
    model: 'flight-delay',
    executionName: EXECUTION,
    challengerVersion: 2,
    championVersion: 1,
    expectedRevision: summary?.stageRevision ?? -1,
    reasons: REASONS,
  };
}

const ports = () => ({ registry, log: () => undefined });

describe('promoteChallenger', () => {
  it('makes the challenger Production at the compared revision, recording who and why', async () => {
    const input = await compared();

    const result = await promoteChallenger(input, ports());

    expect(result).toEqual({
      version: 2,
      previousVersion: 1,
      stage: 'Production',
      actor: `retraining:${EXECUTION}`,
    });
    expect((await registry.getProductionVersion('flight-delay'))?.version).toBe(2);
    expect((await registry.getVersion('flight-delay', 1))?.stage).toBe('Archived');
    expect((await registry.listAuditEvents('flight-delay')).at(-1)).toMatchObject({
      action: 'promote',
      version: 2,
      previousVersion: 1,
      actor: `retraining:${EXECUTION}`,
      reason: REASONS.join('; '),
    });
  });

  it('loses to a promotion made after the comparison: ConflictError, and the champion in place stays', async () => {
    const input = await compared();
    await registry.promoteToProduction('flight-delay', 3, { actor: 'bob', reason: 'hotfix' });

    const attempt = promoteChallenger(input, ports());

    await expect(attempt).rejects.toThrow(ConflictError);
    await expect(attempt).rejects.toThrow(
      /^the stages of flight-delay changed after the comparison \(Production is now v3; the comparison was against v1 at revision 1\): the champion in place stays and challenger v2 remains in Staging$/,
    );
    expect((await registry.getProductionVersion('flight-delay'))?.version).toBe(3);
    expect((await registry.getVersion('flight-delay', 2))?.stage).toBe('Staging');
    expect(
      (await registry.listAuditEvents('flight-delay')).filter((e) => e.action === 'promote'),
    ).toHaveLength(2);
  });

  it('of two retrainings promoting at the same revision, exactly one wins', async () => {
    const input = await compared();

    const results = await Promise.allSettled([
      promoteChallenger(input, ports()),
      promoteChallenger({ ...input, challengerVersion: 3, executionName: `${EXECUTION}-b` }, ports()),
    ]);

    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(ConflictError);
    const winner = (
      results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ version: number }>
    ).value;
    expect((await registry.getProductionVersion('flight-delay'))?.version).toBe(winner.version);
  });

  it('completes, without a second audit event, when retried after its own promotion succeeded', async () => {
    const input = await compared();
    await promoteChallenger(input, ports());

    const again = await promoteChallenger(input, ports());

    expect(again.version).toBe(2);
    const promotions = (await registry.listAuditEvents('flight-delay')).filter((e) => e.action === 'promote');
    expect(promotions.map((e) => [e.version, e.actor])).toEqual([
      [1, 'alice'],
      [2, `retraining:${EXECUTION}`],
    ]);
  });

  it('refuses an input without reasons or a revision', async () => {
    const { reasons: _r, expectedRevision: _e, ...partial } = await compared();

    await expect(promoteChallenger(partial, ports())).rejects.toThrow(/invalid promotion input/);
  });
});
