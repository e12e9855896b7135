// Champion/challenger releases on the local platform, end to end: a challenger trained on flights
// whose delays follow a new schedule (the concept shift of `mlops drift simulate`) is released with
// `mlops release … --strategy champion-challenger`; it serves a fixed slice of real traffic for the
// window while the champion serves the rest, the ground truth for those flights is in
// `ground-truth/`, and DecideChallenger joins each arm's captured predictions with it. The better
// model takes all traffic and becomes Production; released the other way round, the worse one is
// not promoted and the slice goes back to the champion.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetAliasCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseCommand } from '../../cli/commands/release.ts';
import { trainCommand } from '../../cli/commands/train.ts';
import { distinctShiftedFlights, type FlightRecord, instanceOf } from '../../cli/drift-simulation.ts';
import { resolveTarget, type Target } from '../../cli/target.ts';
import { DynamoDbModelRegistry } from '../../functions/lib/registry/dynamodb-registry.ts';
import { DynamoDbReleaseStore } from '../../functions/lib/releases/dynamodb-release-store.ts';
import { groundTruthPartitionPrefix, parseS3Uri } from '../../functions/lib/storage/s3-layout.ts';
import { localDynamoDbClient } from '../../local/emulators/dynamodb.ts';
import { LOCAL_CREDENTIALS } from '../../local/emulators/local-aws.ts';
import { localS3Client } from '../../local/emulators/s3.ts';
import { DEFAULT_LOCAL_REGION } from '../../local/template/pseudo-parameters.ts';
import { runJson } from '../support/cli-json.ts';
import { bootTestPlatform, type TestPlatform } from '../support/local-platform.ts';
import { flightsRawRows } from '../support/training-run.ts';

const MODEL = 'flight-delay';
let t: TestPlatform;
let target: Target;
let registry: DynamoDbModelRegistry;
let store: DynamoDbReleaseStore;
let lambda: LambdaClient;
const stateDir = mkdtempSync(join(tmpdir(), 'mlops-champion-challenger-'));

// Concept-shifted flights, each once: the first 6,000 train the challenger, the next 3,000 are
// the traffic of the window, whose outcomes are the ground truth.
const shifted = distinctShiftedFlights(flightsRawRows() as FlightRecord[], 'concept', 9_000, 5);
const training = shifted.slice(0, 6_000);
const traffic = shifted.slice(6_000);

beforeAll(async () => {
  t = await bootTestPlatform({ routingSeed: 5 });
  const stateFile = join(stateDir, 'local.json');
  writeFileSync(stateFile, JSON.stringify(t.platform.describe()));
  target = await resolveTarget('local', 'MlopsStack', stateFile);
  const db = DynamoDBDocumentClient.from(localDynamoDbClient(t.platform.endpoints.dynamodb));
  registry = new DynamoDbModelRegistry(db, target.outputs.RegistryTableName ?? '');
  store = new DynamoDbReleaseStore(db, target.outputs.RegistryTableName ?? '');
  lambda = new LambdaClient({
    region: DEFAULT_LOCAL_REGION,
    credentials: { ...LOCAL_CREDENTIALS },
    endpoint: t.platform.endpoints.lambda,
  });
  // The window's outcomes, dropped as a data team would (the same files a retraining reads).
  const today = new Date().toISOString().slice(0, 10);
  await localS3Client(t.platform.endpoints.s3).send(
    new PutObjectCommand({
      Bucket: target.outputs.DataBucketName,
      Key: `${groundTruthPartitionPrefix(MODEL, today)}window-outcomes.jsonl`,
      Body: traffic.map((row) => JSON.stringify(row)).join('\n'),
    }),
  );
}, 120_000);

afterAll(async () => {
  await t?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

/** Train a Staging version of the model on `rows`; its version. */
async function trainStaging(rows: readonly FlightRecord[], name: string): Promise<number> {
  const file = join(stateDir, `${name}.json`);
  writeFileSync(file, JSON.stringify(rows));
  const { code, json } = await runJson<{ version?: { version: number; stage: string } }>(() =>
    trainCommand(target, {
      model: MODEL,
      dataset: file,
      featureSet: 'flights-v1',
      promote: false,
      json: true,
    }),
  );
  expect(code).toBe(0);
  expect(json.version?.stage).toBe('Staging');
  return json.version?.version ?? 0;
}

/** The seed's first version registered again as a new Staging version (the same model). */
async function registerCopyOf(version: number): Promise<number> {
  const source = await registry.getVersion(MODEL, version);
  if (!source) throw new Error(`no v${version}`);
  const runId = `champion-challenger-copy-of-v${version}`;
  const next = await registry.allocateVersion(MODEL, runId);
  const { stage: _stage, createdAt: _at, ...fields } = source;
  return (
    await registry.registerVersion({ ...fields, version: next, trainingRunId: runId, stage: 'Staging' })
  ).version;
}

/** Once the alias routes to two versions (the slice), send the window's traffic through the API. */
async function trafficDuringSlice(): Promise<{ answered: number; failed: string[] }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const alias = await lambda.send(
      new GetAliasCommand({ FunctionName: target.outputs.PredictFunctionName, Name: 'live' }),
    );
    if (Object.keys(alias.RoutingConfig?.AdditionalVersionWeights ?? {}).length > 0) break;
    if (Date.now() > deadline) throw new Error('the slice never started');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const failed: string[] = [];
  let answered = 0;
  const batches: unknown[][] = [];
  for (let i = 0; i < traffic.length; i += 15) batches.push(traffic.slice(i, i + 15).map(instanceOf));
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < batches.length; i = next++) {
      const res = await fetch(`${target.apiUrl}models/${MODEL}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': target.apiKey },
        body: JSON.stringify({ instances: batches[i] }),
      });
      if (res.status === 200) answered++;
      else failed.push(`${res.status} ${await res.text()}`);
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  return { answered, failed };
}

interface ReleaseJson {
  execution: { status: string; error?: string; cause?: string };
  release: { status: string; decided?: { decision: string; summary: string; report: string } } | null;
}

async function readReport(uri: string): Promise<any> {
  const { bucket, key } = parseS3Uri(uri);
  const out = await localS3Client(t.platform.endpoints.s3).send(
    new GetObjectCommand({ Bucket: bucket, Key: key }),
  );
  return JSON.parse(await (out.Body as { transformToString(): Promise<string> }).transformToString());
}

const contest = (version: number) =>
  releaseCommand(target, {
    model: MODEL,
    version: String(version),
    strategy: 'champion-challenger',
    slice: '40',
    window: '10s',
    settle: '3s',
    bake: '1s',
    checkInterval: '2s',
    json: true,
    pollMs: 200,
  });

describe('champion/challenger on the local platform', () => {
  let challenger = 0;

  it('promotes a challenger that beats the champion on the outcomes of its slice', async () => {
    challenger = await trainStaging(training, 'concept-challenger');
    const [run, sent] = await Promise.all([
      runJson<ReleaseJson>(() => contest(challenger)),
      trafficDuringSlice(),
    ]);

    expect(sent.failed).toEqual([]);
    expect(sent.answered).toBe(200);
    expect(run.json.execution).toMatchObject({ status: 'SUCCEEDED' });
    expect(run.code).toBe(0);
    expect((await registry.getProductionVersion(MODEL))?.version).toBe(challenger);
    const decided = run.json.release?.decided;
    expect(decided?.decision).toBe('promote');
    const report = await readReport(decided?.report ?? '');
    expect(report).toMatchObject({ decision: 'promote', metric: 'auc', slicePercent: 40 });
    // Every request of the window was captured and labelled, in one arm or the other.
    expect(report.champion.labelled + report.challenger.labelled).toBe(traffic.length);
    expect(report.challenger.labelled).toBeGreaterThan(800);
    expect(report.champion.labelled).toBeGreaterThan(800);
    expect(report.challenger.auc).toBeGreaterThan(report.champion.auc + 0.05);
    expect(report.lowerBound).toBeGreaterThan(0);
  }, 180_000);

  it('keeps the champion, and gives the slice back to it, when the challenger is worse', async () => {
    // The seed model (v1) again, now against the concept-trained champion.
    const older = await registerCopyOf(1);
    const [run, sent] = await Promise.all([runJson<ReleaseJson>(() => contest(older)), trafficDuringSlice()]);

    expect(sent.failed).toEqual([]);
    expect(run.code).toBe(1);
    expect(run.json.execution).toMatchObject({ status: 'FAILED', error: 'ChallengerNotPromoted' });
    expect(run.json.execution.cause).toContain(`did not beat champion v${challenger}`);
    expect((await registry.getProductionVersion(MODEL))?.version).toBe(challenger);
    expect(run.json.release).toMatchObject({ status: 'not-promoted', decided: { decision: 'keep' } });
    const alias = await lambda.send(
      new GetAliasCommand({ FunctionName: target.outputs.PredictFunctionName, Name: 'live' }),
    );
    expect(alias.RoutingConfig?.AdditionalVersionWeights ?? {}).toEqual({});
    const latest = await store.latestRelease(MODEL);
    expect(alias.FunctionVersion).toBe(latest?.previousFunctionVersion);
  }, 180_000);
});
