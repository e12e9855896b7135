// runPipelineStep names a step's errors for the state machine (transient → TransientError, which
// the ASL retries; anything else keeps its name for the Catch) and records the step in the run log,
// here the real DynamoDB run log on dynalite.
import {
  ConditionalCheckFailedException,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidRequest, isTransient } from '../../../../../functions/lib/errors.ts';
import { DynamoDbRunLog } from '../../../../../functions/lib/runs/dynamodb-run-log.ts';
import { runPipelineStep, type StepDeps } from '../../../../../functions/lib/runs/pipeline-step.ts';
import type { RunLog } from '../../../../../functions/lib/runs/run-log.ts';
import { DataValidationFailed } from '../../../../../functions/lib/validation/validate-dataset.ts';
import { RUN_LOG_KEYS, startTestDynamoDb, type TestDynamoDb } from '../../../../support/local-dynamodb.ts';

const metadata = (httpStatusCode: number) => ({ httpStatusCode, requestId: 'req-1', attempts: 3 });

/** An S3 error as the SDK deserializes it. */
const s3Error = (name: string, httpStatusCode: number, extra: Record<string, unknown> = {}) =>
  Object.assign(
    new S3ServiceException({
      name,
      $fault: httpStatusCode >= 500 ? 'server' : 'client',
      $metadata: metadata(httpStatusCode),
      message: `${name} from S3`,
    }),
    extra,
  );

const failedReport = {
  dataset: 'flights',
  passed: false,
  rows: 10,
  validRows: 10,
  violations: [
    { expectation: 'minRows' as const, message: '10 rows, expected at least 5,000', count: 10, examples: [] },
  ],
};

describe('isTransient', () => {
  it.each([
    [
      'an SDK error the SDK marked retryable',
      s3Error('RequestTimeTooSkewed', 403, { $retryable: { throttling: false } }),
    ],
    ['ThrottlingException', Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })],
    [
      'ProvisionedThroughputExceededException',
      new ProvisionedThroughputExceededException({
        message: 'throughput exceeded',
        $metadata: metadata(400),
      }),
    ],
    ['a 5xx answer of a service', s3Error('InternalFailure', 500)],
    ['a 503 SlowDown from S3', s3Error('SlowDown', 503)],
    ['a connection reset (ECONNRESET)', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
  ])('is true for %s', (_, err) => {
    expect(isTransient(err)).toBe(true);
  });

  it.each([
    ['InvalidRequest', new InvalidRequest('unknown feature set "x"')],
    ['DataValidationFailed', new DataValidationFailed(failedReport)],
    ['TypeError', new TypeError('cannot read properties of undefined')],
    ['a 4xx SDK error', s3Error('AccessDenied', 403)],
    [
      'a failed conditional write',
      new ConditionalCheckFailedException({ message: 'condition failed', $metadata: metadata(400) }),
    ],
    ['a thrown string', 'ECONNRESET'],
  ])('is false for %s', (_, err) => {
    expect(isTransient(err)).toBe(false);
  });
});

describe('runPipelineStep', () => {
  let dynamo: TestDynamoDb;
  let runLog: DynamoDbRunLog;
  let logged: Array<[string, Record<string, unknown> | undefined]>;
  let deps: StepDeps;
  const s3 = mockClient(S3Client);
  const input = {
    runId: 'run-1',
    model: 'flights',
    datasetUri: 's3://data/datasets/flights.json',
    featureSet: 'flights-v1',
  };

  beforeAll(async () => {
    dynamo = await startTestDynamoDb();
  });

  afterAll(async () => {
    await dynamo?.stop();
  });

  beforeEach(async () => {
    s3.reset();
    runLog = new DynamoDbRunLog(dynamo.client, await dynamo.createTable(RUN_LOG_KEYS));
    logged = [];
    deps = { runLog, log: (message, data) => logged.push([message, data]) };
  });

  /** A step that reads the dataset through the S3 SDK, as ValidateData does. */
  const readsDataset = async () => {
    await new S3Client({ region: 'eu-west-1' }).send(
      new GetObjectCommand({ Bucket: 'data', Key: 'datasets/flights.json' }),
    );
    return { output: 's3://artifacts/runs/run-1/validate/report.json' };
  };

  it('records the step RUNNING while it works, then SUCCEEDED with its duration and output', async () => {
    // Prepare
    let whileRunning: Awaited<ReturnType<RunLog['getRun']>>;

    // Act
    const result = await runPipelineStep('validate', input, deps, async (state) => {
      whileRunning = await runLog.getRun(state.runId);
      return { output: 's3://artifacts/runs/run-1/validate/report.json', rows: 20_000 };
    });

    // Assess
    expect(result).toEqual({ output: 's3://artifacts/runs/run-1/validate/report.json', rows: 20_000 });
    expect(whileRunning).toMatchObject({
      status: 'RUNNING',
      steps: [{ step: 'validate', status: 'RUNNING', attempts: 1 }],
    });
    const run = await runLog.getRun('run-1');
    expect(run?.steps).toEqual([
      expect.objectContaining({
        step: 'validate',
        status: 'SUCCEEDED',
        attempts: 1,
        durationMs: expect.any(Number),
        output: 's3://artifacts/runs/run-1/validate/report.json',
      }),
    ]);
    expect(run?.steps[0]?.error).toBeUndefined();
  });

  it('passes the step the input with its defaults applied', async () => {
    // Act
    let state: unknown;
    await runPipelineStep('validate', input, deps, async (s) => {
      state = s;
      return {};
    });

    // Assess
    expect(state).toMatchObject({ ...input, trainer: 'logreg', params: {}, seed: 0, requestedBy: 'unknown' });
  });

  it('records RETRYING and throws TransientError when the step hits a transient fault', async () => {
    // Prepare
    s3.on(GetObjectCommand).rejects(s3Error('SlowDown', 503));

    // Act
    const outcome = runPipelineStep('validate', input, deps, readsDataset);

    // Assess
    await expect(outcome).rejects.toMatchObject({
      name: 'TransientError',
      message: 'SlowDown: SlowDown from S3',
    });
    const step = (await runLog.getRun('run-1'))?.steps[0];
    expect(step).toMatchObject({
      status: 'RETRYING',
      attempts: 1,
      error: { name: 'TransientError', message: 'SlowDown from S3' },
    });
  });

  it('counts the attempt when the state machine retries the step, and records its success', async () => {
    // Prepare
    s3.on(GetObjectCommand).rejectsOnce(s3Error('SlowDown', 503)).resolves({});
    await expect(runPipelineStep('validate', input, deps, readsDataset)).rejects.toThrow();

    // Act
    await runPipelineStep('validate', input, deps, readsDataset);

    // Assess
    const step = (await runLog.getRun('run-1'))?.steps[0];
    expect(step).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    expect(step?.error).toBeUndefined();
  });

  it('records FAILED and rethrows a permanent error as it is, name and all', async () => {
    // Prepare
    const failure = new DataValidationFailed(failedReport, 's3://artifacts/runs/run-1/validate/report.json');

    // Act
    const outcome = runPipelineStep('validate', input, deps, async () => {
      throw failure;
    });

    // Assess
    await expect(outcome).rejects.toBe(failure);
    expect((await runLog.getRun('run-1'))?.steps[0]).toMatchObject({
      status: 'FAILED',
      error: { name: 'DataValidationFailed', message: failure.message },
    });
    expect(logged).toContainEqual([
      'step failed',
      expect.objectContaining({ step: 'validate', transient: false }),
    ]);
  });

  it('rethrows the step error when the run log cannot record the failure', async () => {
    // Prepare
    const failingLog: RunLog = Object.assign(Object.create(runLog) as RunLog, {
      stepFailed: async () => {
        throw new Error('run log unavailable');
      },
    });
    const failure = new TypeError('a bug in the step');

    // Act
    const outcome = runPipelineStep('validate', input, { ...deps, runLog: failingLog }, async () => {
      throw failure;
    });

    // Assess
    await expect(outcome).rejects.toBe(failure);
    expect(logged).toContainEqual(['run log write failed', { error: 'Error: run log unavailable' }]);
  });

  it('fails with InvalidRequest naming the bad fields, before recording anything, on an invalid state', async () => {
    // Prepare
    let worked = false;

    // Act
    const outcome = runPipelineStep(
      'validate',
      { ...input, runId: '-bad_id', model: undefined },
      deps,
      async () => {
        worked = true;
        return {};
      },
    );

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(InvalidRequest);
    await expect(outcome).rejects.toMatchObject({
      name: 'InvalidRequest',
      issues: expect.arrayContaining([
        expect.objectContaining({ path: 'runId' }),
        expect.objectContaining({ path: 'model' }),
      ]),
    });
    expect(worked).toBe(false);
    expect(await runLog.listRuns()).toEqual([]);
  });
});
