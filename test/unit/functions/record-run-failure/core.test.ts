// RecordFailure, the end of every failed training run: which step failed (from the run log, on
// dynalite), the reason people read, and the alarm the state machine publishes.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { reasonFromCause as reasonFrom } from '../../../../functions/lib/errors.ts';
import { DynamoDbRunLog } from '../../../../functions/lib/runs/dynamodb-run-log.ts';
import { type PipelineStep, TrainingRunInput } from '../../../../functions/lib/runs/training-run.ts';
import { recordRunFailure } from '../../../../functions/record-run-failure/core.ts';
import { RUN_LOG_KEYS, startTestDynamoDb, type TestDynamoDb } from '../../../support/local-dynamodb.ts';

let dynamo: TestDynamoDb;
let runLog: DynamoDbRunLog;
const now = () => new Date('2026-11-20T10:00:00.000Z');

const input = TrainingRunInput.parse({
  runId: 'run-1',
  model: 'flights',
  datasetUri: 's3://data/datasets/flights.json',
  featureSet: 'flights-v1',
});

/** The Cause Step Functions gives a Catch for an error a Lambda function threw. */
const lambdaCause = (errorType: string, errorMessage: string) =>
  JSON.stringify({
    errorType,
    errorMessage,
    trace: [`${errorType}: ${errorMessage}`, '    at validateData (core.ts:41)'],
  });

async function stepsSucceeded(...steps: PipelineStep[]) {
  for (const step of steps) {
    await runLog.stepStarted(input, step);
    await runLog.stepSucceeded(input.runId, step, { durationMs: 10 });
  }
}

beforeAll(async () => {
  dynamo = await startTestDynamoDb();
});

afterAll(async () => {
  await dynamo?.stop();
});

beforeEach(async () => {
  runLog = new DynamoDbRunLog(dynamo.client, await dynamo.createTable(RUN_LOG_KEYS));
});

describe('recordRunFailure', () => {
  it('blames the step the run log shows did not succeed, and records the run FAILED', async () => {
    // Prepare: the train branch failed while build-test-set, beside it, succeeded.
    await stepsSucceeded('validate', 'preprocess');
    await runLog.stepStarted(input, 'train');
    await runLog.stepFailed('run-1', 'train', {
      durationMs: 10,
      error: { name: 'InvalidRequest', message: 'both classes are needed' },
      willRetry: false,
    });
    await stepsSucceeded('build-test-set');
    const event = {
      ...input,
      error: { Error: 'InvalidRequest', Cause: lambdaCause('InvalidRequest', 'both classes are needed') },
    };

    // Act
    const failure = await recordRunFailure(event, { runLog, now });

    // Assess
    expect(failure).toMatchObject({
      error: 'InvalidRequest',
      failedStep: 'train',
      cause: 'step train: both classes are needed',
      subject: 'Training run run-1 of flights failed at train',
    });
    expect(await runLog.getRun('run-1')).toMatchObject({
      status: 'FAILED',
      failedStep: 'train',
      error: { name: 'InvalidRequest', message: 'both classes are needed' },
    });
  });

  it('blames the step after the last one that succeeded when the failed one never recorded itself', async () => {
    // Prepare: Lambda itself failed (throttled past its retries) before Preprocess's code ran.
    await stepsSucceeded('validate');
    const event = { ...input, error: { Error: 'Lambda.TooManyRequestsException', Cause: 'Rate exceeded' } };

    // Act
    const failure = await recordRunFailure(event, { runLog, now });

    // Assess
    expect(failure.failedStep).toBe('preprocess');
    expect(failure.cause).toBe('step preprocess: Rate exceeded');
  });

  it('blames the first step when the run log has no record of the run', async () => {
    // Act
    const failure = await recordRunFailure(
      { ...input, error: { Error: 'InvalidRequest', Cause: lambdaCause('InvalidRequest', 'bad input') } },
      { runLog, now },
    );

    // Assess
    expect(failure.failedStep).toBe('validate');
    expect(await runLog.getRun('run-1')).toMatchObject({ status: 'FAILED', failedStep: 'validate' });
  });

  it('blames evaluate for failed quality gates and gives every failed gate, not just the first', async () => {
    // Prepare
    await stepsSucceeded('validate', 'preprocess', 'train', 'build-test-set', 'evaluate');
    const failures = [
      'overall: AUC 0.550 is below the minimum 0.600',
      'subgroup origin_region=west: AUC 0.420 is 0.130 below overall 0.550 (allowed gap 0.100)',
    ];
    const event = {
      ...input,
      evaluation: { auc: 0.55, logLoss: 0.6, gates: { passed: false, failures }, output: 's3://a/m.json' },
      // The gates' Pass state can only carry the first failure.
      error: { Error: 'QualityGateFailed', Cause: failures[0] },
    };

    // Act
    const failure = await recordRunFailure(event, { runLog, now });

    // Assess
    expect(failure).toMatchObject({
      error: 'QualityGateFailed',
      failedStep: 'evaluate',
      cause: `step evaluate: ${failures.join('; ')}`,
    });
    expect((await runLog.getRun('run-1'))?.error).toEqual({
      name: 'QualityGateFailed',
      message: failures.join('; '),
    });
  });

  it('publishes a JSON alarm with the run, the step, the error and the reason', async () => {
    // Prepare
    const reason = 'flights: 1 expectation failed on 20,000 rows\n- maxNullRate (distance): 30.0% null';
    const event = {
      ...input,
      error: { Error: 'DataValidationFailed', Cause: lambdaCause('DataValidationFailed', reason) },
    };

    // Act
    const failure = await recordRunFailure(event, { runLog, now });

    // Assess
    expect(JSON.parse(failure.message)).toEqual({
      alarm: 'TrainingRunFailed',
      runId: 'run-1',
      model: 'flights',
      failedStep: 'validate',
      error: 'DataValidationFailed',
      reason,
      at: '2026-11-20T10:00:00.000Z',
    });
  });

  it('keeps the alarm subject within the 100 characters SNS allows', async () => {
    // Prepare: the longest run id and model name the pipeline accepts.
    const runId = `r${'1'.repeat(56)}`;
    const model = `m${'x'.repeat(62)}`;
    await runLog.stepStarted({ ...input, runId, model }, 'validate');

    // Act
    const failure = await recordRunFailure(
      { ...input, runId, model, error: { Error: 'States.Timeout', Cause: 'timed out' } },
      { runLog, now },
    );

    // Assess
    expect(failure.subject.length).toBeLessThanOrEqual(100);
    expect(failure.subject).toMatch(new RegExp(`^Training run ${runId} of m`));
  });
});

describe('reasonFromCause', () => {
  it('takes the errorMessage out of a Lambda error Cause', () => {
    expect(reasonFrom(lambdaCause('ConflictError', 'the dataset changed after validation'))).toBe(
      'the dataset changed after validation',
    );
  });

  it('keeps a plain-text Cause, and JSON without an errorMessage, as it is', () => {
    expect(reasonFrom('Task timed out after 900.00 seconds')).toBe('Task timed out after 900.00 seconds');
    expect(reasonFrom('{"code":42}')).toBe('{"code":42}');
  });

  it('says so when there is no Cause', () => {
    expect(reasonFrom(undefined)).toBe('no cause given');
  });
});
