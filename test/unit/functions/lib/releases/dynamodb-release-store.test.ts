// The release store on dynalite: the alias lock (one holder, expiry, renewal, letting go), release
// records (idempotent create, conditional close), check items — and the registry's own reads
// untouched by any of them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReleaseRecord } from '../../../../../functions/lib/releases/release-record.ts';
import { startTestDynamoDb, type TestDynamoDb } from '../../../../support/local-dynamodb.ts';
import { healthyStats, registerModel, releaseTables } from '../../../../support/release-fakes.ts';

let dynamo: TestDynamoDb;
beforeAll(async () => {
  dynamo = await startTestDynamoDb();
});
afterAll(async () => {
  await dynamo?.stop();
});

const T0 = new Date('2026-11-27T08:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const lock = (executionArn: string, expiresAt = at(900)) => ({
  target: 'fn:live',
  releaseId: executionArn.split(':').pop() ?? '',
  executionArn,
  model: 'flight-delay',
  modelVersion: 3,
  startedAt: T0.toISOString(),
  expiresAt: expiresAt.toISOString(),
});
const A = 'arn:aws:states:eu-west-1:1:execution:release:a';
const B = 'arn:aws:states:eu-west-1:1:execution:release:b';

function record(over: Partial<ReleaseRecord> = {}): ReleaseRecord {
  return {
    model: 'flight-delay',
    startedAt: T0.toISOString(),
    releaseId: 'flight-delay-v3-20261127T080000Z',
    executionArn: A,
    modelVersion: 3,
    previousModelVersion: 2,
    functionName: 'fn',
    alias: 'live',
    previousFunctionVersion: '4',
    strategy: 'canary',
    plan: [5, 25, 50, 100],
    bakeSeconds: 60,
    checkIntervalSeconds: 12,
    thresholds: {
      minRequests: 10,
      maxErrorRateIncrease: 0.02,
      minLatencySamples: 20,
      minScoreSamples: 20,
      minChallengerRequestsToPromote: 0,
      maxLatencyP99Ratio: 1.5,
      latencyP99SlackMs: 100,
      maxMeanScoreShift: 0.1,
    },
    alarmNames: ['S-PredictErrors'],
    status: 'publishing',
    routing: { version: '4' },
    checks: 0,
    requestedBy: 'test',
    updatedAt: T0.toISOString(),
    ...over,
  };
}

describe('alias lock', () => {
  it('lets one release hold an alias and refuses another, naming the holder', async () => {
    const { store } = await releaseTables(dynamo);
    await store.acquireLock(lock(A), T0);

    await expect(store.acquireLock(lock(B), at(10))).rejects.toMatchObject({
      name: 'ReleaseInProgress',
      message: expect.stringContaining(
        'release a (flight-delay v3, started 2026-11-27T08:00:00.000Z) is shifting fn:live',
      ),
    });
    expect((await store.getLock('fn:live'))?.executionArn).toBe(A);
  });

  it('lets the holder take it again (a retried start)', async () => {
    const { store } = await releaseTables(dynamo);
    await store.acquireLock(lock(A), T0);
    await expect(store.acquireLock(lock(A), at(5))).resolves.toBeUndefined();
  });

  it('passes to the next release once the holder lets go, and only the holder can', async () => {
    const { store } = await releaseTables(dynamo);
    await store.acquireLock(lock(A), T0);
    await store.releaseLock('fn:live', B, at(1));
    await expect(store.acquireLock(lock(B), at(2))).rejects.toMatchObject({ name: 'ReleaseInProgress' });

    await store.releaseLock('fn:live', A, at(3));
    await store.acquireLock(lock(B), at(4));

    expect(await store.getLock('fn:live')).toMatchObject({ executionArn: B });
    expect((await store.getLock('fn:live'))?.releasedAt).toBeUndefined();
  });

  it('expires when its holder stops renewing (a crashed execution), and renewals keep it', async () => {
    const { store } = await releaseTables(dynamo);
    await store.acquireLock(lock(A, at(60)), T0);
    expect(await store.renewLock('fn:live', A, at(120))).toBe(true);
    await expect(store.acquireLock(lock(B), at(90))).rejects.toMatchObject({ name: 'ReleaseInProgress' });

    await store.acquireLock(lock(B), at(121));

    expect(await store.renewLock('fn:live', A, at(300))).toBe(false);
    expect((await store.getLock('fn:live'))?.executionArn).toBe(B);
  });

  it('is one lock per alias: another alias is free', async () => {
    const { store } = await releaseTables(dynamo);
    await store.acquireLock(lock(A), T0);
    await expect(store.acquireLock({ ...lock(B), target: 'fn:shadow' }, T0)).resolves.toBeUndefined();
  });
});

describe('release records', () => {
  it('keeps the first record when a start is retried, and finds the latest per model', async () => {
    const { store } = await releaseTables(dynamo);
    await store.createRelease(record());
    await store.createRelease(record({ status: 'baking' }));
    await store.createRelease(
      record({ startedAt: at(600).toISOString(), releaseId: 'flight-delay-v4-later' }),
    );

    expect((await store.getRelease(record()))?.status).toBe('publishing');
    expect((await store.latestRelease('flight-delay'))?.releaseId).toBe('flight-delay-v4-later');
    expect(await store.latestRelease('other')).toBeUndefined();
  });

  it('does not close a record an operator asked to roll back', async () => {
    const { store } = await releaseTables(dynamo);
    await store.createRelease(record());
    await store.updateRelease(record(), {
      abortRequested: { by: 'alice', reason: 'no', at: at(1).toISOString() },
    });

    expect(await store.updateRelease(record(), { status: 'succeeded' }, { unlessAborted: true })).toBe(false);
    expect((await store.getRelease(record()))?.status).toBe('publishing');
  });

  it('fails to update a record that does not exist', async () => {
    const { store } = await releaseTables(dynamo);
    await expect(store.updateRelease(record(), { status: 'baking' })).rejects.toThrow(
      'no release record flight-delay-v3-20261127T080000Z of flight-delay to update',
    );
  });

  it('stores one item per check, a retried check overwriting its own', async () => {
    const { store } = await releaseTables(dynamo);
    const check = (step: number, n: number, healthy = true) => ({
      step,
      check: n,
      at: at(n).toISOString(),
      percent: 5,
      healthy,
      breaches: [],
      notes: [],
      alarms: [],
      champion: healthyStats('4'),
      challenger: healthyStats('5', 3, { latencyP99Ms: undefined }),
    });
    await store.putCheck(record(), check(0, 1));
    await store.putCheck(record(), check(0, 2));
    await store.putCheck(record(), check(0, 2, false));
    await store.putCheck(record(), check(1, 1));

    const checks = await store.listChecks(record());
    expect(checks.map((c) => [c.step, c.check, c.healthy])).toEqual([
      [0, 1, true],
      [0, 2, false],
      [1, 1, true],
    ]);
    expect(checks[0]?.challenger).not.toHaveProperty('latencyP99Ms');
  });

  it("leaves the registry's model listing and model reads as they were", async () => {
    const { registry, store } = await releaseTables(dynamo);
    await registerModel(registry, 'flight-delay', [1, 2], 1);
    await store.acquireLock(lock(A), T0);
    await store.createRelease(record());
    await store.putCheck(record(), {
      step: 0,
      check: 1,
      at: T0.toISOString(),
      percent: 5,
      healthy: true,
      breaches: [],
      notes: [],
      alarms: [],
      champion: healthyStats('4'),
      challenger: healthyStats('5'),
    });

    expect(await registry.listModels()).toEqual([
      { model: 'flight-delay', latestVersion: 2, productionVersion: 1, stageRevision: 1 },
    ]);
    expect((await registry.listVersions('flight-delay')).map((v) => v.version)).toEqual([1, 2]);
    expect((await registry.listAuditEvents('flight-delay')).map((e) => e.action)).toEqual([
      'register',
      'register',
      'promote',
    ]);
  });
});
