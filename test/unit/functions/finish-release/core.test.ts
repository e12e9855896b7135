// FinishRelease: promotion by compare-and-set after the last bake, the hand back of the alias to
// the version the release started from, and what stops either.
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
  isDecisionStep: false,
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
  alias.versions.set('5', { version: '5', environment: { MODEL_VERSION_PINS: '{"flight-delay":2}' } });
  alias.setRouting({ version: '5' });
  alias.production = async (model) => (await registry.getProductionVersion(model))?.version;
  const deployments: string[] = [];
  const ports = {
    alias,
    registry,
    store,
    registryCacheTtlMs: 5_000,
    codeDeploy: { listActiveDeployments: async () => [...deployments] },
    now: clock.now,
    log: noLog,
  };
  const step = { release, published: { functionVersion: '5', pins: {}, warmed: 2 }, progress: done };
  const input = { phase: 'promote', ...step };
  const handBack = {
    phase: 'hand-back',
    ...step,
    promotion: { promotedAt: '2026-11-27T08:10:00.000Z', waitSeconds: 6 },
  };
  return { alias, registry, store, ports, input, handBack, release, deployments };
}

describe('finishRelease: promote', () => {
  it('promotes the model version, keeps the lock and says how long to wait before the hand back', async () => {
    const { alias, registry, store, ports, input, release } = await setup();

    const promotion = await finishRelease(input, ports);

    expect(promotion).toEqual({
      promotedAt: new Date(Date.parse('2026-11-27T08:00:00.000Z')).toISOString(),
      waitSeconds: 6,
    });
    expect((await registry.getProductionVersion('flight-delay'))?.version).toBe(2);
    expect((await store.getRelease(release))?.status).toBe('promoting');
    expect((await store.getLock(lockTarget(FUNCTION, ALIAS)))?.releasedAt).toBeUndefined();
    expect(alias.updates).toEqual([]);
  });

  it('completes when retried after its promotion was written', async () => {
    const { registry, ports, input } = await setup();
    await registry.promoteToProduction('flight-delay', 2, { actor: `release:${input.release.releaseId}` });
    await expect(finishRelease(input, ports)).resolves.toMatchObject({ waitSeconds: 6 });
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

  it('does not promote while a code release shifts the alias', async () => {
    const { registry, ports, input, deployments } = await setup();
    deployments.push('d-1');
    await expect(finishRelease(input, ports)).rejects.toMatchObject({ name: 'CodeDeploymentInProgress' });
    expect((await registry.getProductionVersion('flight-delay'))?.version).toBe(1);
  });

  it('fails on an input without a phase, naming it', async () => {
    const { ports, input } = await setup();
    const { phase: _phase, ...withoutPhase } = input;
    await expect(finishRelease(withoutPhase, ports)).rejects.toMatchObject({
      name: 'InvalidRequest',
      message: expect.stringContaining('FinishRelease: invalid input'),
    });
  });
});

describe('finishRelease: hand-back', () => {
  const promoted = async () => {
    const fixture = await setup();
    await finishRelease(fixture.input, fixture.ports);
    return fixture;
  };

  it('warms the base version, checks it serves the new model, flips the alias to it and closes the record', async () => {
    const { alias, store, ports, handBack, release } = await promoted();
    const warmed: string[] = [];
    alias.invoke = (version, event) => {
      warmed.push(version);
      return alias.refusal(version, event);
    };

    const outcome = await finishRelease(handBack, ports);

    expect(outcome).toMatchObject({ outcome: 'released', routing: { version: '4' } });
    expect(warmed).toEqual(Array(10).fill('4'));
    expect(alias.updates).toEqual([{ version: '4' }]);
    expect(await store.getRelease(release)).toMatchObject({ status: 'succeeded', routing: { version: '4' } });
    expect((await store.getLock(lockTarget(FUNCTION, ALIAS)))?.releasedAt).toBeDefined();
  });

  it('finds the alias handed back already when retried', async () => {
    const { alias, ports, handBack } = await promoted();
    alias.setRouting({ version: '4' });

    await expect(finishRelease(handBack, ports)).resolves.toMatchObject({ outcome: 'released' });
    expect(alias.updates).toEqual([]);
  });

  it('leaves the alias on the pinned version when the base version still serves the old model', async () => {
    const { alias, store, ports, handBack, release } = await promoted();
    alias.production = async () => 1;

    const outcome = await finishRelease(handBack, ports);

    expect(outcome).toMatchObject({
      outcome: 'not-handed-back',
      error: 'AliasNotHandedBack',
      routing: { version: '5' },
    });
    expect(outcome).toMatchObject({
      summary: expect.stringContaining('v4 answered 10 of 10 warm-up requests with v1, not flight-delay v2'),
    });
    expect(alias.updates).toEqual([]);
    expect(await store.getRelease(release)).toMatchObject({ status: 'succeeded', routing: { version: '5' } });
    expect((await store.getLock(lockTarget(FUNCTION, ALIAS)))?.releasedAt).toBeDefined();
  });

  it('leaves the alias on the pinned version when the base version cannot serve at all', async () => {
    const { alias, ports, handBack } = await promoted();
    alias.invoke = () => ({ payload: { statusCode: 503, body: '{"error":{"message":"artifact missing"}}' } });

    const outcome = await finishRelease(handBack, ports);

    expect(outcome).toMatchObject({ outcome: 'not-handed-back', routing: { version: '5' } });
    expect(outcome).toMatchObject({
      summary: expect.stringContaining(
        'v4 cannot serve flight-delay v2: warm-up answered 503 artifact missing',
      ),
    });
  });

  it('does not write the alias while a code release shifts it', async () => {
    const { alias, ports, handBack, deployments } = await promoted();
    deployments.push('d-2');

    await expect(finishRelease(handBack, ports)).rejects.toMatchObject({ name: 'CodeDeploymentInProgress' });
    expect(alias.updates).toEqual([]);
  });

  it('stops when the registry moved before the hand back', async () => {
    const { registry, ports, handBack } = await promoted();
    await registry.promoteToProduction('flight-delay', 3, { actor: 'someone else' });

    await expect(finishRelease(handBack, ports)).rejects.toMatchObject({
      name: 'ReleaseStateMismatch',
      message: expect.stringContaining("flight-delay's Production version is v3, not flight-delay v2"),
    });
  });

  it('stops when a rollback was asked for after the promotion', async () => {
    const { store, ports, handBack, release } = await promoted();
    await store.updateRelease(release, {
      abortRequested: { by: 'alice', reason: 'no', at: '2026-11-27T08:01:00Z' },
    });

    await expect(finishRelease(handBack, ports)).rejects.toMatchObject({
      name: 'ReleaseStateMismatch',
      message: 'a rollback was asked for by alice after flight-delay v2 was promoted: no',
    });
  });
});
