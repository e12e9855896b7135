// The training pipeline end to end on the local runtime: the same ASL and step functions as
// `cdk deploy`, driven through the Step Functions API and the CLI; injected faults show the
// retries and the Catch path; bad data stops at the gate; nothing half-registered is left.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  followTrainingRun,
  newRunId,
  type PipelineClients,
  startTrainingRun,
} from '../../cli/pipeline-client.ts';
import { DynamoDbModelRegistry } from '../../functions/lib/registry/dynamodb-registry.ts';
import { DynamoDbRunLog } from '../../functions/lib/runs/dynamodb-run-log.ts';
import type { TrainingRunInput } from '../../functions/lib/runs/training-run.ts';
import { artifactKeys, parseS3Uri } from '../../functions/lib/storage/s3-layout.ts';
import { platformStack, SEED } from '../../local/bootstrap.ts';
import { localDynamoDbClient } from '../../local/emulators/dynamodb.ts';
import { LOCAL_CREDENTIALS } from '../../local/emulators/local-aws.ts';
import { localS3Client } from '../../local/emulators/s3.ts';
import { bootTestPlatform, type TestPlatform } from '../support/local-platform.ts';

const bin = fileURLToPath(new URL('../../bin/mlops.js', import.meta.url));
const flights = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../../node_modules/vega-datasets/data/flights-20k.json', import.meta.url)),
    'utf8',
  ),
) as Array<Record<string, unknown>>;

let t: TestPlatform;
let clients: PipelineClients;
let registry: DynamoDbModelRegistry;
let outputs: Record<string, string>;
let stateFile: string;

beforeAll(async () => {
  t = await bootTestPlatform();
  outputs = platformStack(t.platform).outputs;
  const db = DynamoDBDocumentClient.from(localDynamoDbClient(t.platform.endpoints.dynamodb));
  registry = new DynamoDbModelRegistry(db, outputs.RegistryTableName ?? '');
  clients = {
    sfn: new SFNClient({
      endpoint: t.platform.baseUrl,
      region: 'us-east-1',
      credentials: { ...LOCAL_CREDENTIALS },
    }),
    runLog: new DynamoDbRunLog(db, outputs.RunsTableName ?? ''),
  };
  stateFile = join(String(t.platform.describe().dataDir), 'local.json');
  writeFileSync(stateFile, JSON.stringify(t.platform.describe()));
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

/** The step function whose logical id starts with `TrainingPipeline{step}`. */
function stepFunction(step: string): string {
  const functions = platformStack(t.platform).functions;
  const entry = Object.entries(functions).find(([id]) => id.startsWith(`TrainingPipeline${step}`));
  if (!entry) throw new Error(`no ${step} function in ${Object.keys(functions).join(', ')}`);
  return entry[1];
}

async function run(overrides: Partial<TrainingRunInput> = {}) {
  const runId = overrides.runId ?? newRunId('flight-delay');
  const executionArn = await startTrainingRun(clients, outputs.TrainingPipelineArn ?? '', {
    runId,
    model: SEED.model,
    datasetUri: outputs.SeedDatasetUri ?? '',
    featureSet: SEED.featureSet,
    requestedBy: 'integration-test',
    ...overrides,
  });
  return {
    runId,
    executionArn,
    outcome: await followTrainingRun(clients, { executionArn, runId }, undefined, { pollMs: 100 }),
  };
}

/** Upload rows as a dataset in the data bucket; returns its URI. */
async function uploadDataset(name: string, rows: unknown[]): Promise<string> {
  const bucket = outputs.DataBucketName ?? '';
  const key = `datasets/tests/${name}.json`;
  await localS3Client(t.platform.endpoints.s3).send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(rows) }),
  );
  return `s3://${bucket}/${key}`;
}

async function readObject(uri: string): Promise<string> {
  const { bucket, key } = parseS3Uri(uri);
  const out = await localS3Client(t.platform.endpoints.s3).send(
    new GetObjectCommand({ Bucket: bucket, Key: key }),
  );
  return (await out.Body?.transformToString()) ?? '';
}

describe('the seed run that npm start makes', () => {
  it('went through every step and registered v1 with its whole artifact set', async () => {
    const [seed] = await clients.runLog.listRuns({ model: SEED.model });
    expect(seed).toMatchObject({ status: 'SUCCEEDED', version: 1, requestedBy: 'npm-start-bootstrap' });
    const record = await clients.runLog.getRun(seed?.runId ?? '');
    expect(record?.steps.map((s) => [s.step, s.status])).toEqual([
      ['validate', 'SUCCEEDED'],
      ['preprocess', 'SUCCEEDED'],
      ['train', 'SUCCEEDED'],
      ['build-test-set', 'SUCCEEDED'],
      ['evaluate', 'SUCCEEDED'],
      ['register', 'SUCCEEDED'],
    ]);
    const v1 = await registry.getVersion(SEED.model, 1);
    expect(v1).toMatchObject({
      stage: 'Production',
      trainingRunId: seed?.runId,
      params: { trainer: 'logreg', splitSeed: 0 },
    });
    const bucket = parseS3Uri(v1?.artifactUri ?? '').bucket;
    const keys = artifactKeys(SEED.model, 1);
    const metrics = JSON.parse(await readObject(`s3://${bucket}/${keys.metrics}`)) as {
      test: { auc: number; calibration: unknown[] };
      subgroups: { column: string; groups: Array<{ value: string }> };
      gates: { passed: boolean };
    };
    expect(metrics.test.auc).toBeGreaterThan(0.62);
    expect(metrics.test.calibration).toHaveLength(10);
    expect(metrics.subgroups.column).toBe('origin_region');
    expect(metrics.gates.passed).toBe(true);
    const profile = JSON.parse(await readObject(`s3://${bucket}/${keys.profile}`)) as {
      fields: Record<string, { kind: string }>;
      prediction: { binEdges: number[] };
    };
    expect(Object.keys(profile.fields).sort()).toEqual([
      'departure_hour',
      'destination',
      'distance',
      'origin',
      'weekday',
    ]);
    expect(profile.prediction.binEdges.length).toBeGreaterThan(3);
    expect(await readObject(`s3://${bucket}/${keys.card}`)).toContain('### By subgroup (origin_region)');
  });
});

describe('mlops train', () => {
  it('runs the pipeline with the tree trainer, shows each step, and --promote serves the new version', async () => {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [bin, 'train', '--trainer', 'gbdt', '--params', '{"nTrees":60}', '--promote'],
      { env: { ...process.env, MLOPS_STATE_FILE: stateFile } },
    );
    for (const step of ['validate', 'preprocess', 'train', 'build-test-set', 'evaluate', 'register'])
      expect(stderr).toMatch(new RegExp(`✓ ${step}`));
    const version = Number(/→ flight-delay v(\d+) \(Production\)/.exec(stdout)?.[1]);
    expect(version).toBeGreaterThan(1);
    const challenger = await registry.getVersion(SEED.model, version);
    expect(challenger?.params).toMatchObject({ trainer: 'gbdt', nTrees: 60 });
    // The predict function reads the registry at most every 5 s (REGISTRY_CACHE_TTL_MS).
    await new Promise((resolve) => setTimeout(resolve, 5_100));
    const res = await fetch(`${t.platform.url}models/flight-delay/predict`, {
      method: 'POST',
      headers: { 'x-api-key': t.platform.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({
        instances: [{ date: '2001/01/14 21:55', distance: 1200, origin: 'SFO', destination: 'LAX' }],
      }),
    });
    expect(((await res.json()) as { version: number }).version).toBe(version);
  }, 60_000);

  it('exits non-zero naming the failing step and reason', async () => {
    const bad = join(String(t.platform.describe().dataDir), 'km.json');
    writeFileSync(
      bad,
      JSON.stringify(flights.map((r) => ({ ...r, distance: Math.round(Number(r.distance) * 1.609) }))),
    );
    const failed = await promisify(execFile)(process.execPath, [bin, 'train', '--dataset', bad], {
      env: { ...process.env, MLOPS_STATE_FILE: stateFile },
    }).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/failed at step validate: DataValidationFailed: [\s\S]*mean \(distance\)/);
  }, 60_000);
});

describe('faults', () => {
  it('retries a step that is throttled twice, then succeeds', async () => {
    t.platform.lambda.injectFault(stepFunction('TrainModel'), { kind: 'throttle' }, { times: 2 });
    const { executionArn, outcome } = await run();
    expect(outcome.status).toBe('SUCCEEDED');
    const history = t.platform.stepFunctions.getExecutionHistory(executionArn);
    const trainFailures = history.filter(
      (e) =>
        e.type === 'LambdaFunctionFailed' && JSON.stringify(e).includes('Lambda.TooManyRequestsException'),
    );
    expect(trainFailures).toHaveLength(2);
  });

  it('routes a step that always fails to the failure path: run FAILED, alarm published, nothing registered', async () => {
    const before = (await registry.getModel(SEED.model))?.latestVersion;
    t.platform.lambda.injectFault(stepFunction('Evaluate'), {
      kind: 'error',
      errorType: 'Error',
      errorMessage: 'disk on fire',
    });
    try {
      const { runId, outcome } = await run();
      expect(outcome.status).toBe('FAILED');
      expect(outcome.error).toBe('Error');
      expect(outcome.cause).toContain('step evaluate: disk on fire');
      expect(outcome.run).toMatchObject({
        status: 'FAILED',
        failedStep: 'evaluate',
        error: { message: 'disk on fire' },
      });
      const topic = outputs.AlarmsTopicArn?.split(':').at(-1) ?? '';
      const alarms = readFileSync(t.platform.sns.messageFile(topic), 'utf8').trim().split('\n');
      const last = JSON.parse(alarms.at(-1) ?? '{}') as { Subject: string; Message: string };
      expect(last.Subject).toBe(`Training run ${runId} of flight-delay failed at evaluate`);
      expect(JSON.parse(last.Message)).toMatchObject({
        alarm: 'TrainingRunFailed',
        runId,
        reason: 'disk on fire',
      });
      // The version number a run allocates is only taken at registration, which never ran.
      expect((await registry.getModel(SEED.model))?.latestVersion).toBe(before);
    } finally {
      t.platform.lambda.clearFaults();
    }
  });
});

describe('the data gate', () => {
  const cases: Array<[string, (rows: Array<Record<string, unknown>>) => unknown[], RegExp]> = [
    [
      'a column that silently turned to nulls',
      (rows) => rows.map((r, i) => (i % 3 === 0 ? { ...r, distance: null } : r)),
      /distance/,
    ],
    [
      'distance in km instead of miles',
      (rows) => rows.map((r) => ({ ...r, distance: Number(r.distance) * 1.609 })),
      /distance/,
    ],
    [
      'an airport that vanished',
      (rows) => rows.filter((r) => r.origin !== 'DFW'),
      /origin.*DFW|DFW.*origin/s,
    ],
  ];
  it.each(cases)('stops %s before training, with the report in S3', async (_name, alter, message) => {
    const datasetUri = await uploadDataset(`bad-${Math.random().toString(36).slice(2, 8)}`, alter(flights));
    const { outcome } = await run({ datasetUri });
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('DataValidationFailed');
    expect(outcome.run?.failedStep).toBe('validate');
    expect(outcome.run?.error?.message).toMatch(message);
    expect(outcome.run?.steps.map((s) => s.step)).toEqual(['validate']);
    const reportUri = /full report: (s3:\/\/\S+)/.exec(outcome.run?.error?.message ?? '')?.[1] ?? '';
    const report = JSON.parse(await readObject(reportUri)) as { passed: boolean; violations: unknown[] };
    expect(report.passed).toBe(false);
    expect(report.violations.length).toBeGreaterThan(0);
  });
});

describe('the registration gates', () => {
  it('refuse a model below the minimum AUC and register nothing', async () => {
    const before = (await registry.getModel(SEED.model))?.latestVersion;
    const { outcome } = await run({ gates: { minAuc: 0.95, maxSubgroupAucGap: 0.1, minSubgroupRows: 200 } });
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('QualityGateFailed');
    expect(outcome.run).toMatchObject({ failedStep: 'evaluate' });
    expect(outcome.run?.error?.message).toMatch(/AUC 0\.6\d+ .*0\.95/);
    expect((await registry.getModel(SEED.model))?.latestVersion).toBe(before);
  });
});

describe('a container trainer', () => {
  it('is mapped locally to the TypeScript trainer and imported through the container path', async () => {
    const { outcome } = await run({
      trainer: 'container',
      container: {
        image: '111122223333.dkr.ecr.us-east-1.amazonaws.com/trainer:1',
        instanceType: 'ml.m5.xlarge',
        maxRuntimeSeconds: 3600,
      },
    });
    expect(outcome.status).toBe('SUCCEEDED');
    const version = await registry.getVersion(SEED.model, outcome.registration?.version ?? 0);
    expect(version?.params).toMatchObject({
      trainer: 'container',
      image: '111122223333.dkr.ecr.us-east-1.amazonaws.com/trainer:1',
    });
    expect(version?.stage).toBe('Staging');
  });
});

describe('re-running a run id', () => {
  it('starts a new execution that rewrites the same outputs and registers the same version', async () => {
    const runId = newRunId('rerun');
    const first = await run({ runId });
    const second = await run({ runId });
    expect(second.executionArn).not.toBe(first.executionArn);
    expect(second.outcome.status).toBe('SUCCEEDED');
    expect(second.outcome.registration?.version).toBe(first.outcome.registration?.version);
    const version = await registry.getVersion(SEED.model, first.outcome.registration?.version ?? 0);
    expect(version?.trainingRunId).toBe(runId);
    expect((await registry.listVersions(SEED.model)).filter((v) => v.trainingRunId === runId)).toHaveLength(
      1,
    );
  });
});
