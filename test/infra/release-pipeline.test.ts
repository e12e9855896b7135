// The release pipeline: its ASL file (valid, filled in exactly by the construct's substitutions,
// every failure path ending in the rollback), whole releases run through it on
// aws-local-stepfunctions with the real step cores — a fake Lambda alias and health probe, the
// registry and release store on dynalite — and what the construct synthesizes (functions, their
// exact grants, the state machine's rights, the output).
import '../../local/stepfunctions/promise-with-resolvers.ts';
import { readFileSync } from 'node:fs';
import aslValidator from 'asl-validator';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkReleaseHealth } from '../../functions/check-release-health/core.ts';
import { finishRelease } from '../../functions/finish-release/core.ts';
import { finishShadow } from '../../functions/finish-shadow/core.ts';
import { TransientError } from '../../functions/lib/errors.ts';
import type { VersionStats } from '../../functions/lib/releases/health.ts';
import { ReleasePolicy } from '../../functions/lib/releases/release-plan.ts';
import { lockTarget } from '../../functions/lib/releases/release-record.ts';
import { pointShadowAtChallenger } from '../../functions/lib/releases/shadow-alias.ts';
import { DynamoDbShadowConfigStore } from '../../functions/lib/releases/shadow-config.ts';
import { publishReleaseVersion } from '../../functions/publish-release-version/core.ts';
import { rollbackRelease } from '../../functions/rollback-release/core.ts';
import { shiftTraffic } from '../../functions/shift-traffic/core.ts';
import { startRelease } from '../../functions/start-release/core.ts';
import { startShadow } from '../../functions/start-shadow/core.ts';
import { ArtifactStore } from '../../infra/constructs/artifact-store.ts';
import { DataStore } from '../../infra/constructs/data-store.ts';
import { ModelRegistry } from '../../infra/constructs/model-registry.ts';
import { RELEASE_ASL_FILE, ReleasePipeline } from '../../infra/constructs/release-pipeline.ts';
import { startTestDynamoDb, type TestDynamoDb } from '../support/local-dynamodb.ts';
import { memoryObjectStore } from '../support/memory-object-store.ts';
import {
  ALIAS,
  FakeAliasControl,
  FakeHealthProbe,
  FUNCTION,
  healthyStats,
  noLog,
  registerModel,
  releaseTables,
  TestClock,
} from '../support/release-fakes.ts';
import { captureRecord, FakeLambdaFunction, MemoryCaptureObjects } from '../support/shadow-fakes.ts';
import { synthStack } from './synth-stack.ts';
import { getAtt, idIn, type PolicyStatement, roleIn, statementsIn } from './template-queries.ts';

interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly Parameters?: Record<string, unknown>;
  readonly ResultPath?: string | null;
  readonly Retry?: Array<{ ErrorEquals: string[]; MaxAttempts?: number; JitterStrategy?: string }>;
  readonly Catch?: Array<{ ErrorEquals: string[]; ResultPath?: string; Next: string }>;
  readonly Next?: string;
}
interface AslMachine {
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
}

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const PLACEHOLDER = /\$\{([^}]*)\}/g;
const aslText = readFileSync(RELEASE_ASL_FILE, 'utf8');
const placeholders = [...new Set([...aslText.matchAll(PLACEHOLDER)].map((m) => m[1] ?? ''))].sort();
const TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:mlops-notifications`;

function realisticValue(name: string): string {
  if (name.endsWith('FunctionArn'))
    return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:mlops-${name.slice(0, -'FunctionArn'.length)}`;
  if (name === 'NotificationsTopicArn') return TOPIC_ARN;
  throw new Error(`no realistic value for placeholder \${${name}}`);
}
const definition = (): AslMachine =>
  JSON.parse(aslText.replace(PLACEHOLDER, (_, name: string) => realisticValue(name))) as AslMachine;
const asl = definition();
const states = Object.entries(asl.States);
const lambdaTasks = states.filter(([, s]) => s.Type === 'Task' && s.Resource?.startsWith('arn:aws:lambda:'));

describe('release ASL (statemachines/release.asl.json)', () => {
  it('passes asl-validator once its placeholders hold realistic ARNs', () => {
    const result = aslValidator(definition());

    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('retries every Lambda task on transient faults with jittered backoff', () => {
    expect(lambdaTasks.map(([name]) => name).sort()).toEqual([
      'CheckHealth',
      'DecideChallenger',
      'FinishRelease',
      'FinishShadow',
      'HandBackAlias',
      'PublishVersion',
      'RollBack',
      'RollBackByOperator',
      'ShiftTraffic',
      'StartRelease',
      'StartShadow',
      'StopShadow',
    ]);
    for (const [name, state] of lambdaTasks) {
      const retrier = state.Retry?.find((r) => r.ErrorEquals.includes(new TransientError('x').name));
      expect(retrier?.MaxAttempts, name).toBeGreaterThan(1);
      expect(retrier?.JitterStrategy, name).toBe('FULL');
    }
  });

  it('sends every failure after the lock is taken to the rollback, and never overwrites the state whole', () => {
    for (const name of ['PublishVersion', 'ShiftTraffic', 'CheckHealth', 'FinishRelease', 'HandBackAlias'])
      expect(asl.States[name]?.Catch, name).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'RollBack' },
      ]);
    // A shadow never touches the live alias: its failures only stop the copying.
    for (const name of ['StartShadow', 'FinishShadow'])
      expect(asl.States[name]?.Catch, name).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'StopShadow' },
      ]);
    // A refusal has nothing to undo (and the lock may be another release's): it is only published.
    expect(asl.States.StartRelease?.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'NotifyNotStarted' },
    ]);
    expect(asl.States.NotifyNotStarted?.Next).toBe('NotStarted');
    for (const [name, state] of states) expect(state.ResultPath, name).not.toBe('$');
  });

  it('bakes in a loop of waits and checks, and fails with the rollback’s error and reason', () => {
    expect(asl.States.Bake).toMatchObject({
      Type: 'Wait',
      SecondsPath: '$.progress.waitSeconds',
      Next: 'CheckHealth',
    });
    expect(asl.States.RolledBack).toMatchObject({
      Type: 'Fail',
      ErrorPath: '$.outcome.error',
      CausePath: '$.outcome.summary',
    });
  });

  it("waits out the predict function's registry cache between the promotion and the hand back", () => {
    expect(asl.States.FinishRelease).toMatchObject({
      Parameters: { phase: 'promote' },
      ResultPath: '$.promotion',
      Next: 'WaitOutRegistryCache',
    });
    expect(asl.States.WaitOutRegistryCache).toMatchObject({
      Type: 'Wait',
      SecondsPath: '$.promotion.waitSeconds',
      Next: 'HandBackAlias',
    });
    expect(asl.States.HandBackAlias).toMatchObject({
      Resource: asl.States.FinishRelease?.Resource,
      Parameters: { phase: 'hand-back', 'promotion.$': '$.promotion' },
      ResultPath: '$.outcome',
    });
  });

  it('runs strategy shadow on the shadow alias: start, wait for the window, finish', () => {
    expect(asl.States.StartShadow).toMatchObject({
      Parameters: { 'request.$': '$', 'releaseId.$': '$$.Execution.Name' },
      ResultPath: '$.shadow',
      Next: 'ShadowWindow',
    });
    expect(asl.States.ShadowWindow).toMatchObject({ Type: 'Wait', TimestampPath: '$.shadow.reportAfter' });
    expect(asl.States.FinishShadow).toMatchObject({ Parameters: { 'releaseId.$': '$.shadow.releaseId' } });
    expect(asl.States.StopShadow).toMatchObject({ Parameters: { report: false } });
  });

  it('selects every output before it ends: no OutputPath on a Succeed or Fail state', () => {
    for (const [name, state] of states)
      if (state.Type === 'Succeed' || state.Type === 'Fail')
        expect((state as { OutputPath?: string }).OutputPath, name).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// Whole releases through the ASL with the real step cores.

const MODEL = 'flight-delay';
const ALARMS = ['TestStack-PredictErrors', 'TestStack-ApiLatencyP99'];
const machine = new StateMachine(definition() as never, {
  validationOptions: { checkPaths: true, checkArn: true },
});
let dynamo: TestDynamoDb;

beforeAll(async () => {
  dynamo = await startTestDynamoDb();
});
afterAll(async () => {
  await dynamo?.stop();
});

async function harness() {
  const { registry, store } = await releaseTables(dynamo);
  // v1 serves (Production); v2 is the Staging challenger.
  await registerModel(registry, MODEL, [1, 2], 1);
  const alias = new FakeAliasControl();
  const health = new FakeHealthProbe(ALARMS);
  const clock = new TestClock();
  /** CodeDeploy deployments of the alias under way (a code release). */
  const deployments: string[] = [];
  // Unpinned versions serve the registry's Production version (no cache here).
  alias.production = async (model) => (await registry.getProductionVersion(model))?.version;
  const ports = {
    registry,
    store,
    alias,
    health,
    now: clock.now,
    log: noLog,
    policy: ReleasePolicy.parse({}),
    alarmNames: ALARMS,
    registryCacheTtlMs: 5_000,
    codeDeploy: { listActiveDeployments: async () => [...deployments] },
  };
  const calls: string[] = [];
  const published: Array<{ state: string; Subject?: string; Message: string }> = [];
  /** Runs before the n-th health check (1-based), e.g. to roll back from outside. */
  let beforeCheck: (n: number) => Promise<void> = async () => undefined;
  /** What DecideChallenger answers (champion/challenger); its input is kept in `decisions`. */
  let decide: (input: any) => Promise<unknown> = async () => {
    throw new Error('no decision expected');
  };
  const decisions: any[] = [];
  let checks = 0;
  const notify = (state: string) => async (input: any) => {
    published.push({ state, ...input });
    return {};
  };
  const handlers: Record<string, (input: any) => Promise<unknown>> = {
    StartRelease: (i) => startRelease(i, ports),
    PublishVersion: (i) => publishReleaseVersion(i, ports),
    ShiftTraffic: (i) => shiftTraffic(i, ports),
    CheckHealth: async (i) => {
      // The Wait ran (instantly here): the clock moves by what it waited.
      clock.advance(i.progress.waitSeconds);
      await beforeCheck(++checks);
      return checkReleaseHealth(i, ports);
    },
    DecideChallenger: (i) => {
      decisions.push(i);
      return decide(i);
    },
    FinishRelease: (i) => finishRelease(i, ports),
    HandBackAlias: (i) => {
      // The Wait ran (instantly here): the clock moves by what it waited.
      clock.advance(i.promotion.waitSeconds);
      return finishRelease(i, ports);
    },
    RollBack: (i) => rollbackRelease(i, ports),
    RollBackByOperator: (i) => rollbackRelease(i, ports),
    NotifyReleased: notify('NotifyReleased'),
    NotifyNotHandedBack: notify('NotifyNotHandedBack'),
    NotifyRolledBack: notify('NotifyRolledBack'),
    NotifyRollbackFailed: notify('NotifyRollbackFailed'),
    NotifyOperatorRollback: notify('NotifyOperatorRollback'),
    NotifyNotStarted: notify('NotifyNotStarted'),
  };
  const traced = Object.fromEntries(
    Object.entries(handlers).map(([name, h]) => [
      name,
      (input: any) => {
        calls.push(name);
        return h(input);
      },
    ]),
  );
  let executions = 0;
  async function run(input: Record<string, unknown>) {
    const name = `${MODEL}-run-${++executions}`;
    const execution = machine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: traced as never,
        waitTimeOverrides: { Bake: 0, WaitOutRegistryCache: 0, SettleCapture: 0 },
        retryIntervalOverrides: Object.fromEntries(lambdaTasks.map(([n]) => [n, 0])),
      },
      context: {
        Execution: { Name: name, Id: `arn:aws:states:${REGION}:${ACCOUNT}:execution:release:${name}` },
      },
    });
    try {
      return { name, output: (await execution.result) as Record<string, any> };
    } catch (err) {
      return { name, failure: err instanceof ExecutionError ? (err.cause as Error) : (err as Error) };
    }
  }
  return {
    ports,
    registry,
    store,
    alias,
    health,
    clock,
    calls,
    published,
    deployments,
    run,
    onCheck: (f: (n: number) => Promise<void>) => {
      beforeCheck = f;
    },
    decisions,
    onDecide: (f: (input: any) => Promise<unknown>) => {
      decide = f;
    },
  };
}

const release = (over: Record<string, unknown> = {}) => ({
  model: MODEL,
  version: 2,
  bake: '60s',
  requestedBy: 'test',
  ...over,
});
const weightsOf = (alias: FakeAliasControl) =>
  alias.updates.map((r) =>
    r.additional ? `${r.version}:${r.additional.version}@${r.additional.weight}` : r.version,
  );

describe('release runs', () => {
  it('ramps a healthy challenger 5 → 25 → 50 → 100 %, makes it Production and hands the alias back at rest', async () => {
    const h = await harness();
    const invoked: string[] = [];
    h.alias.invoke = (version, event) => {
      invoked.push(version);
      return h.alias.refusal(version, event);
    };

    const { output, failure } = await h.run(release());

    expect(failure).toBeUndefined();
    // The last step puts everything on the pinned v5; once v2 is Production, v4 (unpinned,
    // CloudFormation's) serves it and takes the alias back whole.
    expect(weightsOf(h.alias)).toEqual(['4:5@0.05', '4:5@0.25', '4:5@0.5', '5', '4']);
    expect(h.alias.routing).toEqual({ version: '4' });
    expect(invoked).toEqual([...Array(2).fill('5'), ...Array(10).fill('4')]);
    expect(JSON.parse(h.alias.versions.get('5')?.environment.MODEL_VERSION_PINS ?? '{}')).toEqual({
      [MODEL]: 2,
    });
    expect((await h.registry.getProductionVersion(MODEL))?.version).toBe(2);
    // Each 60 s bake checked every 12 s: five checks per step, four steps.
    expect(h.health.queries).toHaveLength(20);
    expect(output).toMatchObject({
      outcome: 'released',
      model: MODEL,
      modelVersion: 2,
      routing: { version: '4' },
    });
    expect(output?.summary).toContain('live is back at rest on function v4, which follows Production');
    expect(h.published.map((p) => [p.state, p.Subject])).toEqual([
      ['NotifyReleased', `Release ${MODEL} v2: live and Production`],
    ]);
    const record = await h.store.latestRelease(MODEL);
    expect(record).toMatchObject({
      status: 'succeeded',
      previousFunctionVersion: '4',
      newFunctionVersion: '5',
      plan: [5, 25, 50, 100],
      checks: 20,
      routing: { version: '4' },
    });
    expect((await h.store.getLock(lockTarget(FUNCTION, ALIAS)))?.releasedAt).toBeDefined();
    const audit = await h.registry.listAuditEvents(MODEL);
    expect(audit.at(-1)).toMatchObject({
      action: 'promote',
      version: 2,
      previousVersion: 1,
      actor: `release:${record?.releaseId}`,
    });
  });

  it('rolls back within the bake when the challenger breaches, 100 % to the old version, recording why', async () => {
    const h = await harness();
    const failing: VersionStats = healthyStats('5', 40, { functionErrors: 12 });
    // Healthy through step 1 (5 checks), failing from the 2nd check of step 2.
    h.health.stats = (n, q) => ({
      champion: healthyStats(q.champion, 200),
      challenger: n >= 7 ? failing : healthyStats(q.challenger, 40),
    });

    const { failure } = await h.run(release());

    expect(failure?.name).toBe('ReleaseRolledBack');
    expect(failure?.message).toMatch(
      /^flight-delay v2 rolled back to function v4: step 2 \(25%\) breached: function errors: challenger v5 12 of 40 \(30\.0%\)/,
    );
    expect(h.health.queries).toHaveLength(7);
    expect(weightsOf(h.alias)).toEqual(['4:5@0.05', '4:5@0.25', '4']);
    expect(h.alias.routing).toEqual({ version: '4' });
    expect((await h.registry.getProductionVersion(MODEL))?.version).toBe(1);
    const record = await h.store.latestRelease(MODEL);
    expect(record).toMatchObject({
      status: 'rolled-back',
      rolledBackBy: 'automatic',
      routing: { version: '4' },
    });
    expect(record?.reason).toContain('function errors: challenger v5 12 of 40');
    expect(h.published.map((p) => p.state)).toEqual(['NotifyRolledBack']);
    expect(JSON.parse(h.published[0]?.Message ?? '{}')).toMatchObject({
      outcome: 'rolled-back',
      version: 2,
      live: 'v4 100%',
    });
    expect((await h.store.getLock(lockTarget(FUNCTION, ALIAS)))?.releasedAt).toBeDefined();
  });

  it('rolls back when a watched alarm fires during a bake', async () => {
    const h = await harness();
    h.onCheck(async (n) => {
      if (n === 3)
        h.health.alarmStates = [
          { name: 'TestStack-PredictErrors', state: 'ALARM', reason: 'Threshold Crossed: 1 datapoint [4.0]' },
          { name: 'TestStack-ApiLatencyP99', state: 'OK' },
        ];
    });

    const { failure } = await h.run(release());

    expect(failure?.name).toBe('ReleaseRolledBack');
    expect(failure?.message).toContain('alarm TestStack-PredictErrors is in ALARM: Threshold Crossed');
    expect(h.alias.routing).toEqual({ version: '4' });
  });

  it('fails loudly when the alias does not read back as intended, and rolls back', async () => {
    const h = await harness();
    // Lambda "accepts" step 2 but keeps 5 %: a silently reverted shift.
    h.alias.applyUpdate = (asked) =>
      asked.additional?.weight === 0.25
        ? { ...asked, additional: { ...asked.additional, weight: 0.05 } }
        : asked;

    const { failure } = await h.run(release());

    expect(failure?.name).toBe('ReleaseStateMismatch');
    expect(failure?.message).toContain(
      'rolled back to function v4: ReleaseStateMismatch: after step 2 TestStack-Predict:live routes v4 95% + v5 5%, intended v4 75% + v5 25%',
    );
    expect(h.alias.routing).toEqual({ version: '4' });
    expect((await h.store.latestRelease(MODEL))?.status).toBe('rolled-back');
  });

  it('fails loudly when something else moves the alias during a bake', async () => {
    const h = await harness();
    h.onCheck(async (n) => {
      if (n === 2) h.alias.setRouting({ version: '4', additional: { version: '5', weight: 0.5 } });
    });

    const { failure } = await h.run(release());

    expect(failure?.name).toBe('ReleaseStateMismatch');
    expect(failure?.message).toContain(
      'during step 1 TestStack-Predict:live routes v4 50% + v5 50%, intended v4 95% + v5 5%: something else changed it',
    );
    expect(h.alias.routing).toEqual({ version: '4' });
  });

  it('refuses a version that is not Staging, touching nothing', async () => {
    const h = await harness();

    const { failure } = await h.run(release({ version: 1 }));

    expect(failure?.name).toBe('ReleaseRefused');
    expect(failure?.message).toContain(
      'flight-delay v1 is Production, not Staging: only a Staging version can be released (it is already the Production version)',
    );
    expect(h.calls).toEqual(['StartRelease', 'NotifyNotStarted']);
    // Published, for a release nobody watches (one a retraining started).
    expect(h.published.map((p) => p.Subject)).toEqual([`Release ${MODEL} v1 not started: ReleaseRefused`]);
    expect(JSON.parse(h.published[0]?.Message ?? '{}')).toMatchObject({
      Error: 'ReleaseRefused',
      Cause: expect.stringContaining('only a Staging version can be released'),
    });
    expect(h.alias.updates).toEqual([]);
    expect(await h.store.getLock(lockTarget(FUNCTION, ALIAS))).toBeUndefined();
  });

  it('refuses a second release while one holds the alias, naming it, and leaves its lock alone', async () => {
    const h = await harness();
    let second: Awaited<ReturnType<typeof h.run>> | undefined;
    // The first release is baking its first step when the second one asks.
    h.onCheck(async (n) => {
      if (n === 1) second = await h.run(release({ strategy: 'all-at-once' }));
    });

    const first = await h.run(release());

    expect(first.failure).toBeUndefined();
    expect(second?.failure?.name).toBe('ReleaseInProgress');
    expect(second?.failure?.message).toContain(`release ${first.name} (flight-delay v2, started`);
    expect(second?.failure?.message).toContain('one release per alias at a time');
    expect(weightsOf(h.alias)).toEqual(['4:5@0.05', '4:5@0.25', '4:5@0.5', '5', '4']);
  });

  it('flips blue-green whole after warming the new version, and flips back whole on a breach', async () => {
    const h = await harness();
    let warmUps = 0;
    h.alias.invoke = () => {
      warmUps++;
      return { payload: { statusCode: 400, body: '{}' } };
    };
    h.health.stats = (n, q) => ({
      champion: healthyStats(q.champion, 600),
      challenger:
        n >= 2 ? healthyStats(q.challenger, 300, { latencyP99Ms: 900 }) : healthyStats(q.challenger),
    });

    const { failure } = await h.run(release({ strategy: 'blue-green', bake: '30s' }));

    expect(warmUps).toBe(10);
    expect(weightsOf(h.alias)).toEqual(['5', '4']);
    expect(failure?.name).toBe('ReleaseRolledBack');
    expect(failure?.message).toContain('p99 latency: challenger v5 900 ms vs champion v4 40 ms');
  });

  it('stops before any traffic moves when the new version cannot serve its model', async () => {
    const h = await harness();
    h.alias.invoke = () => ({
      payload: {
        statusCode: 503,
        body: JSON.stringify({ error: { code: 'ModelUnavailable', message: 'artifact sha256 mismatch' } }),
      },
    });

    const { failure } = await h.run(release());

    expect(failure?.name).toBe('WarmUpFailed');
    expect(failure?.message).toBe(
      'flight-delay v2 not released (no traffic moved): WarmUpFailed: v5 cannot serve flight-delay v2: warm-up answered 503 artifact sha256 mismatch',
    );
    expect(h.alias.updates).toEqual([]);
    expect((await h.store.latestRelease(MODEL))?.status).toBe('failed');
    expect((await h.store.getLock(lockTarget(FUNCTION, ALIAS)))?.releasedAt).toBeDefined();
  });

  it('rolls back at once when an operator asks during a bake; the release stops at its next step', async () => {
    const h = await harness();
    let operator: Awaited<ReturnType<typeof h.run>> | undefined;
    h.onCheck(async (n) => {
      if (n === 7)
        operator = await h.run({
          action: 'rollback',
          model: MODEL,
          reason: 'customers complain',
          requestedBy: 'alice',
        });
    });

    const { failure } = await h.run(release());

    expect(operator?.output).toMatchObject({ outcome: 'rolled-back', routing: { version: '4' } });
    expect(failure?.name).toBe('ReleaseRolledBack');
    expect(failure?.message).toContain('rolled back by alice: customers complain');
    expect(weightsOf(h.alias)).toEqual(['4:5@0.05', '4:5@0.25', '4']);
    const record = await h.store.latestRelease(MODEL);
    expect(record).toMatchObject({
      status: 'rolled-back',
      rolledBackBy: 'alice',
      reason: 'rolled back by alice: customers complain',
    });
    expect((await h.store.getLock(lockTarget(FUNCTION, ALIAS)))?.releasedAt).toBeDefined();
  });

  it('rolls back a finished release on request: the old Production version, served by the alias at rest', async () => {
    const h = await harness();
    await h.run(release({ strategy: 'all-at-once', bake: '10s' }));

    const { output } = await h.run({
      action: 'rollback',
      model: MODEL,
      requestedBy: 'bob',
      reason: 'bad labels',
    });

    expect(output).toMatchObject({ outcome: 'rolled-back', routing: { version: '4' } });
    // Handed back already: v4 follows Production, so only the registry moves.
    expect(weightsOf(h.alias)).toEqual(['5', '4']);
    expect(h.alias.routing).toEqual({ version: '4' });
    expect((await h.registry.getProductionVersion(MODEL))?.version).toBe(1);
    expect((await h.store.latestRelease(MODEL))?.status).toBe('rolled-back');
    const second = await h.run({ action: 'rollback', model: MODEL });
    expect(second.failure?.name).toBe('NothingToRollBack');
  });

  it('retries a transient fault of a step, then carries on', async () => {
    const h = await harness();
    let attempts = 0;
    const real = h.alias.getAlias.bind(h.alias);
    h.alias.getAlias = async () => {
      if (++attempts === 3) throw new TransientError('ThrottlingException: Rate exceeded');
      return real();
    };

    const { failure } = await h.run(release({ plan: '50,100', bake: '10s' }));

    expect(failure).toBeUndefined();
    expect(h.alias.routing).toEqual({ version: '4' });
  });

  it('stays on the pinned version and ends AliasNotHandedBack when the base version does not serve the new model', async () => {
    const h = await harness();
    // v4 keeps answering with v1 (a registry cache longer than the stack says, say).
    h.alias.production = async () => 1;

    const { failure } = await h.run(release({ strategy: 'all-at-once', bake: '10s' }));

    expect(failure?.name).toBe('AliasNotHandedBack');
    expect(failure?.message).toContain(
      'flight-delay v2 released (all-at-once 100%, 10s bakes) and Production, but live stays on function v5 (pinned to it): ' +
        'v4 answered 10 of 10 warm-up requests with v1, not flight-delay v2',
    );
    expect(failure?.message).toContain(
      'CodeDeploy refuses the next `cdk deploy` until live is back on v4 100%',
    );
    expect(weightsOf(h.alias)).toEqual(['5']);
    expect((await h.registry.getProductionVersion(MODEL))?.version).toBe(2);
    expect(await h.store.latestRelease(MODEL)).toMatchObject({
      status: 'succeeded',
      routing: { version: '5' },
    });
    expect((await h.store.getLock(lockTarget(FUNCTION, ALIAS)))?.releasedAt).toBeDefined();
    expect(h.published.map((p) => [p.state, p.Subject])).toEqual([
      ['NotifyNotHandedBack', 'Release flight-delay v2: Production, live not handed back'],
    ]);

    // `mlops rollback` then flips the alias back and restores the registry.
    const { output } = await h.run({ action: 'rollback', model: MODEL });
    expect(output).toMatchObject({ outcome: 'rolled-back', routing: { version: '4' } });
    expect(weightsOf(h.alias)).toEqual(['5', '4']);
    expect((await h.registry.getProductionVersion(MODEL))?.version).toBe(1);
  });

  it('ends interrupted, without an alias write or a promotion, when a code release starts mid-release', async () => {
    const h = await harness();
    h.onCheck(async (n) => {
      if (n === 3) h.deployments.push('d-ABC123');
    });

    const { failure } = await h.run(release());

    expect(failure?.name).toBe('CodeDeploymentInProgress');
    expect(failure?.message).toContain(
      'flight-delay v2 interrupted by a code release, live left at v4 95% + v5 5% and the registry as it was',
    );
    expect(failure?.message).toContain('CodeDeploy deployment d-ABC123');
    // Step 1 only: step 2 found CodeDeploy owning the alias, and the rollback did not write it.
    expect(weightsOf(h.alias)).toEqual(['4:5@0.05']);
    expect((await h.registry.getProductionVersion(MODEL))?.version).toBe(1);
    expect(await h.store.latestRelease(MODEL)).toMatchObject({
      status: 'interrupted',
      routing: { version: '4', additional: { version: '5', weight: 0.05 } },
    });
    expect((await h.store.getLock(lockTarget(FUNCTION, ALIAS)))?.releasedAt).toBeDefined();

    // Refused while the code release runs; once it has ended, `mlops rollback` settles the alias.
    const early = await h.run({ action: 'rollback', model: MODEL });
    expect(early.failure?.name).toBe('CodeDeploymentInProgress');
    h.deployments.length = 0;
    const { output } = await h.run({ action: 'rollback', model: MODEL });
    expect(output).toMatchObject({ outcome: 'rolled-back', routing: { version: '4' } });
    expect(h.alias.routing).toEqual({ version: '4' });
  });

  it('does not promote when a code release starts before the promotion', async () => {
    const h = await harness();
    h.onCheck(async (n) => {
      if (n === 2) h.deployments.push('d-XYZ');
    });

    const { failure } = await h.run(release({ strategy: 'all-at-once', bake: '10s' }));

    expect(failure?.name).toBe('CodeDeploymentInProgress');
    expect(weightsOf(h.alias)).toEqual(['5']);
    expect((await h.registry.getProductionVersion(MODEL))?.version).toBe(1);
    expect((await h.store.latestRelease(MODEL))?.status).toBe('interrupted');
  });

  it('refuses to start while a code release shifts the alias, touching nothing', async () => {
    const h = await harness();
    h.deployments.push('d-1');

    const { failure } = await h.run(release());

    expect(failure?.name).toBe('CodeDeploymentInProgress');
    expect(h.calls).toEqual(['StartRelease', 'NotifyNotStarted']);
    expect(h.alias.updates).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Shadow releases through the ASL with the real shadow step cores: an in-memory predict function
// with its `live` and `shadow` aliases, the shadow item and the registry on dynalite, captures and
// the report in memory.

async function shadowHarness() {
  const { registry, table } = await releaseTables(dynamo);
  await registerModel(registry, MODEL, [1, 2], 1);
  const shadows = new DynamoDbShadowConfigStore(dynamo.client, table);
  const fn = new FakeLambdaFunction({ live: '3' });
  const captures = new MemoryCaptureObjects();
  const reports = memoryObjectStore('artifacts');
  const clock = new TestClock();
  const calls: string[] = [];
  const published: Array<{ state: string; Subject?: string; Message: string }> = [];
  const notify = (state: string) => async (input: any) => {
    published.push({ state, ...input });
    return {};
  };
  const finishPorts = {
    shadows,
    captures,
    reports,
    countChallengerErrors: async () => 0,
    now: clock.now,
    log: noLog,
  };
  const handlers: Record<string, (input: any) => Promise<unknown>> = {
    StartShadow: (i) =>
      startShadow(
        i,
        {
          registry,
          shadows,
          pointAlias: (input) => pointShadowAtChallenger(fn.alias('live'), fn.alias('shadow'), input),
          invokeVersion: async (version, event) => fn.invoke(version, event),
          now: clock.now,
          log: noLog,
        },
        { settleSeconds: 60 },
      ),
    FinishShadow: (i) => {
      // The window passed (instantly here); live requests and their copies were captured.
      clock.advance(30 * 60 + 60);
      const start = Date.parse('2026-11-27T08:00:00.000Z');
      const live = Array.from({ length: 120 }, (_, n) =>
        captureRecord({ requestId: `req-${n}`, time: new Date(start + 10_000 * n + 1000).toISOString() }),
      );
      captures.put('live', live);
      captures.put(
        'shadow',
        live.map((r, n) =>
          captureRecord({
            requestId: `copy-${n}`,
            time: new Date(Date.parse(r.time) + 500).toISOString(),
            version: 2,
            functionVersion: '4',
            role: 'shadow',
            shadowOf: r.requestId,
            score: r.score + 0.01,
            label: r.label,
          }),
        ),
      );
      return finishShadow(i, finishPorts);
    },
    StopShadow: (i) => finishShadow(i, finishPorts),
    NotifyShadowReported: notify('NotifyShadowReported'),
    NotifyShadowFailed: notify('NotifyShadowFailed'),
  };
  const traced = Object.fromEntries(
    Object.entries(handlers).map(([name, h]) => [
      name,
      (input: any) => {
        calls.push(name);
        return h(input);
      },
    ]),
  );
  async function run(input: Record<string, unknown>) {
    const name = `${MODEL}-v2-20261127T080000Z`;
    const execution = machine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: traced as never,
        waitTimeOverrides: { ShadowWindow: 0 },
        retryIntervalOverrides: Object.fromEntries(lambdaTasks.map(([n]) => [n, 0])),
      },
      context: {
        Execution: { Name: name, Id: `arn:aws:states:${REGION}:${ACCOUNT}:execution:release:${name}` },
      },
    });
    try {
      return { name, output: (await execution.result) as Record<string, any> };
    } catch (err) {
      return { name, failure: err instanceof ExecutionError ? (err.cause as Error) : (err as Error) };
    }
  }
  return { registry, shadows, fn, reports, calls, published, run };
}

describe('champion/challenger runs', () => {
  const contest = (over: Record<string, unknown> = {}) =>
    release({
      strategy: 'champion-challenger',
      slice: 20,
      window: '10m',
      bake: '60s',
      settle: '30s',
      ...over,
    });
  const decided = (decision: 'promote' | 'keep', summary: string) => ({
    decision,
    reasons: [summary],
    summary,
    report: 's3://artifacts/releases/flight-delay/r/decision.json',
  });

  it('serves the slice for the window, then decides, and moves the rest only on a promote', async () => {
    const h = await harness();
    h.onDecide(async (i) => {
      // As DecideChallenger does: the decision recorded on the release, then returned.
      const d = decided('promote', 'flight-delay v2 beat champion v1 on auc over its 20% slice');
      const { model, startedAt, releaseId } = i.release;
      await h.store.updateRelease(
        { model, startedAt, releaseId },
        { decided: { decision: d.decision, summary: d.summary, report: d.report, at: startedAt } },
      );
      return d;
    });

    const { output, failure } = await h.run(contest());

    expect(failure).toBeUndefined();
    expect(weightsOf(h.alias)).toEqual(['4:5@0.2', '5', '4']);
    // The decision came once, after the whole window, on the slice step.
    expect(h.decisions).toHaveLength(1);
    const asked = h.decisions[0];
    expect(asked.progress).toMatchObject({
      stepIndex: 0,
      percent: 20,
      isDecisionStep: true,
      bakeComplete: true,
    });
    expect(Date.parse(asked.progress.bakeUntil) - Date.parse(asked.progress.stepStartedAt)).toBe(600_000);
    expect(asked.release.decision).toMatchObject({ windowSeconds: 600, settleSeconds: 30, metric: 'auc' });
    // 10 min window and 60 s at 100%, checked every 30 s: 20 + 2 checks.
    expect(h.health.queries).toHaveLength(22);
    const order = h.calls.filter((c) => ['ShiftTraffic', 'DecideChallenger', 'FinishRelease'].includes(c));
    expect(order).toEqual(['ShiftTraffic', 'DecideChallenger', 'ShiftTraffic', 'FinishRelease']);
    expect((await h.registry.getProductionVersion(MODEL))?.version).toBe(2);
    expect(output).toMatchObject({ outcome: 'released', modelVersion: 2 });
    expect(output?.summary).toContain('champion-challenger on a 20% slice');
    const audit = await h.registry.listAuditEvents(MODEL);
    expect(audit.at(-1)?.reason).toContain('beat champion v1 on auc');
  });

  it('keeps the champion when the challenger did not beat it: the slice back on it, ChallengerNotPromoted', async () => {
    const h = await harness();
    const why =
      'flight-delay v2 did not beat champion v1 on auc over its 20% slice: gain +0.001 less than +0.005';
    h.onDecide(async () => decided('keep', why));

    const { failure } = await h.run(contest());

    expect(failure?.name).toBe('ChallengerNotPromoted');
    expect(failure?.message).toContain(why);
    expect(weightsOf(h.alias)).toEqual(['4:5@0.2', '4']);
    expect((await h.registry.getProductionVersion(MODEL))?.version).toBe(1);
    const record = await h.store.latestRelease(MODEL);
    expect(record).toMatchObject({ status: 'not-promoted', routing: { version: '4' } });
    expect(h.published.map((p) => p.Subject)).toEqual([`Release ${MODEL} v2: champion kept`]);
    expect(JSON.parse(h.published[0]?.Message ?? '{}')).toMatchObject({
      outcome: 'not-promoted',
      live: 'v4 100%',
    });
    expect((await h.store.getLock(lockTarget(FUNCTION, ALIAS)))?.releasedAt).toBeDefined();
  });

  it('rolls back during the window on a breach, before any decision', async () => {
    const h = await harness();
    h.health.stats = (n, q) => ({
      champion: healthyStats(q.champion, 400),
      challenger:
        n >= 3 ? healthyStats(q.challenger, 100, { functionErrors: 30 }) : healthyStats(q.challenger, 100),
    });

    const { failure } = await h.run(contest());

    expect(failure?.name).toBe('ReleaseRolledBack');
    expect(h.decisions).toHaveLength(0);
    expect(weightsOf(h.alias)).toEqual(['4:5@0.2', '4']);
  });

  it('rolls back with the error when the decision itself fails', async () => {
    const h = await harness();
    h.onDecide(async () => {
      const err = new Error('AccessDenied reading ground-truth/');
      err.name = 'AccessDenied';
      throw err;
    });

    const { failure } = await h.run(contest());

    expect(failure?.name).toBe('AccessDenied');
    expect(weightsOf(h.alias)).toEqual(['4:5@0.2', '4']);
    expect((await h.registry.getProductionVersion(MODEL))?.version).toBe(1);
  });

  it('refuses a model without a Production version: there is no champion to compare with', async () => {
    const h = await harness();
    await h.registry.registerVersion({
      ...(await h.registry.getVersion(MODEL, 2))!,
      model: 'fresh',
      version: 1,
    });

    const { failure } = await h.run(contest({ model: 'fresh', version: 1 }));

    expect(failure?.name).toBe('ReleaseRefused');
    expect(failure?.message).toContain('needs a champion');
    expect(h.alias.updates).toEqual([]);
  });
});

describe('shadow runs', () => {
  const shadowRelease = (over: Record<string, unknown> = {}) => ({
    model: MODEL,
    version: 2,
    strategy: 'shadow',
    bake: '30m',
    requestedBy: 'test',
    ...over,
  });

  it('copies for the bake, reports the verdict and its URI, and leaves the live alias and the registry alone', async () => {
    const h = await shadowHarness();

    const { output, failure } = await h.run(shadowRelease());

    expect(failure).toBeUndefined();
    expect(h.calls).toEqual(['StartShadow', 'FinishShadow', 'NotifyShadowReported']);
    const uri = 's3://artifacts/releases/flight-delay/shadow-20261127T080000Z/comparison.json';
    expect(output).toMatchObject({
      outcome: 'shadowed',
      model: MODEL,
      challengerVersion: 2,
      championVersion: 1,
      window: { start: '2026-11-27T08:00:00.000Z', end: '2026-11-27T08:30:00.000Z' },
      report: { verdict: 'pass', uri, pairs: 120 },
      subject: 'Shadow flight-delay v2: pass',
    });
    expect(h.published.map((p) => p.Subject)).toEqual(['Shadow flight-delay v2: pass']);
    expect(await h.shadows.get()).toMatchObject({ state: 'finished', report: { uri, verdict: 'pass' } });
    expect(h.reports.writes).toEqual(['releases/flight-delay/shadow-20261127T080000Z/comparison.json']);
    // Only the shadow alias moved; the registry is as it was.
    expect(h.fn.updates.map((u) => u.alias)).toEqual(['shadow']);
    expect(h.fn.aliases.get('live')?.routing).toEqual({ version: '3' });
    expect((await h.registry.getProductionVersion(MODEL))?.version).toBe(1);
    expect((await h.registry.getVersion(MODEL, 2))?.stage).toBe('Staging');
  });

  it('ends with the refusal, having stopped nothing of another shadow, when the challenger is not Staging', async () => {
    const h = await shadowHarness();

    const { failure } = await h.run(shadowRelease({ version: 1 }));

    expect(failure?.name).toBe('ReleaseRefused');
    expect(failure?.message).toContain(
      'flight-delay v1 is Production; only a Staging version can be released',
    );
    expect(h.calls).toEqual(['StartShadow', 'StopShadow', 'NotifyShadowFailed']);
    expect(h.published.map((p) => [p.state, p.Subject])).toEqual([
      ['NotifyShadowFailed', 'A shadow release failed'],
    ]);
    expect(JSON.parse(h.published[0]?.Message ?? '{}')).toMatchObject({ Error: 'ReleaseRefused' });
    expect(h.fn.updates).toEqual([]);
  });

  it('stops copying without a report when the finish fails', async () => {
    const h = await shadowHarness();
    h.reports.write = async () => {
      throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
    };

    const { failure } = await h.run(shadowRelease());

    expect(failure?.name).toBe('AccessDenied');
    expect(h.calls).toEqual(['StartShadow', 'FinishShadow', 'StopShadow', 'NotifyShadowFailed']);
    expect(await h.shadows.get()).toMatchObject({ state: 'finished', finishReason: 'completed' });
    expect(h.fn.aliases.get('live')?.routing).toEqual({ version: '3' });
  });
});

// ---------------------------------------------------------------------------------------------
// What the platform stack synthesizes.

const { template } = synthStack();
const resources = template.toJSON().Resources as Record<
  string,
  { Type: string; Properties: Record<string, any> }
>;

const idOf = (type: string, props: Record<string, unknown> = {}) => idIn(template, type, props);
const stateMachineId = idOf('AWS::StepFunctions::StateMachine', {
  DefinitionSubstitutions: Match.objectLike({ ShiftTrafficFunctionArn: Match.anyValue() }),
});
const substitutions = resources[stateMachineId]?.Properties.DefinitionSubstitutions as Record<string, any>;
const FUNCTIONS = {
  StartRelease: 'check, lock and record a release',
  PublishReleaseVersion: 'publish and warm the version pinned to the model version',
  ShiftTraffic: "move the live alias to the plan's next step",
  CheckReleaseHealth: 'alarms and challenger vs champion',
  RollbackRelease: 'all traffic back on the previous version',
  FinishRelease: 'promote the released model version and hand the alias back',
  DecideChallenger: "champion/challenger: judge the slice's outcomes against the champion's",
} as const;
type FunctionName = keyof typeof FUNCTIONS;
const functionIds = Object.fromEntries(
  Object.entries(FUNCTIONS).map(([name, d]) => [
    name,
    idOf('AWS::Lambda::Function', { Description: `Release: ${d}` }),
  ]),
) as Record<FunctionName, string>;
const shadowIds = {
  StartShadow: idOf('AWS::Lambda::Function', {
    Description: Match.stringLikeRegexp('^Release step StartShadow'),
  }),
  FinishShadow: idOf('AWS::Lambda::Function', {
    Description: Match.stringLikeRegexp('^Release step FinishShadow'),
  }),
};
const predictId = idOf('AWS::Lambda::Function', {
  Description: 'Online predictions for POST /models/{model}/predict',
});
const aliasId = idOf('AWS::Lambda::Alias', { Name: 'live' });
const registryTableId = idOf('AWS::DynamoDB::Table', {
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
});
const roleOf = (resourceId: string, property = 'Role') => roleIn(template, resourceId, property);
const statementsOf = (roleId: string) => statementsIn(template, roleId);
/** [actions, resources] of a role's statements in `service`, logs excluded. */
const grantsOf = (roleId: string, service: string) =>
  statementsOf(roleId)
    .filter((s) => [s.Action].flat().some((a) => a.startsWith(`${service}:`)))
    .map((s) => [[s.Action].flat().sort(), [s.Resource].flat()]);
const versionsArn = { 'Fn::Join': ['', [getAtt(predictId), ':*']] };

describe('release pipeline stack', () => {
  const machineRole = roleOf(stateMachineId, 'RoleArn');

  it('fills every ASL placeholder from DefinitionSubstitutions, and substitutes nothing else', () => {
    expect(Object.keys(substitutions).sort()).toEqual(placeholders);
    for (const [name, id] of Object.entries(functionIds)) {
      const placeholder =
        name === 'CheckReleaseHealth' ? 'CheckReleaseHealthFunctionArn' : `${name}FunctionArn`;
      expect(substitutions[placeholder], name).toEqual(getAtt(id));
    }
    for (const [name, id] of Object.entries(shadowIds))
      expect(substitutions[`${name}FunctionArn`], name).toEqual(getAtt(id));
    expect(substitutions.NotificationsTopicArn).toEqual({
      Ref: idOf('AWS::SNS::Topic', { DisplayName: 'MLOps platform model events' }),
    });
  });

  it('deploys the ASL file itself as a STANDARD state machine with logging and tracing', () => {
    expect(JSON.parse(resources[stateMachineId]?.Properties.DefinitionString)).toEqual(JSON.parse(aslText));
    expect(resources[stateMachineId]?.Properties).toMatchObject({
      StateMachineType: 'STANDARD',
      LoggingConfiguration: { Level: 'ALL' },
      TracingConfiguration: { Enabled: true },
    });
  });

  it('lets the state machine invoke exactly its seven functions and the two shadow steps, and publish to the notifications topic', () => {
    const invoke = grantsOf(machineRole, 'lambda');
    expect(invoke).toHaveLength(1);
    expect(invoke[0]?.[0]).toEqual(['lambda:InvokeFunction']);
    expect(((invoke[0]?.[1] ?? []) as unknown[]).map((r) => JSON.stringify(r)).sort()).toEqual(
      [...Object.values(functionIds), ...Object.values(shadowIds)]
        .map((id) => JSON.stringify(getAtt(id)))
        .sort(),
    );
    expect(grantsOf(machineRole, 'sns')).toEqual([[['sns:Publish'], [substitutions.NotificationsTopicArn]]]);
  });

  it('gives every function the predict function, its alias, the policy and the watched alarms', () => {
    for (const id of Object.values(functionIds))
      expect(resources[id]?.Properties.Environment.Variables).toMatchObject({
        PREDICT_FUNCTION_NAME: { Ref: predictId },
        LIVE_ALIAS_NAME: 'live',
        REGISTRY_TABLE: { Ref: registryTableId },
        RELEASE_POLICY: '{"defaults":{},"models":{},"thresholds":{}}',
        RELEASE_ALARM_NAMES:
          '["TestStack-PredictErrors","TestStack-ApiServerErrorRate","TestStack-ApiLatencyP99"]',
      });
  });

  it("tells FinishRelease the predict function's registry cache TTL, the same the predict function runs with", () => {
    expect(resources[functionIds.FinishRelease]?.Properties.Environment.Variables.REGISTRY_CACHE_TTL_MS).toBe(
      '5000',
    );
    expect(resources[predictId]?.Properties.Environment.Variables.REGISTRY_CACHE_TTL_MS).toBe('5000');
  });

  it('lets the release steps that write the aliases ask CodeDeploy whether a code release runs', () => {
    const groupId = idOf('AWS::CodeDeploy::DeploymentGroup');
    const bound = [
      functionIds.StartRelease,
      functionIds.ShiftTraffic,
      functionIds.RollbackRelease,
      functionIds.FinishRelease,
      shadowIds.StartShadow,
    ];
    for (const id of bound) {
      expect(resources[id]?.Properties.Environment.Variables, id).toMatchObject({
        CODE_DEPLOY_APPLICATION: { Ref: idOf('AWS::CodeDeploy::Application') },
        CODE_DEPLOY_DEPLOYMENT_GROUP: { Ref: groupId },
      });
      expect(grantsOf(roleOf(id), 'codedeploy'), id).toHaveLength(1);
      expect(grantsOf(roleOf(id), 'codedeploy')[0]?.[0], id).toEqual(['codedeploy:ListDeployments']);
    }
    for (const id of [
      functionIds.PublishReleaseVersion,
      functionIds.CheckReleaseHealth,
      shadowIds.FinishShadow,
    ])
      expect(resources[id]?.Properties.Environment.Variables.CODE_DEPLOY_APPLICATION, id).toBeUndefined();
  });

  it('outputs the release state machine ARN and the alarms it watches', () => {
    template.hasOutput('ReleasePipelineArn', { Value: { Ref: stateMachineId } });
    template.hasOutput('ReleaseAlarmNames', {
      Value: 'TestStack-PredictErrors,TestStack-ApiServerErrorRate,TestStack-ApiLatencyP99',
    });
  });
});

describe('release grants', () => {
  const roles = Object.fromEntries(Object.entries(functionIds).map(([n, id]) => [n, roleOf(id)])) as Record<
    FunctionName,
    string
  >;
  const alarmArns = ['PredictErrors', 'ApiServerErrorRate', 'ApiLatencyP99']
    .map((name) => getAtt(idOf('AWS::CloudWatch::Alarm', { AlarmName: `TestStack-${name}` })))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  /** Grants with their resources in a stable order (CDK may reorder them). */
  const sortedGrants = (role: string, service: string) =>
    grantsOf(role, service).map(([actions, arns]) => [
      actions,
      [...(arns as unknown[])].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    ]);
  const registryGrant = [
    ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:UpdateItem'],
    [getAtt(registryTableId)],
  ];

  it('lets every function read the registry and write it conditionally (records, lock, promotion), never delete', () => {
    for (const role of Object.values(roles)) expect(grantsOf(role, 'dynamodb')).toEqual([registryGrant]);
  });

  it('lets StartRelease read the alias and the watched alarms', () => {
    expect(grantsOf(roles.StartRelease, 'lambda')).toEqual([[['lambda:GetAlias'], [{ Ref: aliasId }]]]);
    expect(sortedGrants(roles.StartRelease, 'cloudwatch')).toEqual([
      [['cloudwatch:DescribeAlarms'], alarmArns],
    ]);
  });

  it("lets PublishReleaseVersion read versions' configuration, update $LATEST, publish and warm versions", () => {
    expect(grantsOf(roles.PublishReleaseVersion, 'lambda')).toEqual([
      [['lambda:GetFunctionConfiguration'], [getAtt(predictId), versionsArn]],
      [['lambda:PublishVersion', 'lambda:UpdateFunctionConfiguration'], [getAtt(predictId)]],
      [['lambda:InvokeFunction'], [versionsArn]],
    ]);
    expect(grantsOf(roles.PublishReleaseVersion, 'cloudwatch')).toEqual([]);
  });

  it('lets ShiftTraffic and RollbackRelease read and update the live alias only', () => {
    for (const role of [roles.ShiftTraffic, roles.RollbackRelease])
      expect(grantsOf(role, 'lambda')).toEqual([
        [['lambda:GetAlias', 'lambda:UpdateAlias'], [{ Ref: aliasId }]],
      ]);
  });

  it('lets CheckReleaseHealth read the alias, the watched alarms and metric data', () => {
    expect(grantsOf(roles.CheckReleaseHealth, 'lambda')).toEqual([[['lambda:GetAlias'], [{ Ref: aliasId }]]]);
    expect(sortedGrants(roles.CheckReleaseHealth, 'cloudwatch')).toEqual([
      [['cloudwatch:DescribeAlarms'], alarmArns],
      [['cloudwatch:GetMetricData'], ['*']],
    ]);
  });

  it('lets FinishRelease read and update the live alias, and warm versions for the hand back', () => {
    expect(grantsOf(roles.FinishRelease, 'lambda')).toEqual([
      [['lambda:GetAlias', 'lambda:UpdateAlias'], [{ Ref: aliasId }]],
      [['lambda:InvokeFunction'], [versionsArn]],
    ]);
  });
  it('lets DecideChallenger read capture and ground truth, write decision reports, and touch no alias', () => {
    const grants = grantsOf(roles.DecideChallenger, 's3');
    const text = JSON.stringify(grants);
    expect(grants.map(([actions]) => actions)).toEqual(
      expect.arrayContaining([['s3:GetObject'], ['s3:ListBucket'], ['s3:PutObject']]),
    );
    for (const prefix of ['capture/', 'ground-truth/', 'releases/']) expect(text).toContain(prefix);
    const puts = grants.filter(([actions]) => (actions as string[]).includes('s3:PutObject'));
    expect(JSON.stringify(puts)).toContain('releases/*');
    expect(JSON.stringify(puts)).not.toContain('capture/');
    expect(grantsOf(roles.DecideChallenger, 'lambda')).toEqual([]);
    const variables = resources[functionIds.DecideChallenger]?.Properties.Environment.Variables;
    expect(Object.keys(variables)).toEqual(expect.arrayContaining(['DATA_BUCKET', 'ARTIFACTS_BUCKET']));
    expect(resources[functionIds.DecideChallenger]?.Properties.MemorySize).toBe(3008);
  });
});

/** One access-log bucket per stack for the stores the pipeline reads and writes. */
const logsBucket = (stack: Stack) =>
  (stack.node.tryFindChild('Logs') as s3.Bucket | undefined) ?? new s3.Bucket(stack, 'Logs');

/** Stand-ins for ShadowRelease's two functions. */
const shadowSteps = (stack: Stack) => {
  const step = (id: string) =>
    new lambda.Function(stack, id, {
      code: lambda.Code.fromInline('exports.handler = async () => ({})'),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_22_X,
    });
  return { startShadowFunction: step('StartShadow'), finishShadowFunction: step('FinishShadow') };
};

describe('ReleasePipeline props', () => {
  const build = (props: Partial<ConstructorParameters<typeof ReleasePipeline>[2]>) => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'S');
    const fn = new lambda.Function(stack, 'Fn', {
      code: lambda.Code.fromInline('exports.handler = async () => ({})'),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_22_X,
    });
    return new ReleasePipeline(stack, 'Release', {
      predictFunction: fn,
      liveAlias: new lambda.Alias(stack, 'Live', { aliasName: 'live', version: fn.currentVersion }),
      registry: new ModelRegistry(stack, 'Registry'),
      notificationsTopic: new sns.Topic(stack, 'Topic'),
      shadow: shadowSteps(stack),
      data: new DataStore(stack, 'Data', { accessLogs: logsBucket(stack) }),
      artifacts: new ArtifactStore(stack, 'Artifacts', { accessLogs: logsBucket(stack) }),
      alarms: [
        new cloudwatch.Alarm(stack, 'A', {
          metric: fn.metricErrors(),
          threshold: 1,
          evaluationPeriods: 1,
          alarmName: 'S-A',
        }),
      ],
      ...props,
    });
  };

  it('carries the deployment and per-model settings into the functions as the release policy', () => {
    const pipeline = build({
      defaults: { strategy: 'linear', bake: Duration.minutes(10) },
      models: { 'flight-delay': { plans: { canary: [1, 10, 100] }, checkInterval: Duration.seconds(20) } },
      thresholds: { maxMeanScoreShift: 0.05 },
    });
    const env = pipeline.functions.StartRelease?.node.defaultChild as lambda.CfnFunction;
    const variables = Stack.of(pipeline).resolve(env.environment) as { variables: Record<string, string> };

    expect(JSON.parse(variables.variables.RELEASE_POLICY ?? '')).toEqual({
      defaults: { strategy: 'linear', bakeSeconds: 600 },
      models: { 'flight-delay': { plans: { canary: [1, 10, 100] }, checkIntervalSeconds: 20 } },
      thresholds: { maxMeanScoreShift: 0.05 },
    });
    expect(pipeline.alarmNames).toEqual(['S-A']);
  });

  it("carries the champion/challenger decision settings and the capture's settle time into the policy", () => {
    const pipeline = build({
      defaults: { decision: { window: Duration.hours(6), metric: 'log-loss' } },
      models: { 'flight-delay': { decision: { minGain: 0.01 } } },
      captureSettle: Duration.seconds(90),
    });
    const env = pipeline.functions.StartRelease?.node.defaultChild as lambda.CfnFunction;
    const variables = Stack.of(pipeline).resolve(env.environment) as { variables: Record<string, string> };

    expect(JSON.parse(variables.variables.RELEASE_POLICY ?? '')).toMatchObject({
      defaults: { decision: { windowSeconds: 21_600, metric: 'log-loss', settleSeconds: 90 } },
      models: { 'flight-delay': { decision: { minGain: 0.01 } } },
    });
  });

  it('fails when a decision setting is out of range, naming it', () => {
    expect(() => build({ defaults: { decision: { window: Duration.days(8) } } })).toThrow(
      /ReleasePipeline: defaults\.decision\.windowSeconds/,
    );
  });

  it('tells FinishRelease the registry cache TTL it is given', () => {
    const pipeline = build({ registryCacheTtl: Duration.seconds(30) });
    const fn = pipeline.functions.FinishRelease?.node.defaultChild as lambda.CfnFunction;
    const variables = Stack.of(pipeline).resolve(fn.environment) as { variables: Record<string, string> };

    expect(variables.variables.REGISTRY_CACHE_TTL_MS).toBe('30000');
  });

  it('reads composite alarms with DescribeAlarms on * (all CloudWatch allows for them)', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'C');
    const fn = new lambda.Function(stack, 'Fn', {
      code: lambda.Code.fromInline('exports.handler = async () => ({})'),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_22_X,
    });
    const metric = new cloudwatch.Alarm(stack, 'A', {
      metric: fn.metricErrors(),
      threshold: 1,
      evaluationPeriods: 1,
    });
    const composite = new cloudwatch.CompositeAlarm(stack, 'Both', {
      alarmRule: cloudwatch.AlarmRule.anyOf(metric),
    });
    new ReleasePipeline(stack, 'Release', {
      predictFunction: fn,
      liveAlias: new lambda.Alias(stack, 'Live', { aliasName: 'live', version: fn.currentVersion }),
      registry: new ModelRegistry(stack, 'Registry'),
      notificationsTopic: new sns.Topic(stack, 'Topic'),
      shadow: shadowSteps(stack),
      data: new DataStore(stack, 'Data', { accessLogs: logsBucket(stack) }),
      artifacts: new ArtifactStore(stack, 'Artifacts', { accessLogs: logsBucket(stack) }),
      alarms: [metric, composite],
    });
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as PolicyStatement[],
    );

    expect(
      statements.filter((st) => st.Action === 'cloudwatch:DescribeAlarms').map((st) => st.Resource),
    ).toEqual(['*', '*']);
  });

  it('fails when a plan does not end at 100, naming where', () => {
    expect(() => build({ models: { m: { plans: { canary: [10, 50] } } } })).toThrow(
      'ReleasePipeline: models.m.plans.canary: the last step of a plan must be 100',
    );
  });

  it('fails when a whole-flip strategy is given a ramp', () => {
    expect(() => build({ defaults: { plans: { 'blue-green': [50, 100] } } })).toThrow(
      'ReleasePipeline: defaults.plans.blue-green: blue-green flips the whole alias: its plan is [100]',
    );
  });
});
