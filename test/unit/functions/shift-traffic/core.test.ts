// ShiftTraffic: each step's routing, a retry after a lost answer, and the checks before it moves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Progress } from '../../../../functions/lib/releases/release-state.ts';
import { shiftTraffic } from '../../../../functions/shift-traffic/core.ts';
import { startTestDynamoDb, type TestDynamoDb } from '../../../support/local-dynamodb.ts';
import {
  FakeAliasControl,
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

const before: Progress = {
  stepIndex: -1,
  percent: 0,
  waitSeconds: 0,
  checks: 0,
  verdict: 'starting',
  bakeComplete: false,
  isLastStep: false,
  isDecisionStep: false,
  reasons: [],
};

async function setup() {
  const { registry, store } = await releaseTables(dynamo);
  await registerModel(registry, 'flight-delay', [1, 2], 1);
  const release = releaseContext();
  await store.createRelease(startedRecord(release));
  const alias = new FakeAliasControl();
  alias.versions.set('5', { version: '5', environment: {} });
  const clock = new TestClock();
  const ports = { alias, registry, store, now: clock.now, log: noLog };
  const input = (progress: Progress) => ({
    release,
    published: { functionVersion: '5', pins: {}, warmed: 2 },
    progress,
  });
  return { alias, registry, store, ports, input, release, clock };
}

describe('shiftTraffic', () => {
  it('moves the first step, starts its bake and records the routing it set', async () => {
    const { alias, ports, input, store, clock } = await setup();

    const progress = await shiftTraffic(input(before), ports);

    expect(alias.routing).toEqual({ version: '4', additional: { version: '5', weight: 0.05 } });
    expect(progress).toEqual({
      stepIndex: 0,
      percent: 5,
      stepStartedAt: clock.now().toISOString(),
      bakeUntil: new Date(clock.ms + 60_000).toISOString(),
      waitSeconds: 12,
      checks: 0,
      verdict: 'baking',
      bakeComplete: false,
      isLastStep: false,
      isDecisionStep: false,
      reasons: [],
    });
    expect(await store.latestRelease('flight-delay')).toMatchObject({
      status: 'baking',
      routing: { version: '4', additional: { version: '5', weight: 0.05 } },
      step: { index: 0, percent: 5 },
    });
  });

  it('puts the new version on the primary slot at 100 %', async () => {
    const { alias, ports, input } = await setup();
    alias.setRouting({ version: '4', additional: { version: '5', weight: 0.5 } });
    const progress = await shiftTraffic(input({ ...before, stepIndex: 2, percent: 50 }), ports);
    expect(alias.routing).toEqual({ version: '5' });
    expect(progress.isLastStep).toBe(true);
  });

  it('finds the step already in place when retried after a lost answer, and does not update again', async () => {
    const { alias, ports, input } = await setup();
    await shiftTraffic(input(before), ports);
    await shiftTraffic(input(before), ports);
    expect(alias.updates).toHaveLength(1);
  });

  it('fails loudly when the alias is not where the release left it', async () => {
    const { alias, ports, input } = await setup();
    alias.setRouting({ version: '3' });
    await expect(shiftTraffic(input(before), ports)).rejects.toMatchObject({
      name: 'ReleaseStateMismatch',
      message: expect.stringContaining(
        'before step 1 TestStack-Predict:live routes v3 100%, but the release left it at v4 100%',
      ),
    });
    expect(alias.updates).toEqual([]);
  });

  it('does not move the alias while a code release (CodeDeploy) is shifting it', async () => {
    const { alias, ports, input } = await setup();
    const codeDeploy = { listActiveDeployments: async () => ['d-XYZ'] };
    await expect(shiftTraffic(input(before), { ...ports, codeDeploy })).rejects.toMatchObject({
      name: 'CodeDeploymentInProgress',
    });
    expect(alias.updates).toEqual([]);
  });

  it('fails loudly when the alias moves between its read and the update', async () => {
    const { alias, ports, input } = await setup();
    let reads = 0;
    alias.beforeGetAlias = () => {
      if (++reads === 1) queueMicrotask(() => alias.setRouting({ version: '4' }));
    };
    await expect(shiftTraffic(input(before), ports)).rejects.toMatchObject({ name: 'ReleaseStateMismatch' });
  });
});
