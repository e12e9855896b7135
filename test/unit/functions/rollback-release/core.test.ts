// RollbackRelease: the flip back under a moving alias, a rollback that fails, and what
// `mlops rollback` refuses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AliasChanged } from '../../../../functions/lib/releases/alias-routing.ts';
import { DEFAULT_DECISION_POLICY } from '../../../../functions/lib/releases/champion-challenger.ts';
import { lockTarget } from '../../../../functions/lib/releases/release-record.ts';
import { rollbackRelease } from '../../../../functions/rollback-release/core.ts';
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

const LOCK = lockTarget(FUNCTION, ALIAS);

async function setup(production = 1) {
  const { registry, store } = await releaseTables(dynamo);
  await registerModel(registry, 'flight-delay', [1, 2], production || undefined);
  const release = releaseContext({ previousModelVersion: production === 1 ? 1 : null });
  await store.createRelease({ ...startedRecord(release), status: 'baking', newFunctionVersion: '5' });
  const clock = new TestClock();
  await store.acquireLock(
    {
      target: LOCK,
      releaseId: release.releaseId,
      executionArn: release.executionArn,
      model: release.model,
      modelVersion: 2,
      startedAt: release.startedAt,
      expiresAt: new Date(clock.ms + 900_000).toISOString(),
    },
    clock.now(),
  );
  const alias = new FakeAliasControl();
  alias.versions.set('5', { version: '5', environment: {} });
  alias.setRouting({ version: '4', additional: { version: '5', weight: 0.25 } });
  const ports = { alias, registry, store, now: clock.now, log: noLog };
  const automatic = (state: Record<string, unknown> = {}) => ({
    mode: 'automatic',
    state: {
      release,
      published: { functionVersion: '5', pins: {}, warmed: 2 },
      progress: {
        stepIndex: 1,
        percent: 25,
        waitSeconds: 0,
        checks: 2,
        verdict: 'breach',
        bakeComplete: false,
        isLastStep: false,
        reasons: ['function errors: too many'],
      },
      ...state,
    },
  });
  const operator = (reason?: string) => ({
    mode: 'operator',
    request: {
      action: 'rollback',
      model: 'flight-delay',
      requestedBy: 'alice',
      ...(reason ? { reason } : {}),
    },
    executionName: 'flight-delay-rollback-20261127T090000Z',
    executionArn: 'arn:aws:states:eu-west-1:1:execution:release:flight-delay-rollback-20261127T090000Z',
  });
  return { registry, store, alias, ports, release, automatic, operator };
}

describe('automatic rollback', () => {
  it('wins against an alias moving under it (a racing update), then reads it back', async () => {
    const { alias, ports, automatic } = await setup();
    const update = alias.updateAlias.bind(alias);
    let first = true;
    alias.updateAlias = async (routing, revision) => {
      if (first) {
        first = false;
        throw new AliasChanged('moved');
      }
      return update(routing, revision);
    };

    const outcome = await rollbackRelease(automatic(), ports);

    expect(outcome).toMatchObject({
      outcome: 'rolled-back',
      error: 'ReleaseRolledBack',
      routing: { version: '4' },
    });
    expect(outcome.summary).toBe(
      'flight-delay v2 rolled back to function v4: step 2 (25%) breached: function errors: too many',
    );
    expect(alias.routing).toEqual({ version: '4' });
  });

  it('names the failed step when a step failed rather than breached', async () => {
    const { ports, automatic } = await setup();
    const outcome = await rollbackRelease(
      automatic({
        progress: undefined,
        failure: { Error: 'ReleaseStateMismatch', Cause: JSON.stringify({ errorMessage: 'after step 2 …' }) },
      }),
      ports,
    );
    expect(outcome).toMatchObject({ error: 'ReleaseStateMismatch', outcome: 'rolled-back' });
    expect(outcome.summary).toContain('ReleaseStateMismatch: after step 2 …');
  });

  it('records a failed rollback, lets go of the lock, and fails', async () => {
    const { alias, store, ports, automatic, release } = await setup();
    alias.applyUpdate = (asked) => ({ ...asked, additional: { version: '5', weight: 0.25 } });

    await expect(rollbackRelease(automatic(), ports)).rejects.toMatchObject({
      name: 'ReleaseStateMismatch',
      message: `after the rollback ${FUNCTION}:${ALIAS} routes v4 75% + v5 25%, intended v4 100%`,
    });
    expect((await store.getRelease(release))?.status).toBe('rollback-failed');
    expect((await store.getLock(LOCK))?.releasedAt).toBeDefined();
  });

  it('puts the slice back on the champion when a champion/challenger decision kept it: not promoted', async () => {
    const { alias, registry, store, ports, automatic, release } = await setup();
    alias.setRouting({ version: '4', additional: { version: '5', weight: 0.1 } });
    const decision = {
      decision: 'keep',
      reasons: [
        'challenger v2 vs champion v1: live AUC 0.701 vs 0.703, a gain of −0.002, less than the +0.005 required',
      ],
      summary: 'flight-delay v2 did not beat champion v1 on auc over its 10% slice',
      report: `s3://artifacts/releases/flight-delay/${release.releaseId}/decision.json`,
    };

    const outcome = await rollbackRelease(
      automatic({
        release: {
          ...release,
          strategy: 'champion-challenger',
          plan: [10, 100],
          decision: DEFAULT_DECISION_POLICY,
        },
        progress: {
          stepIndex: 0,
          percent: 10,
          waitSeconds: 0,
          checks: 120,
          verdict: 'healthy',
          bakeComplete: true,
          isLastStep: false,
          isDecisionStep: true,
          reasons: [],
        },
        decision,
      }),
      ports,
    );

    expect(outcome).toMatchObject({
      outcome: 'not-promoted',
      error: 'ChallengerNotPromoted',
      routing: { version: '4' },
    });
    expect(outcome.summary).toContain(decision.summary);
    expect(outcome.summary).toContain(`(report: ${decision.report})`);
    expect(alias.routing).toEqual({ version: '4' });
    expect((await registry.getProductionVersion('flight-delay'))?.version).toBe(1);
    expect(await store.getRelease(release)).toMatchObject({
      status: 'not-promoted',
      routing: { version: '4' },
      reason: expect.stringContaining(decision.summary),
    });
    expect((await store.getLock(LOCK))?.releasedAt).toBeDefined();
  });
});

describe('automatic rollback during a code release', () => {
  it('stops where it is when a code release stopped the step: no alias write, no registry write', async () => {
    const { alias, registry, store, ports, automatic, release } = await setup();
    await registry.promoteToProduction('flight-delay', 2, { actor: 'release' });

    const outcome = await rollbackRelease(
      automatic({
        progress: undefined,
        failure: {
          Error: 'CodeDeploymentInProgress',
          Cause: JSON.stringify({
            errorMessage: 'a code release is shifting the live alias (CodeDeploy deployment d-1)',
          }),
        },
      }),
      ports,
    );

    expect(outcome).toMatchObject({
      outcome: 'interrupted',
      error: 'CodeDeploymentInProgress',
      routing: { version: '4', additional: { version: '5', weight: 0.25 } },
    });
    expect(alias.updates).toEqual([]);
    expect((await registry.getProductionVersion('flight-delay'))?.version).toBe(2);
    expect(await store.getRelease(release)).toMatchObject({
      status: 'interrupted',
      routing: { version: '4', additional: { version: '5', weight: 0.25 } },
    });
    expect((await store.getLock(LOCK))?.releasedAt).toBeDefined();
  });

  it('does not flip a breached release back while CodeDeploy owns the alias', async () => {
    const { alias, store, ports, automatic, release } = await setup();
    const outcome = await rollbackRelease(automatic(), {
      ...ports,
      codeDeploy: { listActiveDeployments: async () => ['d-7'] },
    });

    expect(outcome).toMatchObject({ outcome: 'interrupted', error: 'CodeDeploymentInProgress' });
    expect(outcome.summary).toContain('CodeDeploy deployment d-7');
    expect(outcome.summary).toContain('step 2 (25%) breached: function errors: too many');
    expect(alias.updates).toEqual([]);
    expect((await store.getRelease(release))?.status).toBe('interrupted');
  });
});

describe('operator rollback', () => {
  it('rolls a finished, handed-back release back in the registry only: the alias at rest follows it', async () => {
    const { alias, registry, store, ports, operator, release } = await setup();
    await registry.promoteToProduction('flight-delay', 2, { actor: 'release' });
    await store.updateRelease(release, { status: 'succeeded', routing: { version: '4' } });
    await store.releaseLock(LOCK, release.executionArn, new Date());
    alias.setRouting({ version: '4' });

    const outcome = await rollbackRelease(operator('wrong labels'), ports);

    expect(outcome).toMatchObject({ outcome: 'rolled-back', routing: { version: '4' } });
    expect(alias.updates).toEqual([]);
    expect((await registry.getProductionVersion('flight-delay'))?.version).toBe(1);
    expect((await store.getRelease(release))?.status).toBe('rolled-back');
  });

  it('refuses to flip an interrupted release back once the code release moved the alias on', async () => {
    const { alias, store, ports, operator, release } = await setup();
    await store.updateRelease(release, { status: 'interrupted' });
    alias.versions.set('6', { version: '6', environment: {} });
    alias.setRouting({ version: '6' });

    await expect(rollbackRelease(operator(), ports)).rejects.toMatchObject({
      name: 'ReleaseRefused',
      message: expect.stringContaining('has moved it on, so flipping back would undo that code'),
    });
    expect(alias.updates).toEqual([]);
  });

  it('says when there is nothing to roll back', async () => {
    const { alias, ports, operator } = await setup();
    const other = { ...operator(), request: { model: 'churn' } };
    await expect(rollbackRelease(other, ports)).rejects.toMatchObject({
      name: 'NothingToRollBack',
      message: 'no release of churn is recorded: nothing to roll back',
    });
    expect(alias.updates).toEqual([]);
  });

  it('refuses to roll back a finished release once the alias has moved on from where it was handed back', async () => {
    const { store, alias, ports, operator, release } = await setup();
    await store.updateRelease(release, { status: 'succeeded', routing: { version: '4' } });
    await store.releaseLock(LOCK, release.executionArn, new Date());
    alias.setRouting({ version: '6' });
    alias.versions.set('6', { version: '6', environment: {} });

    await expect(rollbackRelease(operator(), ports)).rejects.toMatchObject({
      name: 'ReleaseRefused',
      message: expect.stringContaining(
        `${FUNCTION}:${ALIAS} routes v6 100%, not v4 100% as release ${release.releaseId} left it`,
      ),
    });
    expect(alias.routing).toEqual({ version: '6' });
    expect((await store.getLock(LOCK))?.releasedAt).toBeDefined();
  });

  it('refuses to roll back the first Production version of a model', async () => {
    const { store, alias, registry, ports, operator, release } = await setup(0);
    await registry.promoteToProduction('flight-delay', 2, { actor: 'release' });
    await store.updateRelease(release, { status: 'succeeded', routing: { version: '4' } });
    await store.releaseLock(LOCK, release.executionArn, new Date());
    alias.setRouting({ version: '4' });

    await expect(rollbackRelease(operator(), ports)).rejects.toThrow(
      'flight-delay v2 was its first Production version: there is no earlier version to roll back to',
    );
  });

  it('refuses while another release holds the alias', async () => {
    const { store, alias, registry, ports, operator, release } = await setup();
    await registry.promoteToProduction('flight-delay', 2, { actor: 'release' });
    await store.updateRelease(release, { status: 'succeeded' });
    alias.setRouting({ version: '5' });

    await expect(rollbackRelease(operator(), ports)).rejects.toMatchObject({ name: 'ReleaseInProgress' });
    expect(alias.routing).toEqual({ version: '5' });
  });
});
