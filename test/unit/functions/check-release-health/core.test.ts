// CheckHealth: how long the next wait is, when a bake is done, what counts as too little traffic,
// and the read-backs that stop a release whose alias, registry or lock moved under it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkReleaseHealth } from '../../../../functions/check-release-health/core.ts';
import { lockTarget } from '../../../../functions/lib/releases/release-record.ts';
import type { Progress } from '../../../../functions/lib/releases/release-state.ts';
import { startTestDynamoDb, type TestDynamoDb } from '../../../support/local-dynamodb.ts';
import {
  ALIAS,
  FakeAliasControl,
  FakeHealthProbe,
  FUNCTION,
  healthyStats,
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

const T0 = Date.parse('2026-11-27T08:00:00.000Z');
const progress = (over: Partial<Progress> = {}): Progress => ({
  stepIndex: 0,
  percent: 5,
  stepStartedAt: new Date(T0).toISOString(),
  bakeUntil: new Date(T0 + 60_000).toISOString(),
  waitSeconds: 12,
  checks: 0,
  verdict: 'baking',
  bakeComplete: false,
  isLastStep: false,
  isDecisionStep: false,
  reasons: [],
  ...over,
});

async function setup() {
  const { registry, store } = await releaseTables(dynamo);
  await registerModel(registry, 'flight-delay', [1, 2], 1);
  const release = releaseContext();
  await store.createRelease(startedRecord(release));
  await store.acquireLock(
    {
      target: lockTarget(FUNCTION, ALIAS),
      releaseId: release.releaseId,
      executionArn: release.executionArn,
      model: release.model,
      modelVersion: 2,
      startedAt: release.startedAt,
      expiresAt: new Date(T0 + 900_000).toISOString(),
    },
    new Date(T0),
  );
  const alias = new FakeAliasControl();
  alias.versions.set('5', { version: '5', environment: {} });
  alias.setRouting({ version: '4', additional: { version: '5', weight: 0.05 } });
  const clock = new TestClock(T0);
  const health = new FakeHealthProbe(release.alarmNames);
  const ports = { alias, registry, store, health, now: clock.now, log: noLog };
  const input = (p: Progress) => ({
    release,
    published: { functionVersion: '5', pins: {}, warmed: 2 },
    progress: p,
  });
  return { registry, store, alias, clock, health, ports, input, release };
}

describe('checkReleaseHealth', () => {
  it('waits a check interval, then what is left of the bake, then says the bake is done', async () => {
    const { clock, ports, input } = await setup();
    clock.advance(12);
    const first = await checkReleaseHealth(input(progress()), ports);
    expect(first).toMatchObject({ verdict: 'healthy', bakeComplete: false, waitSeconds: 12, checks: 1 });

    clock.advance(43);
    expect(await checkReleaseHealth(input(first), ports)).toMatchObject({
      bakeComplete: false,
      waitSeconds: 5,
      checks: 2,
    });

    clock.advance(5);
    expect(await checkReleaseHealth(input(first), ports)).toMatchObject({
      bakeComplete: true,
      waitSeconds: 0,
    });
  });

  it('compares the versions since the release started, and records every check', async () => {
    const { clock, ports, input, health, store, release } = await setup();
    clock.advance(12);
    await checkReleaseHealth(input(progress()), ports);

    expect(health.queries[0]).toEqual({
      functionName: FUNCTION,
      alias: ALIAS,
      model: 'flight-delay',
      champion: '4',
      challenger: '5',
      start: new Date(release.startedAt),
      end: new Date(T0 + 12_000),
    });
    const record = await store.latestRelease('flight-delay');
    expect(record).toMatchObject({ checks: 1, lastCheck: { step: 0, check: 1, healthy: true, percent: 5 } });
    expect(await store.listChecks(release)).toHaveLength(1);
  });

  it('is not a breach when the challenger has had too little traffic to judge', async () => {
    const { clock, ports, input, health } = await setup();
    health.stats = (_, q) => ({
      champion: healthyStats(q.champion, 300),
      challenger: healthyStats(q.challenger, 2, { functionErrors: 2 }),
    });
    clock.advance(60);

    const next = await checkReleaseHealth(input(progress()), ports);

    expect(next).toMatchObject({ verdict: 'healthy', bakeComplete: true, reasons: [] });
  });

  it('breaches, as inconclusive, when the last bake ends with fewer challenger requests than a promotion needs', async () => {
    const { clock, ports, input, health, release, alias } = await setup();
    alias.setRouting({ version: '5' });
    const strict = { ...release, thresholds: { ...release.thresholds, minChallengerRequestsToPromote: 100 } };
    health.stats = (_, q) => ({
      champion: healthyStats(q.champion, 3000),
      challenger: healthyStats(q.challenger, 30),
    });
    const last = progress({ stepIndex: 3, percent: 100, isLastStep: true });
    const run = (p: Progress) => checkReleaseHealth({ ...input(p), release: strict }, ports);

    clock.advance(12);
    // Mid-bake, too little traffic is still only a note.
    expect(await run(last)).toMatchObject({ verdict: 'healthy', bakeComplete: false });
    clock.advance(48);
    const ended = await run(last);

    expect(ended).toMatchObject({ verdict: 'breach', bakeComplete: false });
    expect(ended.reasons).toEqual([
      'inconclusive: challenger v5 answered 30 prediction requests during the release, fewer than the 100 it needs before it may be promoted',
    ]);
  });

  it('reports a breach with its reasons and does not finish the bake', async () => {
    const { clock, ports, input, health } = await setup();
    health.stats = (_, q) => ({
      champion: healthyStats(q.champion, 300),
      challenger: healthyStats(q.challenger, 300, { meanScore: 0.6 }),
    });
    clock.advance(60);

    const next = await checkReleaseHealth(input(progress()), ports);

    expect(next.verdict).toBe('breach');
    expect(next.bakeComplete).toBe(false);
    expect(next.reasons).toEqual([
      'mean score: challenger v5 0.600 vs champion v4 0.210 (+0.390), more than ±0.1 apart',
    ]);
  });

  it('fails loudly when the registry Production pointer moved during the release', async () => {
    const { ports, input, registry } = await setup();
    await registry.promoteToProduction('flight-delay', 2, { actor: 'someone' });
    await expect(checkReleaseHealth(input(progress()), ports)).rejects.toMatchObject({
      name: 'ReleaseStateMismatch',
      message: expect.stringContaining(
        "flight-delay's Production version is v2, but was v1 when the release started",
      ),
    });
  });

  it('fails loudly when the release lost its lock', async () => {
    const { ports, input, store, release } = await setup();
    await store.releaseLock(lockTarget(FUNCTION, ALIAS), release.executionArn, new Date(T0));
    await expect(checkReleaseHealth(input(progress()), ports)).rejects.toThrow(
      `release ${release.releaseId} no longer holds the lock on ${FUNCTION}:${ALIAS}`,
    );
  });

  it('turns into a rollback when an operator asked for one', async () => {
    const { ports, input, store, release } = await setup();
    await store.updateRelease(release, {
      abortRequested: { by: 'alice', reason: 'stop', at: new Date(T0).toISOString() },
    });
    expect(await checkReleaseHealth(input(progress()), ports)).toMatchObject({
      verdict: 'aborted',
      reasons: ['rolled back by alice: stop'],
    });
  });
});
