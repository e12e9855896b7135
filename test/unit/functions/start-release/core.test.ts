// StartRelease: what a release is refused for, and what it fixes when it may start.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReleasePolicy } from '../../../../functions/lib/releases/release-plan.ts';
import { lockTarget } from '../../../../functions/lib/releases/release-record.ts';
import { startRelease } from '../../../../functions/start-release/core.ts';
import { startTestDynamoDb, type TestDynamoDb } from '../../../support/local-dynamodb.ts';
import {
  ALIAS,
  FakeAliasControl,
  FakeHealthProbe,
  FUNCTION,
  noLog,
  registerModel,
  releaseTables,
  TestClock,
} from '../../../support/release-fakes.ts';

let dynamo: TestDynamoDb;
beforeAll(async () => {
  dynamo = await startTestDynamoDb();
});
afterAll(async () => {
  await dynamo?.stop();
});

const ALARMS = ['S-PredictErrors', 'S-ApiLatencyP99'];
const LOCK = lockTarget(FUNCTION, ALIAS);

async function setup() {
  const { registry, store } = await releaseTables(dynamo);
  await registerModel(registry, 'flight-delay', [1, 2, 3], 1);
  await registry.archiveVersion('flight-delay', 3, { actor: 'test' });
  const alias = new FakeAliasControl();
  const health = new FakeHealthProbe(ALARMS);
  const ports = {
    registry,
    store,
    alias,
    health,
    policy: ReleasePolicy.parse({ models: { 'flight-delay': { strategy: 'linear', bakeSeconds: 120 } } }),
    alarmNames: ALARMS,
    now: new TestClock().now,
    log: noLog,
  };
  return { registry, store, alias, health, ports };
}

const event = (request: Record<string, unknown>, name = 'flight-delay-v2-20261127T080000Z') => ({
  request: { model: 'flight-delay', version: 2, ...request },
  executionName: name,
  executionArn: `arn:aws:states:eu-west-1:1:execution:release:${name}`,
  startedAt: '2026-11-27T08:00:00.000Z',
});

describe('startRelease', () => {
  it("takes the lock, records the release and fixes its settings from the model's policy", async () => {
    const { store, ports } = await setup();

    const release = await startRelease(event({ requestedBy: 'alice' }), ports);

    expect(release).toMatchObject({
      releaseId: 'flight-delay-v2-20261127T080000Z',
      model: 'flight-delay',
      modelVersion: 2,
      previousModelVersion: 1,
      functionName: FUNCTION,
      alias: ALIAS,
      previousFunctionVersion: '4',
      strategy: 'linear',
      plan: [25, 50, 75, 100],
      bakeSeconds: 120,
      checkIntervalSeconds: 24,
      alarmNames: ALARMS,
      startedAt: '2026-11-27T08:00:00.000Z',
      requestedBy: 'alice',
    });
    expect(await store.getLock(LOCK)).toMatchObject({
      releaseId: release.releaseId,
      model: 'flight-delay',
      modelVersion: 2,
    });
    expect(await store.latestRelease('flight-delay')).toMatchObject({
      status: 'publishing',
      routing: { version: '4' },
    });
  });

  it('writes the same record when retried', async () => {
    const { store, ports } = await setup();
    await startRelease(event({}), ports);
    await startRelease(event({}), ports);
    expect((await store.latestRelease('flight-delay'))?.releaseId).toBe('flight-delay-v2-20261127T080000Z');
  });

  it.each([
    [
      1,
      'flight-delay v1 is Production, not Staging: only a Staging version can be released (it is already the Production version)',
    ],
    [3, 'flight-delay v3 is Archived, not Staging: only a Staging version can be released'],
  ])('refuses v%i, which is not Staging', async (version, message) => {
    const { store, ports } = await setup();
    await expect(startRelease(event({ version }), ports)).rejects.toMatchObject({
      name: 'ReleaseRefused',
      message,
    });
    expect(await store.getLock(LOCK)).toBeUndefined();
  });

  it('refuses a version the registry does not have', async () => {
    const { ports } = await setup();
    await expect(startRelease(event({ version: 9 }), ports)).rejects.toMatchObject({
      name: 'ModelNotFound',
      message: 'flight-delay has no version 9 in the registry',
    });
  });

  it('refuses a second release while another holds the alias, naming it', async () => {
    const { ports } = await setup();
    await startRelease(event({}), ports);

    await expect(startRelease(event({}, 'flight-delay-v2-20261127T080005Z'), ports)).rejects.toMatchObject({
      name: 'ReleaseInProgress',
      message: expect.stringMatching(
        /^release flight-delay-v2-20261127T080000Z \(flight-delay v2, started .*\) is shifting TestStack-Predict:live/,
      ),
    });
  });

  it('refuses an alias that is not at rest (it routes to two versions), and lets go of the lock', async () => {
    const { store, alias, ports } = await setup();
    alias.setRouting({ version: '4', additional: { version: '3', weight: 0.1 } });

    // The guard's own refusal (assertModelReleaseMayStart): a release must start from, and hand
    // back to, one version.
    await expect(startRelease(event({}), ports)).rejects.toMatchObject({
      name: 'AliasNotAtRest',
      message: expect.stringContaining('the live alias is not at rest (v4 90% + v3 10%)'),
    });
    expect((await store.getLock(LOCK))?.releasedAt).toBeDefined();
  });

  it('refuses while a watched alarm is in ALARM', async () => {
    const { health, ports } = await setup();
    health.alarmStates = [
      { name: 'S-PredictErrors', state: 'OK' },
      { name: 'S-ApiLatencyP99', state: 'ALARM', reason: 'p99 412 ms > 150 ms' },
    ];
    await expect(startRelease(event({}), ports)).rejects.toMatchObject({
      name: 'ReleaseRefused',
      message:
        'alarm S-ApiLatencyP99 is in ALARM (p99 412 ms > 150 ms): a release now would roll back at its first check; resolve it first',
    });
  });

  it('refuses to run unwatched when a configured alarm does not exist', async () => {
    const { health, ports } = await setup();
    health.alarmStates = [{ name: 'S-PredictErrors', state: 'OK' }];
    await expect(startRelease(event({}), ports)).rejects.toMatchObject({
      name: 'ReleaseRefused',
      message: expect.stringContaining('the release watches alarm S-ApiLatencyP99, which does not exist'),
    });
  });

  it('refuses while a code release (CodeDeploy) is shifting the alias, and lets go of the lock', async () => {
    const { store, ports } = await setup();
    const codeDeploy = { listActiveDeployments: async () => ['d-ABC123'] };

    await expect(startRelease(event({}), { ...ports, codeDeploy })).rejects.toMatchObject({
      name: 'CodeDeploymentInProgress',
      message: expect.stringContaining('CodeDeploy deployment d-ABC123'),
    });
    expect((await store.getLock(LOCK))?.releasedAt).toBeDefined();
  });

  it('refuses strategy shadow: the state machine runs it on the shadow alias, not as steps', async () => {
    const { store, ports } = await setup();
    await expect(startRelease(event({ strategy: 'shadow' }), ports)).rejects.toMatchObject({
      name: 'InvalidRequest',
      message: expect.stringContaining('strategy shadow moves no traffic on the live alias'),
    });
    expect(await store.getLock(LOCK)).toBeUndefined();
  });

  it('refuses bad settings before touching anything', async () => {
    const { store, ports } = await setup();
    await expect(startRelease(event({ plan: '5,25' }), ports)).rejects.toMatchObject({
      name: 'InvalidRequest',
      message: 'plan 5,25: the last step of a plan must be 100',
    });
    await expect(startRelease({ request: { model: 'Bad Name', version: 2 } }, ports)).rejects.toMatchObject({
      name: 'InvalidRequest',
    });
    expect(await store.getLock(LOCK)).toBeUndefined();
  });
});
