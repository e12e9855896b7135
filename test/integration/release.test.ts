// Model releases on the local platform, end to end: `mlops release` runs the release state machine
// on the synthesized template — a predict function version published through the local Lambda API,
// the live alias shifted step by step while real traffic flows through the REST API, health read
// from local CloudWatch, the CodeDeploy guard asking the local CodeDeploy API — and a healthy
// challenger becomes Production with the alias handed back at rest to the version it started from,
// a failing one is rolled back within one bake with every request answered, and of two releases
// started at once one is refused.
import { readFileSync } from 'node:fs';
import { CodeDeployClient, ListDeploymentsCommand } from '@aws-sdk/client-codedeploy';
import { GetAliasCommand, GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseCommand, rollbackCommand } from '../../cli/commands/release.ts';
import { readStatus } from '../../cli/commands/release-status.ts';
import type { Target } from '../../cli/target.ts';
import { DynamoDbModelRegistry } from '../../functions/lib/registry/dynamodb-registry.ts';
import { DynamoDbReleaseStore } from '../../functions/lib/releases/dynamodb-release-store.ts';
import { releaseExecutionName } from '../../functions/lib/releases/release-record.ts';
import { platformStack, SEED } from '../../local/bootstrap.ts';
import { localDynamoDbClient } from '../../local/emulators/dynamodb.ts';
import { LOCAL_CREDENTIALS } from '../../local/emulators/local-aws.ts';
import type { PublishedMessage } from '../../local/sns/local-topics.ts';
import { DEFAULT_LOCAL_REGION } from '../../local/template/pseudo-parameters.ts';
import { bootTestPlatform, type TestPlatform } from '../support/local-platform.ts';

const MODEL = SEED.model;
const rows = [
  { date: '2001/01/14 21:55', distance: 1200, origin: 'SFO', destination: 'LAX' },
  { date: '2001/02/02 06:10', distance: 300, origin: 'ORD', destination: 'DTW' },
];

let t: TestPlatform;
let target: Target;
let registry: DynamoDbModelRegistry;
let store: DynamoDbReleaseStore;
let lambda: LambdaClient;
let sfn: SFNClient;
let predictFunction: string;
let challengers = 0;

beforeAll(async () => {
  t = await bootTestPlatform({ routingSeed: 11 });
  const stack = platformStack(t.platform);
  target = {
    kind: 'local',
    stackName: stack.stackName,
    apiUrl: t.platform.url,
    apiKey: t.platform.apiKey,
    outputs: stack.outputs,
    clientConfig: {
      region: DEFAULT_LOCAL_REGION,
      credentials: { ...LOCAL_CREDENTIALS },
      endpoints: t.platform.endpoints,
    },
  };
  const db = DynamoDBDocumentClient.from(localDynamoDbClient(t.platform.endpoints.dynamodb));
  registry = new DynamoDbModelRegistry(db, stack.outputs.RegistryTableName ?? '');
  store = new DynamoDbReleaseStore(db, stack.outputs.RegistryTableName ?? '');
  const client = { region: DEFAULT_LOCAL_REGION, credentials: { ...LOCAL_CREDENTIALS } };
  lambda = new LambdaClient({ ...client, endpoint: t.platform.endpoints.lambda });
  sfn = new SFNClient({ ...client, endpoint: t.platform.endpoints.sfn });
  predictFunction = stack.outputs.PredictFunctionName ?? '';
});

afterAll(async () => {
  await t?.stop();
});

/** A new Staging version of the seed model: the Production artifact registered again (same scores). */
async function registerChallenger(): Promise<number> {
  const production = await registry.getProductionVersion(MODEL);
  if (!production) throw new Error('the seed model has no Production version');
  const runId = `release-it-challenger-${++challengers}`;
  const version = await registry.allocateVersion(MODEL, runId);
  const { stage: _stage, createdAt: _at, ...fields } = production;
  return (await registry.registerVersion({ ...fields, version, trainingRunId: runId, stage: 'Staging' }))
    .version;
}

interface Answer {
  readonly status: number;
  /** When the request was sent, and answered. */
  readonly sentAt: number;
  /** Model version that answered (2xx). */
  readonly version?: number;
  /** What a failed request was told. */
  readonly error?: string;
  readonly at: number;
}

/**
 * Requests through the REST API from `concurrency` loops until stopped, every answer kept. Paced
 * (a few hundred per second) to stay under the API key's throttle, which would answer 429.
 */
function traffic(concurrency = 3, pauseMs = 10) {
  const answers: Answer[] = [];
  const failures: string[] = [];
  let running = true;
  const loop = async () => {
    while (running) {
      const sentAt = Date.now();
      try {
        const res = await fetch(`${t.platform.url}models/${MODEL}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': t.platform.apiKey },
          body: JSON.stringify({ instances: rows }),
        });
        const body = (await res.json()) as {
          version?: number;
          error?: { message?: string };
          message?: string;
        };
        answers.push({
          status: res.status,
          sentAt,
          ...(res.ok ? { version: body.version } : { error: body.error?.message ?? body.message ?? '' }),
          at: Date.now(),
        });
      } catch (err) {
        failures.push((err as Error).message);
      }
      await new Promise((ok) => setTimeout(ok, pauseMs));
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    answers,
    async stop() {
      running = false;
      await Promise.all(loops);
      return { answers, failures };
    },
  };
}

const liveAlias = async () => {
  const alias = await lambda.send(new GetAliasCommand({ FunctionName: predictFunction, Name: 'live' }));
  return { version: alias.FunctionVersion, weights: alias.RoutingConfig?.AdditionalVersionWeights ?? {} };
};

const notifications = (): PublishedMessage[] => {
  const topic = (target.outputs.NotificationsTopicArn ?? '').split(':').pop() ?? '';
  try {
    return readFileSync(t.platform.sns.messageFile(topic), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as PublishedMessage);
  } catch {
    return [];
  }
};

async function waitForExecution(executionArn: string) {
  for (;;) {
    const out = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (out.status !== 'RUNNING') return out;
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

describe('mlops release on the local platform', () => {
  it("binds the release steps to the template's CodeDeploy deployment group, which the local CodeDeploy API serves", async () => {
    const stack = platformStack(t.platform);
    const name = Object.entries(stack.functions).find(([id]) => id.includes('StartRelease'))?.[1] ?? '';
    const config = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
    const variables = config.Environment?.Variables ?? {};
    expect(variables.CODE_DEPLOY_APPLICATION).toBeTruthy();

    const codeDeploy = new CodeDeployClient({
      region: DEFAULT_LOCAL_REGION,
      credentials: { ...LOCAL_CREDENTIALS },
      endpoint: t.platform.baseUrl,
    });
    const out = await codeDeploy.send(
      new ListDeploymentsCommand({
        applicationName: variables.CODE_DEPLOY_APPLICATION,
        deploymentGroupName: variables.CODE_DEPLOY_DEPLOYMENT_GROUP,
        includeOnlyStatuses: ['InProgress'],
      }),
    );
    expect(out.deployments).toEqual([]);
  });

  it('ramps a healthy challenger 5 → 25 → 50 → 100 % under traffic, makes it Production and hands the alias back', async () => {
    const version = await registerChallenger();
    const before = await liveAlias();
    const load = traffic();
    const lines: string[] = [];

    const code = await releaseCommand(target, {
      model: MODEL,
      version: String(version),
      bake: '2s',
      json: false,
      pollMs: 100,
      print: (line) => lines.push(line),
    });
    const { answers, failures } = await load.stop();

    expect(code, lines.join('\n')).toBe(0);
    expect((await registry.getProductionVersion(MODEL))?.version).toBe(version);
    // Back at rest on the version it started from (CloudFormation's, as CodeDeploy requires),
    // which is unpinned and so serves the new Production version.
    const after = await liveAlias();
    expect(after).toEqual({ version: before.version, weights: {} });
    const record = await store.latestRelease(MODEL);
    expect(record).toMatchObject({
      status: 'succeeded',
      modelVersion: version,
      plan: [5, 25, 50, 100],
      routing: { version: before.version },
    });
    expect(record?.newFunctionVersion).not.toBe(before.version);
    for (const step of [1, 2, 3, 4]) expect(lines.join('\n')).toContain(`step ${step}/4`);
    expect(lines.join('\n')).toContain(`live handed back at rest: v${before.version} 100%`);
    // Every request answered, and answered well, by the champion or the challenger.
    expect(failures).toEqual([]);
    expect(answers.length).toBeGreaterThan(20);
    expect(answers.filter((a) => a.status !== 200).slice(0, 3)).toEqual([]);
    expect(new Set(answers.map((a) => a.version))).toEqual(new Set([record?.previousModelVersion, version]));
    expect(notifications().map((m) => m.Subject)).toContain(
      `Release ${MODEL} v${version}: live and Production`,
    );

    const status = await readStatus(target, MODEL);
    expect(status).toMatchObject({
      productionVersion: version,
      versions: [{ functionVersion: before.version, percent: 100, modelVersion: version, pinned: false }],
      lock: null,
      release: { status: 'succeeded' },
    });
    // Predictions through the API come from the new model version.
    const served = await Promise.all(
      Array.from({ length: 6 }, () =>
        fetch(`${t.platform.url}models/${MODEL}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': t.platform.apiKey },
          body: JSON.stringify({ instances: rows }),
        }).then(async (res) => [res.status, ((await res.json()) as { version?: number }).version]),
      ),
    );
    expect(served).toEqual(Array.from({ length: 6 }, () => [200, version]));
  }, 60_000);

  it('refuses one of two releases started at once: one release per alias', async () => {
    const [a, b] = [await registerChallenger(), await registerChallenger()];
    const now = new Date();
    const start = (version: number) =>
      sfn.send(
        new StartExecutionCommand({
          stateMachineArn: target.outputs.ReleasePipelineArn,
          name: releaseExecutionName(MODEL, version, now),
          input: JSON.stringify({ model: MODEL, version, strategy: 'all-at-once', bake: '1s' }),
        }),
      );
    const started = await Promise.all([start(a), start(b)]);

    const ended = await Promise.all(started.map((s) => waitForExecution(s.executionArn ?? '')));

    const refused = ended.filter((e) => e.error === 'ReleaseInProgress');
    const released = ended.filter((e) => e.status === 'SUCCEEDED');
    expect(refused, JSON.stringify(ended.map((e) => [e.status, e.error, e.cause]))).toHaveLength(1);
    expect(released).toHaveLength(1);
    expect(refused[0]?.cause).toContain('one release per alias at a time');
    const winner = JSON.parse(released[0]?.output ?? '{}') as { modelVersion?: number };
    expect((await registry.getProductionVersion(MODEL))?.version).toBe(winner.modelVersion);
    // The refused one is still Staging: it may be released later.
    const loser = winner.modelVersion === a ? b : a;
    expect((await registry.getVersion(MODEL, loser))?.stage).toBe('Staging');
  }, 30_000);

  it('refuses a version that is not Staging, saying so', async () => {
    const production = (await registry.getProductionVersion(MODEL))?.version ?? 0;
    await expect(
      releaseCommand(target, {
        model: MODEL,
        version: String(production),
        json: false,
        print: () => undefined,
      }),
    ).rejects.toThrow(
      `${MODEL} v${production} is Production, not Staging: only a Staging version can be released`,
    );
  });

  it('rolls a failing challenger back within one bake while traffic flows, every request answered', async () => {
    const version = await registerChallenger();
    const production = (await registry.getProductionVersion(MODEL))?.version;
    const champion = (await liveAlias()).version;
    const load = traffic();
    const lines: string[] = [];
    const releasing = releaseCommand(target, {
      model: MODEL,
      version: String(version),
      plan: '50,100',
      bake: '8s',
      json: false,
      pollMs: 100,
      print: (line) => lines.push(line),
    });
    // The new version breaks as soon as it is published (after its warm-up), before any traffic.
    let challenger: string | undefined;
    while (!challenger) {
      const record = await store.latestRelease(MODEL);
      if (record?.modelVersion === version && record.newFunctionVersion)
        challenger = record.newFunctionVersion;
      else await new Promise((ok) => setTimeout(ok, 20));
    }
    const brokenAt = Date.now();
    t.platform.lambda.injectFault(`${predictFunction}:${challenger}`, {
      kind: 'error',
      errorType: 'Error',
      errorMessage: 'challenger broken',
    });

    const code = await releasing;
    const rolledBackAt = Date.now();
    await new Promise((ok) => setTimeout(ok, 500));
    const { answers, failures } = await load.stop();
    t.platform.lambda.clearFaults();

    expect(code, lines.join('\n')).toBe(1);
    expect(lines.join('\n')).toMatch(
      /✗ ReleaseRolledBack: .*step 1 \(50%\) breached: .*function errors: challenger v\d+/,
    );
    const record = await store.latestRelease(MODEL);
    expect(record).toMatchObject({
      status: 'rolled-back',
      rolledBackBy: 'automatic',
      routing: { version: champion },
    });
    // Within one bake of the shift, not after it.
    const shifted = Date.parse(record?.step?.startedAt ?? '');
    expect(Date.parse(record?.endedAt ?? '') - shifted).toBeLessThan(8_000);
    expect(await liveAlias()).toEqual({ version: champion, weights: {} });
    expect((await registry.getProductionVersion(MODEL))?.version).toBe(production);
    // Every request answered. Once the challenger broke (a request sent before that may have met
    // it still whole), what succeeded was the champion's and only the challenger's share failed.
    expect(failures).toEqual([]);
    const sinceBroken = answers.filter((a) => a.sentAt > brokenAt);
    const ok = sinceBroken.filter((a) => a.status === 200);
    const failed = sinceBroken.filter((a) => a.status !== 200);
    expect(new Set(ok.map((a) => a.version))).toEqual(new Set([production]));
    expect(new Set(failed.map((a) => a.status))).toEqual(new Set([502]));
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.length).toBeLessThan(sinceBroken.length);
    expect(answers.filter((a) => a.sentAt > rolledBackAt && a.status !== 200)).toEqual([]);
    const message = notifications().find((m) => m.Subject === `Release ${MODEL} v${version} rolled back`);
    expect(JSON.parse(message?.Message ?? '{}')).toMatchObject({
      outcome: 'rolled-back',
      version,
      live: `v${champion} 100%`,
    });
  }, 60_000);

  it('says there is nothing to roll back once the last release already ended rolled back', async () => {
    const lines: string[] = [];
    const code = await rollbackCommand(target, {
      model: MODEL,
      json: false,
      pollMs: 100,
      print: (l) => lines.push(l),
    });
    expect(code).toBe(1);
    expect(lines.join('\n')).toContain('NothingToRollBack: the last release of flight-delay');
  }, 20_000);
});
