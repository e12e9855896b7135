// StartShadow on dynalite (registry and shadow item) and an in-memory predict function: the
// checks before anything moves, the alias pointed and warmed before copies flow, the shadow item
// written with its window, and a retry resuming the same shadow.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidRequest, ModelNotFound } from '../../../../functions/lib/errors.ts';
import { DynamoDbModelRegistry } from '../../../../functions/lib/registry/dynamodb-registry.ts';
import {
  ReleaseInProgress,
  ReleaseRefused,
  WarmUpFailed,
} from '../../../../functions/lib/releases/release-errors.ts';
import { pointShadowAtChallenger } from '../../../../functions/lib/releases/shadow-alias.ts';
import { DynamoDbShadowConfigStore } from '../../../../functions/lib/releases/shadow-config.ts';
import { type StartShadowPorts, startShadow } from '../../../../functions/start-shadow/core.ts';
import { REGISTRY_KEYS, startTestDynamoDb, type TestDynamoDb } from '../../../support/local-dynamodb.ts';
import { registerModel, TestClock } from '../../../support/release-fakes.ts';
import { FakeLambdaFunction } from '../../../support/shadow-fakes.ts';

let dynamo: TestDynamoDb;
let registry: DynamoDbModelRegistry;
let shadows: DynamoDbShadowConfigStore;
let fn: FakeLambdaFunction;
let clock: TestClock;
let warmed: Array<{ version: string; event: unknown }>;

const SETTLE = { settleSeconds: 120 };

function ports(): StartShadowPorts {
  return {
    registry,
    shadows,
    pointAlias: (input) => pointShadowAtChallenger(fn.alias('live'), fn.alias('shadow'), input),
    invokeVersion: async (version, event) => {
      warmed.push({ version, event });
      return fn.invoke(version, event);
    },
    now: clock.now,
    log: () => undefined,
  };
}

const request = (over: Record<string, unknown> = {}) => ({
  model: 'flight-delay',
  challengerVersion: 2,
  releaseId: 'release-1',
  durationSeconds: 3600,
  ...over,
});

beforeAll(async () => {
  dynamo = await startTestDynamoDb();
});

afterAll(async () => {
  await dynamo?.stop();
});

beforeEach(async () => {
  const table = await dynamo.createTable(REGISTRY_KEYS);
  registry = new DynamoDbModelRegistry(dynamo.client, table);
  shadows = new DynamoDbShadowConfigStore(dynamo.client, table);
  await registerModel(registry, 'flight-delay', [1, 2, 3], 1);
  fn = new FakeLambdaFunction({ live: '3' });
  clock = new TestClock();
  warmed = [];
});

describe('startShadow', () => {
  it('points the shadow alias at the challenger, warms it, then records the shadow with its window', async () => {
    const started = await startShadow(request(), ports(), SETTLE);
    const startedAt = clock.now().toISOString();
    const until = new Date(clock.ms + 3_600_000).toISOString();
    expect(started).toEqual({
      model: 'flight-delay',
      challengerVersion: 2,
      championVersion: 1,
      functionVersion: '4',
      liveVersion: '3',
      releaseId: 'release-1',
      startedAt,
      until,
      reportAfter: new Date(clock.ms + 3_720_000).toISOString(),
      waitSeconds: 3720,
      resumed: false,
    });
    expect(fn.aliases.get('shadow')?.routing).toEqual({ version: '4' });
    expect(warmed.map((w) => w.version)).toEqual(['4', '4']);
    expect(warmed[0]?.event).toMatchObject({ pathParameters: { model: 'flight-delay' } });
    expect(await shadows.get()).toEqual({
      model: 'flight-delay',
      challengerVersion: 2,
      championVersion: 1,
      functionVersion: '4',
      releaseId: 'release-1',
      startedAt,
      until,
      state: 'active',
    });
  });

  it('resumes its own shadow on a retry: same window, same version, nothing published again', async () => {
    const first = await startShadow(request(), ports(), SETTLE);
    clock.advance(30);
    const again = await startShadow(request(), ports(), SETTLE);
    expect(again).toEqual({ ...first, waitSeconds: first.waitSeconds - 30, resumed: true });
    expect(fn.published).toEqual(['4']);
  });

  it("refuses while another release's shadow runs, without touching the alias", async () => {
    await startShadow(request(), ports(), SETTLE);
    const updates = fn.updates.length;
    const refused = startShadow(request({ releaseId: 'release-2', challengerVersion: 3 }), ports(), SETTLE);
    await expect(refused).rejects.toBeInstanceOf(ReleaseInProgress);
    await expect(refused).rejects.toThrow(/a shadow is already running: flight-delay v2 \(release release-1/);
    expect(fn.updates).toHaveLength(updates);
  });

  it('starts another release once the running shadow has ended', async () => {
    await startShadow(request({ durationSeconds: 60 }), ports(), SETTLE);
    clock.advance(61);
    const next = await startShadow(
      request({ releaseId: 'release-2', challengerVersion: 3 }),
      ports(),
      SETTLE,
    );
    expect(next).toMatchObject({ challengerVersion: 3, functionVersion: '5', resumed: false });
  });

  it('refuses a challenger that is not Staging, naming its stage', async () => {
    await registry.archiveVersion('flight-delay', 3, { actor: 'test' });
    await expect(startShadow(request({ challengerVersion: 3 }), ports(), SETTLE)).rejects.toThrow(
      new ReleaseRefused('flight-delay v3 is Archived; only a Staging version can be released (shadowed)'),
    );
    await expect(startShadow(request({ challengerVersion: 1 }), ports(), SETTLE)).rejects.toThrow(
      /v1 is Production/,
    );
  });

  it('refuses an unknown version and a model with no champion to compare with', async () => {
    await expect(startShadow(request({ challengerVersion: 9 }), ports(), SETTLE)).rejects.toBeInstanceOf(
      ModelNotFound,
    );
    await registerModel(registry, 'new-model', [1]);
    await expect(
      startShadow(request({ model: 'new-model', challengerVersion: 1 }), ports(), SETTLE),
    ).rejects.toThrow('new-model has no Production version: a shadow needs a champion to compare with');
  });

  it('refuses bad input, naming the field', async () => {
    const refused = startShadow(request({ durationSeconds: 0, extra: true }), ports(), SETTLE);
    await expect(refused).rejects.toBeInstanceOf(InvalidRequest);
    await expect(refused).rejects.toThrow(/durationSeconds/);
    await expect(refused).rejects.toThrow(/extra/);
  });

  it('refuses a challenger that cannot serve its model, before any copy is sent', async () => {
    fn.invoke = () => ({
      payload: {
        statusCode: 503,
        body: '{"error":{"code":"ModelUnavailable","message":"artifact missing"}}',
      },
    });
    await expect(startShadow(request(), ports(), SETTLE)).rejects.toThrow(
      new WarmUpFailed(
        'shadow version 4 cannot serve flight-delay v2: warm-up answered 503 artifact missing',
      ),
    );
    expect(await shadows.get()).toBeUndefined();
  });

  it('refuses while a code release (CodeDeploy) shifts the live alias, before the shadow alias moves', async () => {
    const refused = startShadow(
      request(),
      { ...ports(), codeDeploy: { listActiveDeployments: async () => ['d-9'] } },
      SETTLE,
    );
    await expect(refused).rejects.toMatchObject({
      name: 'CodeDeploymentInProgress',
      message: expect.stringContaining('CodeDeploy deployment d-9'),
    });
    expect(fn.updates).toEqual([]);
    expect(await shadows.get()).toBeUndefined();
  });

  it('refuses a version whose warm-up answers name another model version than the challenger', async () => {
    fn.invoke = () => ({ payload: { statusCode: 400, headers: { 'x-model-version': '1' }, body: '{}' } });
    await expect(startShadow(request(), ports(), SETTLE)).rejects.toThrow(
      new WarmUpFailed('shadow version 4 serves flight-delay v1, not flight-delay v2'),
    );
  });
});

describe('startShadow from a release request (strategy shadow)', () => {
  const releaseRequest = (over: Record<string, unknown> = {}) => ({
    request: { model: 'flight-delay', version: 2, strategy: 'shadow', requestedBy: 'test', ...over },
    releaseId: 'flight-delay-v2-20261127T080000Z',
  });

  it("copies for the request's bake and waits its settle before the report", async () => {
    const started = await startShadow(releaseRequest({ bake: '30m', settle: '0s' }), ports(), SETTLE);

    expect(started).toMatchObject({
      model: 'flight-delay',
      challengerVersion: 2,
      releaseId: 'flight-delay-v2-20261127T080000Z',
      startedAt: '2026-11-27T08:00:00.000Z',
      until: '2026-11-27T08:30:00.000Z',
      reportAfter: '2026-11-27T08:30:00.000Z',
    });
  });

  it("copies for the function's default window, with its settle, when the request names no bake", async () => {
    const started = await startShadow(releaseRequest(), ports(), { settleSeconds: 120, windowSeconds: 900 });

    expect(started).toMatchObject({
      until: '2026-11-27T08:15:00.000Z',
      reportAfter: '2026-11-27T08:17:00.000Z',
      waitSeconds: 1020,
    });
  });

  it('refuses a plan or a check interval: a shadow moves no traffic and is judged once', async () => {
    await expect(startShadow(releaseRequest({ plan: '5,100' }), ports(), SETTLE)).rejects.toMatchObject({
      name: 'InvalidRequest',
      message: 'a shadow moves no traffic on the live alias: it takes no plan',
    });
    await expect(
      startShadow(releaseRequest({ checkInterval: '10s' }), ports(), SETTLE),
    ).rejects.toMatchObject({
      name: 'InvalidRequest',
    });
    expect(fn.updates).toEqual([]);
  });

  it('refuses a window longer than a week, naming the bake', async () => {
    await expect(startShadow(releaseRequest({ bake: '200h' }), ports(), SETTLE)).rejects.toMatchObject({
      name: 'InvalidRequest',
      message: "a shadow's window (its bake) is 1 s to 7 days (got 720000 s)",
    });
  });

  it('refuses a request of another strategy', async () => {
    await expect(startShadow(releaseRequest({ strategy: 'canary' }), ports(), SETTLE)).rejects.toMatchObject({
      name: 'InvalidRequest',
      message: expect.stringContaining('invalid shadow release request'),
    });
  });
});
