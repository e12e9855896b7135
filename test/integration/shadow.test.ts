// A shadow release on the local platform, driven through its two release steps as the release
// state machine drives them: StartShadow points the `shadow` alias at a version pinned to a
// Staging challenger; every client request is then answered by the champion while a copy goes to
// the challenger asynchronously, whose answers land in the capture marked `shadow`; with the
// challenger's version failing, no client request fails; FinishShadow writes the comparison.
// Then one whole shadow release through the release state machine, as `mlops release … --strategy
// shadow` starts it: the live alias and the registry stay as they were, and the report exists.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseCommand } from '../../cli/commands/release.ts';
import { formatStatus, readStatus } from '../../cli/commands/release-status.ts';
import type { Target } from '../../cli/target.ts';
import type { ShadowComparisonDocument, ShadowFinished } from '../../functions/finish-shadow/core.ts';
import {
  type CaptureRecord,
  CaptureRecordSchema,
  captureRole,
} from '../../functions/lib/capture/capture-record.ts';
import { DynamoDbModelRegistry } from '../../functions/lib/registry/dynamodb-registry.ts';
import { DynamoDbShadowConfigStore } from '../../functions/lib/releases/shadow-config.ts';
import { CAPTURE_PREFIX } from '../../functions/lib/storage/s3-layout.ts';
import type { ShadowStarted } from '../../functions/start-shadow/core.ts';
import { localDynamoDbClient } from '../../local/emulators/dynamodb.ts';
import { LOCAL_CREDENTIALS } from '../../local/emulators/local-aws.ts';
import { localS3Client } from '../../local/emulators/s3.ts';
import type { Platform } from '../../local/platform.ts';
import { DEFAULT_LOCAL_REGION } from '../../local/template/pseudo-parameters.ts';
import { bootTestPlatform, type TestPlatform } from '../support/local-platform.ts';
import { trainFlightModel } from '../support/trained-model.ts';

const MODEL = 'flight-delay';
const RELEASE = 'shadow-it-1';
const rows = [
  { date: '2001/01/14 21:55', distance: 1200, origin: 'SFO', destination: 'LAX' },
  { date: '2001/02/02 06:10', distance: 300, origin: 'ORD', destination: 'DTW' },
];
const dataDir = mkdtempSync(join(tmpdir(), 'mlops-shadow-'));

let t: TestPlatform;
let platform: Platform;
let s3: S3Client;
let outputs: Record<string, string>;
let challengerVersion: number;
let registry: DynamoDbModelRegistry;
let started: ShadowStarted;
/** Requests answered while the challenger was healthy, and while it failed. */
const healthy: Answer[] = [];
const failing: Answer[] = [];

interface Answer {
  readonly status: number;
  readonly modelVersion: string | null;
  readonly body: { requestId?: string; version?: number };
}

async function predict(): Promise<Answer> {
  const res = await fetch(`${platform.url}models/${MODEL}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': platform.apiKey },
    body: JSON.stringify({ instances: rows }),
  });
  return {
    status: res.status,
    modelVersion: res.headers.get('x-model-version'),
    body: (await res.json()) as Answer['body'],
  };
}

/** `n` predictions, 4 at a time. */
async function predictMany(n: number): Promise<Answer[]> {
  const answers: Answer[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next++ < n) answers.push(await predict());
    }),
  );
  return answers;
}

/** Invoke a release step the way the state machine does (synchronously); its result or its error. */
async function step<T>(name: string, input: unknown): Promise<T> {
  return (await platform.lambda.invoke(name, input)).result as T;
}

async function capturedRecords(): Promise<CaptureRecord[]> {
  await platform.firehose.flush();
  const records: CaptureRecord[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: outputs.DataBucketName,
        Prefix: CAPTURE_PREFIX,
        ContinuationToken: token,
      }),
    );
    for (const { Key } of page.Contents ?? []) {
      const object = await s3.send(new GetObjectCommand({ Bucket: outputs.DataBucketName, Key }));
      const bytes = await object.Body?.transformToByteArray();
      const text = bytes ? gunzipSync(bytes).toString('utf8') : '';
      for (const line of text.split('\n').filter((l) => l.length > 0))
        records.push(CaptureRecordSchema.parse(JSON.parse(line)));
    }
    token = page.NextContinuationToken;
  } while (token);
  return records;
}

async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const ids = (answers: readonly Answer[]) => new Set(answers.map((a) => a.body.requestId ?? ''));
const shadowsOf = (records: readonly CaptureRecord[], requests: Set<string>) =>
  records.filter((r) => captureRole(r) === 'shadow' && requests.has(r.shadowOf ?? ''));

beforeAll(async () => {
  t = await bootTestPlatform({ dataDir });
  platform = t.platform;
  outputs = platform.stacks[0]?.outputs ?? {};
  s3 = localS3Client(platform.endpoints.s3);
  // The challenger: another flights-v1 model (trained on fewer rows), registered as Staging.
  registry = new DynamoDbModelRegistry(
    DynamoDBDocumentClient.from(localDynamoDbClient(platform.endpoints.dynamodb)),
    outputs.RegistryTableName ?? '',
  );
  const champion = await registry.getProductionVersion(MODEL);
  if (!champion) throw new Error('the seed model has no Production version');
  const trained = trainFlightModel(2_000);
  challengerVersion = await registry.allocateVersion(MODEL, 'shadow-it-challenger');
  const key = `models/${MODEL}/${challengerVersion}/model.onnx`;
  await s3.send(new PutObjectCommand({ Bucket: outputs.ArtifactsBucketName, Key: key, Body: trained.bytes }));
  const { stage: _stage, createdAt: _createdAt, ...lineage } = champion;
  await registry.registerVersion({
    ...lineage,
    version: challengerVersion,
    artifactUri: `s3://${outputs.ArtifactsBucketName}/${key}`,
    artifactSha256: trained.sha256,
    trainingRunId: 'shadow-it-challenger',
    stage: 'Staging',
  });
}, 240_000);

afterAll(async () => {
  await t?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a shadow release on the local platform', () => {
  it('StartShadow points the shadow alias at a version pinned to the challenger', async () => {
    started = await step<ShadowStarted>(outputs.StartShadowFunctionName ?? '', {
      model: MODEL,
      challengerVersion,
      releaseId: RELEASE,
      durationSeconds: 600,
      settleSeconds: 0,
    });
    const fn = outputs.PredictFunctionName ?? '';
    expect(started).toMatchObject({ model: MODEL, challengerVersion, championVersion: 1, liveVersion: '1' });
    expect(platform.lambda.getAlias(fn, 'shadow')).toMatchObject({ version: started.functionVersion });
    expect(platform.lambda.getAlias(fn, 'live')).toMatchObject({ version: '1', additionalVersions: [] });
  });

  it("answers every client request with the champion while the challenger's answers land in the capture", async () => {
    healthy.push(...(await predictMany(12)));
    expect(healthy.map((a) => [a.status, a.modelVersion, a.body.version])).toEqual(
      Array.from({ length: 12 }, () => [200, '1', 1]),
    );
    const requests = ids(healthy);
    const records = await waitFor(capturedRecords, (found) => shadowsOf(found, requests).length === 24);
    const shadows = shadowsOf(records, requests);
    expect(shadows).toHaveLength(24);
    for (const record of shadows)
      expect(record).toMatchObject({ version: challengerVersion, functionVersion: started.functionVersion });
    const live = records.filter((r) => captureRole(r) === 'live' && requests.has(r.requestId));
    expect(live).toHaveLength(24);
    expect(new Set(live.map((r) => r.version))).toEqual(new Set([1]));
  });

  it('fails no client request when the challenger fails', async () => {
    const fn = outputs.PredictFunctionName ?? '';
    platform.lambda.injectFault(`${fn}:${started.functionVersion}`, {
      kind: 'error',
      errorType: 'Runtime.ExitError',
      errorMessage: 'the challenger crashed',
    });
    try {
      failing.push(...(await predictMany(8)));
    } finally {
      // Let the copies in flight reach the failing version before the fault is lifted.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      platform.lambda.clearFaults();
    }
    expect(failing.map((a) => [a.status, a.modelVersion])).toEqual(
      Array.from({ length: 8 }, () => [200, '1']),
    );
    const records = await capturedRecords();
    expect(shadowsOf(records, ids(failing))).toEqual([]);
  });

  it('FinishShadow stops copying and writes the comparison of the window', async () => {
    const finished = await step<ShadowFinished>(outputs.FinishShadowFunctionName ?? '', {
      releaseId: RELEASE,
    });
    expect(finished.report).toMatchObject({
      pairs: 24,
      challengerErrors: 8,
      coverage: expect.closeTo(24 / 40, 12),
      verdict: 'insufficient-data',
    });
    const object = await s3.send(
      new GetObjectCommand({ Bucket: outputs.ArtifactsBucketName, Key: finished.report?.key ?? '' }),
    );
    const doc = JSON.parse((await object.Body?.transformToString()) ?? '{}') as ShadowComparisonDocument;
    expect(doc).toMatchObject({
      model: MODEL,
      source: 'shadow',
      champion: { version: 1 },
      challenger: { version: challengerVersion },
      counts: { pairs: 24, requests: 12, championOnly: 16, challengerErrors: 8 },
      shadow: { releaseId: RELEASE, state: 'finished' },
    });
    expect(doc.agreement.rate).not.toBeNull();
    expect(doc.scores.meanAbsDelta).toBeGreaterThan(0);

    // Copying has stopped: once the live functions' cached shadow item (5 s) has expired, a
    // request is answered and not copied.
    await new Promise((resolve) => setTimeout(resolve, 5_500));
    const after = await predictMany(3);
    expect(after.map((a) => a.status)).toEqual([200, 200, 200]);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(shadowsOf(await capturedRecords(), ids(after))).toEqual([]);
  });

  it('runs a shadow release through the release state machine (`mlops release --strategy shadow`)', async () => {
    const fn = outputs.PredictFunctionName ?? '';
    const target: Target = {
      kind: 'local',
      stackName: platform.stacks[0]?.stackName ?? '',
      apiUrl: platform.url,
      apiKey: platform.apiKey,
      outputs,
      clientConfig: {
        region: DEFAULT_LOCAL_REGION,
        credentials: { ...LOCAL_CREDENTIALS },
        endpoints: platform.endpoints,
      },
    };
    const shadows = new DynamoDbShadowConfigStore(
      DynamoDBDocumentClient.from(localDynamoDbClient(platform.endpoints.dynamodb)),
      outputs.RegistryTableName ?? '',
    );
    const liveBefore = platform.lambda.getAlias(fn, 'live');
    const productionBefore = (await registry.getProductionVersion(MODEL))?.version;
    const lines: string[] = [];

    // A 10 s window (the bake): the live functions see the new shadow within their 5 s cache.
    const releasing = releaseCommand(target, {
      model: MODEL,
      version: String(challengerVersion),
      strategy: 'shadow',
      bake: '10s',
      settle: '0s',
      json: false,
      pollMs: 100,
      print: (line) => lines.push(line),
    });
    let done = false;
    const exit = releasing.finally(() => {
      done = true;
    });
    const running = await waitFor(
      () => shadows.get(),
      (item) => item?.releaseId !== RELEASE && item?.state === 'active',
      10_000,
    );
    expect(running).toMatchObject({ model: MODEL, challengerVersion, state: 'active' });
    const status = await readStatus(target, MODEL);
    expect(status.shadow).toMatchObject({ releaseId: running?.releaseId, active: true });
    expect(formatStatus(status)).toContain(`shadow    running: v${challengerVersion} on function v`);
    // Traffic through the window, its capture flushed as it goes (the report reads it from S3).
    const answers: Answer[] = [];
    while (!done) {
      answers.push(...(await predictMany(4)));
      await platform.firehose.flush();
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const code = await exit;

    expect(answers.every((a) => a.status === 200 && a.modelVersion === '1')).toBe(true);
    expect(platform.lambda.getAlias(fn, 'live')).toEqual(liveBefore);
    expect((await registry.getProductionVersion(MODEL))?.version).toBe(productionBefore);
    expect((await registry.getVersion(MODEL, challengerVersion))?.stage).toBe('Staging');
    const finished = await shadows.get();
    expect(finished).toMatchObject({ releaseId: running?.releaseId, state: 'finished' });
    const report = finished?.report;
    expect(report?.uri).toMatch(new RegExp(`^s3://${outputs.ArtifactsBucketName}/releases/${MODEL}/shadow-`));
    const key = report?.uri.replace(`s3://${outputs.ArtifactsBucketName}/`, '') ?? '';
    const object = await s3.send(new GetObjectCommand({ Bucket: outputs.ArtifactsBucketName, Key: key }));
    const doc = JSON.parse((await object.Body?.transformToString()) ?? '{}') as ShadowComparisonDocument;
    expect(doc).toMatchObject({
      model: MODEL,
      source: 'shadow',
      challenger: { version: challengerVersion },
      verdict: { verdict: report?.verdict },
      shadow: { releaseId: running?.releaseId },
    });
    expect(doc.counts.pairs).toBeGreaterThan(0);
    const text = lines.join('\n');
    expect(text).toContain(`shadow: ${MODEL} v${challengerVersion} on function v`);
    expect(text).toContain(`report ${report?.uri}`);
    expect(text).toContain(`verdict ${report?.verdict}: ${MODEL} v${challengerVersion} shadowed against v1`);
    expect(code, text).toBe(report?.verdict === 'pass' ? 0 : 1);
  }, 90_000);
});
