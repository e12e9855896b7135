// The run log against dynalite: every write is an upsert on (runId, item), so what matters is
// what a sequence of real updates leaves behind, step by step and across retries and re-runs.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbRunLog } from '../../../../../functions/lib/runs/dynamodb-run-log.ts';
import { PIPELINE_STEPS, TrainingRunInput } from '../../../../../functions/lib/runs/training-run.ts';
import { RUN_LOG_KEYS, startTestDynamoDb, type TestDynamoDb } from '../../../../support/local-dynamodb.ts';

let dynamo: TestDynamoDb;
let runLog: DynamoDbRunLog;
let clock: number;

const run = (runId: string, model = 'flights') =>
  TrainingRunInput.parse({
    runId,
    model,
    datasetUri: 's3://data/datasets/flights.json',
    featureSet: 'flights-v1',
    trainer: 'gbdt',
    requestedBy: 'alice',
  });

/** Run `step` to success, `ms` apart on the log's clock. */
async function succeed(input: TrainingRunInput, step: (typeof PIPELINE_STEPS)[number], ms = 1000) {
  await runLog.stepStarted(input, step);
  clock += ms;
  await runLog.stepSucceeded(input.runId, step, {
    durationMs: ms,
    output: `s3://a/runs/${input.runId}/${step}/`,
  });
}

beforeAll(async () => {
  dynamo = await startTestDynamoDb();
});

afterAll(async () => {
  await dynamo?.stop();
});

beforeEach(async () => {
  clock = Date.parse('2026-11-20T10:00:00.000Z');
  runLog = new DynamoDbRunLog(dynamo.client, await dynamo.createTable(RUN_LOG_KEYS), () => new Date(clock));
});

describe('DynamoDbRunLog', () => {
  it('records a run and its steps in pipeline order, whatever order they finished in', async () => {
    // Prepare
    const input = run('run-1');

    // Act
    await succeed(input, 'validate');
    await succeed(input, 'preprocess');
    await succeed(input, 'build-test-set'); // the Parallel's branches may finish in either order
    await succeed(input, 'train', 5000);
    await succeed(input, 'evaluate');
    await succeed(input, 'register');
    await runLog.runSucceeded('run-1', { version: 4 });

    // Assess
    const record = await runLog.getRun('run-1');
    expect(record).toMatchObject({
      runId: 'run-1',
      model: 'flights',
      status: 'SUCCEEDED',
      trainer: 'gbdt',
      datasetUri: 's3://data/datasets/flights.json',
      requestedBy: 'alice',
      startedAt: '2026-11-20T10:00:00.000Z',
      finishedAt: new Date(clock).toISOString(),
      version: 4,
    });
    expect(record?.steps.map((s) => s.step)).toEqual([...PIPELINE_STEPS]);
    expect(record?.steps.find((s) => s.step === 'train')).toEqual({
      runId: 'run-1',
      step: 'train',
      status: 'SUCCEEDED',
      attempts: 1,
      startedAt: '2026-11-20T10:00:03.000Z',
      finishedAt: '2026-11-20T10:00:08.000Z',
      durationMs: 5000,
      output: 's3://a/runs/run-1/train/',
    });
  });

  it('counts every attempt of a retried step and clears the last attempt error once it succeeds', async () => {
    // Prepare
    const input = run('run-1');
    await succeed(input, 'validate');
    const throttled = { name: 'TransientError', message: 'ThrottlingException: Rate exceeded' };

    // Act: two throttled attempts, then a third that succeeds.
    for (let attempt = 0; attempt < 2; attempt++) {
      await runLog.stepStarted(input, 'preprocess');
      await runLog.stepFailed('run-1', 'preprocess', { durationMs: 20, error: throttled, willRetry: true });
    }
    const retrying = (await runLog.getRun('run-1'))?.steps[1];
    await succeed(input, 'preprocess');

    // Assess
    expect(retrying).toMatchObject({ status: 'RETRYING', attempts: 2, error: throttled });
    const step = (await runLog.getRun('run-1'))?.steps[1];
    expect(step).toMatchObject({ step: 'preprocess', status: 'SUCCEEDED', attempts: 3 });
    expect(step?.error).toBeUndefined();
  });

  it('records a failed step and the run FAILED with the step and the error', async () => {
    // Prepare
    const input = run('run-1');
    await succeed(input, 'validate');
    await runLog.stepStarted(input, 'preprocess');
    const error = { name: 'ConflictError', message: 'the dataset changed after validation' };

    // Act
    await runLog.stepFailed('run-1', 'preprocess', { durationMs: 40, error, willRetry: false });
    await runLog.runFailed('run-1', { step: 'preprocess', error });

    // Assess
    expect(await runLog.getRun('run-1')).toMatchObject({
      status: 'FAILED',
      failedStep: 'preprocess',
      error,
      finishedAt: expect.any(String),
      steps: [
        { step: 'validate', status: 'SUCCEEDED' },
        { step: 'preprocess', status: 'FAILED', attempts: 1, error },
      ],
    });
  });

  it('starts a re-run over: status RUNNING, no error, failed step, finish time or version', async () => {
    // Prepare: a run that succeeded as v4, then failed when it was run again.
    const input = run('run-1');
    await succeed(input, 'validate');
    await runLog.runSucceeded('run-1', { version: 4 });
    clock += 60_000;
    await runLog.stepStarted(input, 'validate');
    await runLog.stepFailed('run-1', 'validate', {
      durationMs: 5,
      error: { name: 'DataValidationFailed', message: 'distance: 30% null' },
      willRetry: false,
    });
    await runLog.runFailed('run-1', {
      step: 'validate',
      error: { name: 'DataValidationFailed', message: 'x' },
    });
    clock += 60_000;
    const restartedAt = new Date(clock).toISOString();

    // Act
    await runLog.stepStarted(input, 'validate');

    // Assess
    const record = await runLog.getRun('run-1');
    expect(record).toMatchObject({ status: 'RUNNING', startedAt: restartedAt, updatedAt: restartedAt });
    for (const gone of ['error', 'failedStep', 'finishedAt', 'version'] as const)
      expect(record?.[gone], gone).toBeUndefined();
    expect(record?.steps[0]).toMatchObject({ step: 'validate', status: 'RUNNING', attempts: 3 });
    expect(record?.steps[0]?.error).toBeUndefined();
  });

  it('shows only the steps a re-run has reached, not those left from the earlier execution', async () => {
    // Prepare: a run that went through every step.
    const input = run('run-2');
    for (const step of PIPELINE_STEPS) await succeed(input, step);
    clock += 60_000;

    // Act: run it again, as far as preprocess.
    await succeed(input, 'validate');
    await runLog.stepStarted(input, 'preprocess');

    // Assess
    const record = await runLog.getRun('run-2');
    expect(record?.steps.map((s) => [s.step, s.status])).toEqual([
      ['validate', 'SUCCEEDED'],
      ['preprocess', 'RUNNING'],
    ]);
  });

  it('keeps the start time of the run when a later step starts', async () => {
    // Prepare
    const input = run('run-1');
    await succeed(input, 'validate', 60_000);

    // Act
    await runLog.stepStarted(input, 'preprocess');

    // Assess
    expect(await runLog.getRun('run-1')).toMatchObject({
      startedAt: '2026-11-20T10:00:00.000Z',
      updatedAt: '2026-11-20T10:01:00.000Z',
    });
  });

  it('answers undefined for a run it never saw', async () => {
    expect(await runLog.getRun('no-such-run')).toBeUndefined();
  });

  it('lists runs most recent first, filtered by model and cut at the limit', async () => {
    // Prepare
    for (const [runId, model] of [
      ['a', 'flights'],
      ['b', 'churn'],
      ['c', 'flights'],
      ['d', 'flights'],
    ] as const) {
      clock += 60_000;
      await succeed(run(runId, model), 'validate');
    }

    // Act
    const all = await runLog.listRuns();
    const flights = await runLog.listRuns({ model: 'flights' });
    const latest = await runLog.listRuns({ model: 'flights', limit: 2 });

    // Assess
    expect(all.map((r) => r.runId)).toEqual(['d', 'c', 'b', 'a']);
    expect(flights.map((r) => r.runId)).toEqual(['d', 'c', 'a']);
    expect(latest.map((r) => r.runId)).toEqual(['d', 'c']);
    expect(flights[0]).toMatchObject({ model: 'flights', status: 'RUNNING', steps: [] });
  });
});
