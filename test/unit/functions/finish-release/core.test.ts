// FinishRelease: promotion by compare-and-set after the last bake, and what stops it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishRelease } from '../../../../functions/finish-release/core.ts';
import { lockTarget } from '../../../../functions/lib/releases/release-record.ts';
import type { Progress } from '../../../../functions/lib/releases/release-state.ts';
import { startTestDynamoDb, type TestDynamoDb } from '../../../support/local-dynamodb.ts';
import {
  ALIAS,
  FakeAliasControl,
  FUNCTION,
  noLog,
  registerModel,
  releaseContext,
  releaseTables,
  startedRecord,
  TestClock,
} from '../../../support/release-fakes.ts';

let dynamo: TestDynamoDb;
beforeAll(async () => {
  dynamo = await startTestDynamoDb();
});
afterAll(async () => {
  await dynamo?.stop();
});

const done: Progress = {
  stepIndex: 3,
  percent: 100,
  waitSeconds: 0,
  checks: 5,
  verdict: 'healthy',
  bakeComplete: true,
  isLastStep: true,
  reasons: [],
};

async function setup() {
  const { registry, store } = await releaseTables(dynamo);
  await registerModel(registry, 'flight-delay', [1, 2, 3], 1);
  const release = releaseContext();
  await store.createRelease({ ...startedRecord(release), status: 'baking' });
  const clock = new TestClock();
  await store.acquireLock(
    {
      target: lockTarget(FUNCTION, ALIAS),
      releaseId: release.releaseId,
      executionArn: release.executionArn,
      model: 'flight-delay',
      modelVersion: 2,
      startedAt: release.startedAt,
      expiresAt: new Date(clock.ms + 900_000).toISOString(),
    },
    clock.now(),
  );
  const alias = new FakeAliasControl();
  alias.versions.set('5', { version: '5', environment: {} });
  alias.setRouting({ version: '5' });
  const ports = { alias, registry, store, now: clock.now, log: noLog };
  const input = { release, published: { functionVersion: '5', pins: {}, warmed: 2 }, progress: done };
  return { alias, registry, store, ports, input, release };
}

describe('finishRelease', () => {
  it('promotes the model version, closes the record and lets go of the lock', async () => {
    const { registry, store, ports, input, release } = await setup();

    const outcome = await finishRelease(input, ports);

    expect(outcome).toMatchObject({ outcome: 'released', routing: { version: '5' } });
    expect((await registry.getProductionVersion('flight-delay'))?.version).toBe(2);
    expect((await store.getRelease(release))?.status).toBe('succeeded');
    expect((await store.getLock(lockTarget(FUNCTION, ALIAS)))?.releasedAt).toBeDefined();
  });

  it('completes when retried after its promotion was written', async () => {
    const { registry, ports, input } = await setup();
    await registry.promoteToProduction('flight-delay', 2, { actor: `release:${input.release.releaseId}` });
    await expect(finishRelease(input, ports)).resolves.toMatchObject({ outcome: 'released' });
  });

  it('does not promote when the Production version moved during the release', async () => {
    const { registry, ports, input } = await setup();
    await registry.promoteToProduction('flight-delay', 3, { actor: 'someone else' });
    await expect(finishRelease(input, ports)).rejects.toMatchObject({
      name: 'ReleaseStateMismatch',
      message:
        "flight-delay's Production version moved to v3 during the release (it was v1): not promoting flight-delay v2",
    });
    expect((await registry.getProductionVersion('flight-delay'))?.version).toBe(3);
  });

  it('does not promote unless the alias routes everything to the new version', async () => {
    const { alias, registry, ports, input } = await setup();
    alias.setRouting({ version: '4', additional: { version: '5', weight: 0.5 } });
    await expect(finishRelease(input, ports)).rejects.toMatchObject({ name: 'ReleaseStateMismatch' });
    expect((await registry.getProductionVersion('flight-delay'))?.version).toBe(1);
  });
});
