// The local Lambda control plane on the real platform, driven the way a model release drives it
// on AWS (the SDK's UpdateFunctionConfiguration + waiter, PublishVersion + waiter, UpdateAlias):
// a version pinned to a new model version takes its weighted share of the prediction API's
// traffic and serves its pinned model, no request is lost while the weights move, and the
// alias state outlives a restart of the platform on the same data folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionUpdatedV2,
  waitUntilPublishedVersionActive,
} from '@aws-sdk/client-lambda';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbModelRegistry } from '../../functions/lib/registry/dynamodb-registry.ts';
import { CAPTURE_PREFIX } from '../../functions/lib/storage/s3-layout.ts';
import { localDynamoDbClient } from '../../local/emulators/dynamodb.ts';
import { LOCAL_CREDENTIALS } from '../../local/emulators/local-aws.ts';
import { localS3Client } from '../../local/emulators/s3.ts';
import { type Platform, startPlatform } from '../../local/platform.ts';
import { bootTestPlatform, type TestPlatform } from '../support/local-platform.ts';

const MODEL = 'flight-delay';
const SEED = 20261102;
const row = { date: '2001/01/14 21:55', distance: 1200, origin: 'SFO', destination: 'LAX' };
const dataDir = mkdtempSync(join(tmpdir(), 'mlops-control-plane-'));

let t: TestPlatform | undefined;
let restarted: Platform | undefined;
let fn: string;
/** The model version the new function version pins (a copy of the seed model's artifact). */
let pinnedModelVersion: number;
/** The function version published for it. */
let pinnedFunctionVersion: string;

function lambdaClient(platform: Platform): LambdaClient {
  return new LambdaClient({
    endpoint: platform.endpoints.lambda,
    region: 'us-east-1',
    credentials: { ...LOCAL_CREDENTIALS },
    maxAttempts: 1,
  });
}

interface Answer {
  status: number;
  modelVersion: string | null;
  requestId: string | undefined;
}

async function predict(platform: Platform): Promise<Answer> {
  const res = await fetch(`${platform.url}models/${MODEL}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': platform.apiKey },
    body: JSON.stringify({ instances: [row] }),
  });
  const body = (await res.json()) as { requestId?: string };
  return { status: res.status, modelVersion: res.headers.get('x-model-version'), requestId: body.requestId };
}

/** `n` predictions, `concurrency` at a time. */
async function predictMany(platform: Platform, n: number, concurrency = 8): Promise<Answer[]> {
  const answers: Answer[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        answers.push(await predict(platform));
      }
    }),
  );
  return answers;
}

/** Every capture record in the data bucket (requestId, model version, function version). */
async function capturedRecords(
  s3: S3Client,
  bucket: string,
): Promise<Array<{ requestId: string; version: number; functionVersion: string }>> {
  const records: Array<{ requestId: string; version: number; functionVersion: string }> = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: CAPTURE_PREFIX, ContinuationToken: token }),
    );
    for (const { Key } of page.Contents ?? []) {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key }));
      const text = gunzipSync(await object.Body!.transformToByteArray()).toString('utf8');
      for (const line of text.split('\n').filter((l) => l.length > 0)) records.push(JSON.parse(line));
    }
    token = page.NextContinuationToken;
  } while (token);
  return records;
}

beforeAll(async () => {
  t = await bootTestPlatform({ routingSeed: SEED, dataDir });
  const stack = t.platform.stacks[0]!;
  fn = stack.outputs.PredictFunctionName!;
  // A second registered version of the seed model (same artifact), left in Staging: only a
  // function version that pins it serves it.
  const registry = new DynamoDbModelRegistry(
    DynamoDBDocumentClient.from(localDynamoDbClient(t.platform.endpoints.dynamodb)),
    stack.outputs.RegistryTableName!,
  );
  const production = (await registry.getProductionVersion(MODEL))!;
  const runId = 'lambda-control-plane-test';
  pinnedModelVersion = await registry.allocateVersion(MODEL, runId);
  const { stage: _stage, createdAt: _createdAt, ...copy } = production;
  await registry.registerVersion({
    ...copy,
    version: pinnedModelVersion,
    trainingRunId: runId,
    stage: 'Staging',
  });
}, 240_000);

afterAll(async () => {
  await restarted?.stop();
  await t?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a pinned version released through the Lambda API', () => {
  it('publishes a version pinned to the new model version (update, wait, publish, wait)', async () => {
    const lambda = lambdaClient(t!.platform);
    const live = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: fn, Qualifier: 'live' }),
    );
    expect(live.Version).toBe('1');
    const variables = {
      ...live.Environment?.Variables,
      MODEL_VERSION_PINS: JSON.stringify({ [MODEL]: pinnedModelVersion }),
    };
    const latest = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: fn }));
    await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: fn,
        Environment: { Variables: variables },
        RevisionId: latest.RevisionId,
      }),
    );
    await waitUntilFunctionUpdatedV2({ client: lambda, maxWaitTime: 30 }, { FunctionName: fn });
    const published = await lambda.send(
      new PublishVersionCommand({ FunctionName: fn, Description: `${MODEL} v${pinnedModelVersion}` }),
    );
    pinnedFunctionVersion = published.Version!;
    await waitUntilPublishedVersionActive(
      { client: lambda, maxWaitTime: 30 },
      { FunctionName: fn, Qualifier: pinnedFunctionVersion },
    );

    expect(Number(pinnedFunctionVersion)).toBeGreaterThan(1);
    const read = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: fn, Qualifier: pinnedFunctionVersion }),
    );
    expect(read).toMatchObject({ State: 'Active', Environment: { Variables: variables } });
    lambda.destroy();
  });

  it('sends the pinned version its 20% of ~1,000 predictions, each served by the model it pins', async () => {
    const lambda = lambdaClient(t!.platform);
    const alias = await lambda.send(new GetAliasCommand({ FunctionName: fn, Name: 'live' }));
    await lambda.send(
      new UpdateAliasCommand({
        FunctionName: fn,
        Name: 'live',
        FunctionVersion: '1',
        RoutingConfig: { AdditionalVersionWeights: { [pinnedFunctionVersion]: 0.2 } },
        RevisionId: alias.RevisionId,
      }),
    );
    lambda.destroy();

    const n = 1_000;
    const answers = await predictMany(t!.platform, n);
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    const pinned = answers.filter((a) => a.modelVersion === String(pinnedModelVersion)).length;
    const production = answers.filter((a) => a.modelVersion === '1').length;
    expect(pinned + production).toBe(n);
    expect(pinned / n).toBeGreaterThan(0.16);
    expect(pinned / n).toBeLessThan(0.24);

    // The capture says which function version answered: the pinned model only from the pinned version.
    const byRequest = new Map(answers.map((a) => [a.requestId, a]));
    const s3 = localS3Client(t!.platform.endpoints.s3);
    const bucket = t!.platform.stacks[0]!.outputs.DataBucketName!;
    let mine: Awaited<ReturnType<typeof capturedRecords>> = [];
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
      await t!.platform.firehose.flush();
      mine = (await capturedRecords(s3, bucket)).filter((r) => byRequest.has(r.requestId));
      if (mine.length >= n) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(mine).toHaveLength(n);
    for (const record of mine)
      expect([record.functionVersion, record.version]).toEqual(
        record.version === pinnedModelVersion ? [pinnedFunctionVersion, pinnedModelVersion] : ['1', 1],
      );
    expect(mine.filter((r) => r.functionVersion === pinnedFunctionVersion)).toHaveLength(pinned);
  }, 120_000);

  it('answers every request with 200 while the weights move along a canary plan and back', async () => {
    const lambda = lambdaClient(t!.platform);
    let stop = false;
    const answers: Answer[] = [];
    // Paced (each client waits 10 ms between requests: at most ~600/s in all) to stay under the
    // API key's 1,000/s throttle, which would rightly answer 429.
    const clients = Array.from({ length: 6 }, async () => {
      while (!stop) {
        answers.push(await predict(t!.platform));
        await new Promise((r) => setTimeout(r, 10));
      }
    });
    const steps: Array<{ FunctionVersion: string; weight?: number }> = [
      { FunctionVersion: '1', weight: 0.05 },
      { FunctionVersion: '1', weight: 0.25 },
      { FunctionVersion: '1', weight: 0.5 },
      { FunctionVersion: pinnedFunctionVersion },
      { FunctionVersion: '1' },
      { FunctionVersion: '1', weight: 0.2 },
    ];
    try {
      for (const step of steps) {
        await new Promise((r) => setTimeout(r, 250));
        const { RevisionId } = await lambda.send(new GetAliasCommand({ FunctionName: fn, Name: 'live' }));
        await lambda.send(
          new UpdateAliasCommand({
            FunctionName: fn,
            Name: 'live',
            FunctionVersion: step.FunctionVersion,
            RoutingConfig: {
              AdditionalVersionWeights:
                step.weight === undefined ? {} : { [pinnedFunctionVersion]: step.weight },
            },
            RevisionId,
          }),
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    } finally {
      stop = true;
      await Promise.all(clients);
      lambda.destroy();
    }
    expect(answers.length).toBeGreaterThan(100);
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(new Set(answers.map((a) => a.modelVersion))).toEqual(new Set(['1', String(pinnedModelVersion)]));
  }, 60_000);
});

describe('after a restart on the same data folder', () => {
  it('keeps the published version and the alias weights, and says so in the start-up log', async () => {
    await t!.stop();
    t = undefined;
    const lines: string[] = [];
    restarted = await startPlatform({
      cdkOut: fileURLToPath(new URL('../../cdk.out', import.meta.url)),
      dataDir,
      port: 0,
      routingSeed: SEED,
      log: (line) => lines.push(line),
    });
    const lambda = lambdaClient(restarted);
    const alias = await lambda.send(new GetAliasCommand({ FunctionName: fn, Name: 'live' }));
    expect(alias).toMatchObject({
      FunctionVersion: '1',
      RoutingConfig: { AdditionalVersionWeights: { [pinnedFunctionVersion]: 0.2 } },
    });
    const version = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: fn, Qualifier: pinnedFunctionVersion }),
    );
    expect(JSON.parse(version.Environment?.Variables?.MODEL_VERSION_PINS ?? '{}')).toEqual({
      [MODEL]: pinnedModelVersion,
    });
    lambda.destroy();
    expect(lines).toContain(`[lambda] ${fn}:live → v1 80% + v${pinnedFunctionVersion} 20% (restored)`);

    const answers = await predictMany(restarted, 200);
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(answers.some((a) => a.modelVersion === String(pinnedModelVersion))).toBe(true);
  }, 120_000);
});
