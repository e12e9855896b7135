// RegisterModel at the end of a real flights-20k run, with the real registry and run log on
// dynalite: a Staging version with its full lineage and its artifact set under
// models/{model}/{version}/, idempotent on retry, and a reused run id with other data refused.
import { createHash } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError } from '../../../../functions/lib/errors.ts';
import { DynamoDbModelRegistry } from '../../../../functions/lib/registry/dynamodb-registry.ts';
import { DynamoDbRunLog } from '../../../../functions/lib/runs/dynamodb-run-log.ts';
import {
  type RegisterPorts,
  type RegisterResult,
  registerModel,
} from '../../../../functions/register-model/core.ts';
import {
  REGISTRY_KEYS,
  RUN_LOG_KEYS,
  startTestDynamoDb,
  type TestDynamoDb,
} from '../../../support/local-dynamodb.ts';
import {
  datasetFile,
  flightsFile,
  flightsRawRows,
  keysWrittenBy,
  type RunResults,
  runThrough,
  snapshot,
  startRun,
  type TestRun,
} from '../../../support/training-run.ts';

let dynamo: TestDynamoDb;
let registryTable: string;
let registry: DynamoDbModelRegistry;
let runLog: DynamoDbRunLog;
let run: TestRun;
let steps: RunResults;
let ports: RegisterPorts;
let result: RegisterResult;
let written: string[];
/** What the run's registration wrote, before any later test re-ran anything. */
let registered: Map<string, string>;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const bytesAt = (key: string) => run.artifacts.objects.get(key)?.body ?? new Uint8Array();
const textAt = (key: string) => Buffer.from(bytesAt(key)).toString('utf8');

async function auditEvents() {
  const out = await dynamo.client.send(
    new QueryCommand({
      TableName: registryTable,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :a)',
      ExpressionAttributeValues: { ':pk': 'MODEL#flights', ':a': 'AUDIT#' },
    }),
  );
  return out.Items ?? [];
}

beforeAll(async () => {
  dynamo = await startTestDynamoDb();
  registryTable = await dynamo.createTable(REGISTRY_KEYS);
  registry = new DynamoDbModelRegistry(dynamo.client, registryTable);
  runLog = new DynamoDbRunLog(dynamo.client, await dynamo.createTable(RUN_LOG_KEYS));
  run = startRun({ runId: 'reg', requestedBy: 'alice', gitCommit: '3f2a9c1' });
  steps = await runThrough(run, 'evaluate');
  ports = { artifacts: run.artifacts, registry, runLog, log: () => undefined };
  await runLog.stepStarted(run.state, 'validate');
  written = await keysWrittenBy(run.artifacts, async () => {
    result = await registerModel(run.state, ports);
  });
  registered = snapshot(run.artifacts, 'models/flights/1/');
});

afterAll(async () => {
  await dynamo?.stop();
});

describe('registerModel', () => {
  it('registers the run as the first Staging version and says where its artifacts are', () => {
    expect(result).toEqual({
      version: 1,
      stage: 'Staging',
      artifactUri: 's3://artifacts/models/flights/1/model.onnx',
      output: 's3://artifacts/models/flights/1/',
    });
  });

  it('records the full lineage: artifact and dataset digests, run, params, metrics, author and commit', async () => {
    // Act
    const version = await registry.getVersion('flights', 1);

    // Assess
    expect(version).toEqual({
      model: 'flights',
      version: 1,
      stage: 'Staging',
      artifactUri: 's3://artifacts/models/flights/1/model.onnx',
      artifactSha256: sha256(bytesAt('models/flights/1/model.onnx')),
      featureSet: 'flights-v1',
      trainingRunId: 'reg',
      datasetUri: run.state.datasetUri,
      datasetSha256: sha256(flightsFile()),
      params: { trainer: 'logreg', ...steps.model?.params, splitSeed: 0 },
      metrics: JSON.parse(textAt('runs/reg/evaluate/metrics.json')),
      createdAt: expect.any(String),
      createdBy: 'alice',
      gitCommit: '3f2a9c1',
    });
    expect(version?.artifactSha256).toBe(steps.model?.modelSha256);
    expect(version?.params).toMatchObject({ trainer: 'logreg', splitSeed: 0, l2: expect.any(Number) });
  });

  it("copies the run's model, metrics and profile, and writes the model card, under models/{model}/{version}/", () => {
    expect([...written].sort()).toEqual([
      'models/flights/1/card.md',
      'models/flights/1/metrics.json',
      'models/flights/1/model.onnx',
      'models/flights/1/profile.json',
    ]);
    expect(registered.get('models/flights/1/model.onnx')).toBe(sha256(bytesAt('runs/reg/train/model.onnx')));
    expect(registered.get('models/flights/1/metrics.json')).toBe(
      sha256(bytesAt('runs/reg/evaluate/metrics.json')),
    );
    expect(registered.get('models/flights/1/profile.json')).toBe(
      sha256(bytesAt('runs/reg/evaluate/profile.json')),
    );
    const card = textAt('models/flights/1/card.md');
    expect(card).toContain('# Model card: flights v1');
    expect(card).toContain(`artifact sha256: \`${steps.model?.modelSha256}\``);
    expect(card).toContain('run: `reg`, requested by alice');
    expect(card).toContain('code: commit `3f2a9c1`');
    expect(card).toContain('### By subgroup (origin_region)');
    expect(card).toContain('## Registration gates: passed');
  });

  it('records the run SUCCEEDED with its version in the run log', async () => {
    expect(await runLog.getRun('reg')).toMatchObject({ status: 'SUCCEEDED', version: 1 });
  });

  it('gives a retry the same version and duplicates nothing: versions, audit events or artifacts', async () => {
    // Act
    let again: RegisterResult | undefined;
    const rewritten = await keysWrittenBy(run.artifacts, async () => {
      again = await registerModel(run.state, ports);
    });

    // Assess
    expect(again).toEqual(result);
    expect(await registry.listVersions('flights')).toHaveLength(1);
    expect((await auditEvents()).map((e) => e.sk)).toEqual(['AUDIT#register#1']);
    expect(await registry.getModel('flights')).toMatchObject({ latestVersion: 1 });
    expect(rewritten).toEqual([]);
    expect(snapshot(run.artifacts, 'models/flights/1/')).toEqual(registered);
  });

  it('completes on retry a registration that failed after copying the artifacts', async () => {
    // Prepare: the registry write fails once (throttled), after the artifact set was copied.
    const retried = startRun({ runId: 'retried', model: 'delays' }, { artifacts: run.artifacts });
    await runThrough(retried, 'evaluate');
    let failures = 0;
    const flaky = Object.assign(Object.create(registry) as DynamoDbModelRegistry, {
      registerVersion: (input: Parameters<DynamoDbModelRegistry['registerVersion']>[0]) =>
        failures++ === 0
          ? Promise.reject(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
          : registry.registerVersion(input),
    });
    const retryPorts = { ...ports, artifacts: retried.artifacts, registry: flaky };
    await expect(registerModel(retried.state, retryPorts)).rejects.toThrow('Rate exceeded');
    expect(await registry.getVersion('delays', 1)).toBeUndefined();
    const copied = snapshot(run.artifacts, 'models/delays/');

    // Act
    const outcome = await registerModel(retried.state, retryPorts);

    // Assess
    expect(outcome).toMatchObject({ version: 1, stage: 'Staging' });
    expect(await registry.getVersion('delays', 1)).toMatchObject({
      trainingRunId: 'retried',
      stage: 'Staging',
    });
    expect(snapshot(run.artifacts, 'models/delays/')).toEqual(copied);
    expect(copied.size).toBe(4);
  });

  it('refuses with ConflictError a run id reused with another dataset, and keeps what it registered', async () => {
    // Prepare: the same run id trained again, on a dataset one thousand flights shorter.
    const reused = startRun(
      { runId: 'reg', requestedBy: 'bob' },
      { dataset: datasetFile(flightsRawRows().slice(0, 19_000)), artifacts: run.artifacts },
    );
    await runThrough(reused, 'evaluate');

    // Act
    const outcome = registerModel(reused.state, { ...ports, artifacts: reused.artifacts });

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(ConflictError);
    await expect(outcome).rejects.toThrow(
      /run id "reg" is already registered as flights v1 .*use a new run id/,
    );
    expect(snapshot(run.artifacts, 'models/flights/1/')).toEqual(registered);
    expect((await registry.getVersion('flights', 1))?.datasetSha256).toBe(sha256(flightsFile()));
    expect(await registry.listVersions('flights')).toHaveLength(1);
  });

  it('registers a new run of the same model as the next version', async () => {
    // Prepare
    const next = startRun({ runId: 'reg-2', seed: 1 }, { artifacts: run.artifacts });
    await runThrough(next, 'evaluate');

    // Act
    const second = await registerModel(next.state, { ...ports, artifacts: next.artifacts });

    // Assess
    expect(second).toMatchObject({ version: 2, stage: 'Staging' });
    expect(run.artifacts.keys('models/flights/2/')).toHaveLength(4);
    expect((await registry.getVersion('flights', 2))?.params).toMatchObject({
      trainer: 'logreg',
      splitSeed: 1,
    });
  });
});
