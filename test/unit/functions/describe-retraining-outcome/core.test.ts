// DescribeRetrainingOutcome: from what the execution's state holds, which way it went — promoted,
// kept (a decision, with its reasons) or failed (no decision) — recorded in outcome.json and shaped
// as the notification and, for a failure, the Fail state's error.
import { describe, expect, it } from 'vitest';
import { describeRetrainingOutcome } from '../../../../functions/describe-retraining-outcome/core.ts';
import { memoryObjectStore } from '../../../support/memory-object-store.ts';

const EXECUTION = 'flight-delay-drift-20261127T070000Z';
const NOW = new Date('2026-11-27T08:00:00.000Z');
const base = {
  model: 'flight-delay',
  trigger: 'drift',
  window: { start: '2026-11-27T06:00:00Z', end: '2026-11-27T07:00:00Z' },
  reason: 'distance PSI 0.31',
};
const prepared = {
  trainingRun: { runId: EXECUTION },
  reference: { version: 3, stage: 'Production' },
  output: `s3://artifacts/retraining/${EXECUTION}/ground-truth.json`,
};
const comparison = {
  decision: 'keep',
  reasons: [
    'challenger v5 vs champion v3: holdout AUC 0.641 vs 0.640, +0.001, less than the +0.005 required',
  ],
  champion: { version: 3, auc: 0.64 },
  challenger: { version: 5, auc: 0.641 },
  aucGain: 0.001,
  output: `s3://artifacts/retraining/${EXECUTION}/comparison.json`,
};

async function describeState(state: Record<string, unknown>) {
  const artifacts = memoryObjectStore('artifacts');
  const outcome = await describeRetrainingOutcome(
    { state: { ...base, ...state }, executionName: EXECUTION },
    { artifacts, now: () => NOW },
  );
  const stored = JSON.parse(
    Buffer.from(artifacts.objects.get(`retraining/${EXECUTION}/outcome.json`)?.body ?? []).toString('utf8'),
  );
  return { outcome, message: JSON.parse(outcome.message), stored };
}

describe('describeRetrainingOutcome', () => {
  it('describes a promotion with the comparison behind it', async () => {
    const { outcome, message, stored } = await describeState({
      prepared,
      comparison: {
        ...comparison,
        decision: 'promote',
        reasons: ['wins'],
        challenger: { version: 5, auc: 0.69 },
        aucGain: 0.05,
      },
      promotion: { version: 5, previousVersion: 3 },
    });

    expect(outcome).toEqual({
      status: 'promoted',
      summary: 'promoted challenger v5 over champion v3 (holdout AUC 0.690 vs 0.640)',
      subject: 'Retraining flight-delay: promoted challenger v5 (holdout AUC +0.050)',
      message: expect.any(String),
      output: `s3://artifacts/retraining/${EXECUTION}/outcome.json`,
    });
    expect(message).toEqual(stored);
    expect(message).toEqual({
      event: 'RetrainingDecision',
      model: 'flight-delay',
      executionName: EXECUTION,
      trigger: 'drift',
      window: base.window,
      alertReason: 'distance PSI 0.31',
      outcome: 'promoted',
      summary: outcome.summary,
      reasons: ['wins'],
      champion: { version: 3, auc: 0.64 },
      challenger: { version: 5, auc: 0.69 },
      aucGain: 0.05,
      challengerRunId: EXECUTION,
      groundTruthReport: prepared.output,
      comparisonReport: comparison.output,
      outcomeReport: outcome.output,
      at: NOW.toISOString(),
    });
  });

  it('describes a started release: the challenger won, and its release decides whether it goes live', async () => {
    const releaseArn = `arn:aws:states:eu-west-1:1:execution:release:${EXECUTION}-release`;
    const { outcome, message } = await describeState({
      prepared: { ...prepared, release: { executionName: `${EXECUTION}-release`, request: {} } },
      comparison: {
        ...comparison,
        decision: 'promote',
        reasons: ['wins'],
        challenger: { version: 5, auc: 0.69 },
        aucGain: 0.05,
      },
      release: { executionArn: releaseArn, startDate: 1 },
    });

    expect(outcome).toMatchObject({
      status: 'releasing',
      summary:
        `challenger v5 beat champion v3 (holdout AUC 0.690 vs 0.640): releasing it — release ${EXECUTION}-release ` +
        'makes it Production only if it stays healthy on live traffic',
      subject: 'Retraining flight-delay: releasing challenger v5 (holdout AUC +0.050)',
    });
    expect(outcome.error).toBeUndefined();
    expect(message).toMatchObject({
      event: 'RetrainingDecision',
      outcome: 'releasing',
      reasons: ['wins'],
      release: { executionName: `${EXECUTION}-release`, executionArn: releaseArn },
    });
  });

  it('fails when the release of a winning challenger could not be started', async () => {
    const { outcome } = await describeState({
      prepared,
      comparison: { ...comparison, decision: 'promote' },
      releaseError: { Error: 'StepFunctions.ExecutionLimitExceededException', Cause: 'too many executions' },
    });

    expect(outcome).toMatchObject({
      status: 'failed',
      error: 'StepFunctions.ExecutionLimitExceededException',
      cause: 'step ReleaseChallenger: too many executions',
    });
  });

  it('describes a kept champion with the comparison reasons', async () => {
    const { outcome, message } = await describeState({ prepared, comparison });

    expect(outcome).toMatchObject({
      status: 'kept',
      summary: `kept champion v3: ${comparison.reasons[0]}`,
      subject: 'Retraining flight-delay: kept champion v3',
    });
    expect(outcome.error).toBeUndefined();
    expect(message).toMatchObject({ outcome: 'kept', reasons: comparison.reasons, aucGain: 0.001 });
  });

  it('keeps the champion for want of labelled data', async () => {
    const { outcome } = await describeState({
      prepareError: {
        Error: 'InsufficientLabelledData',
        Cause: JSON.stringify({
          errorType: 'InsufficientLabelledData',
          errorMessage: '812 valid labelled rows',
        }),
      },
    });

    expect(outcome).toMatchObject({
      status: 'kept',
      summary: 'kept the champion: not enough labelled data: 812 valid labelled rows',
    });
  });

  it("keeps the champion when the challenger's run stopped at its data gate, reading the nested execution's error", async () => {
    const child = {
      Status: 'FAILED',
      Error: 'DataValidationFailed',
      Cause: 'step validate: flights: 1 expectation failed',
    };
    const { outcome, message } = await describeState({
      prepared,
      trainingError: { Error: 'States.TaskFailed', Cause: JSON.stringify(child) },
    });

    expect(outcome.status).toBe('kept');
    expect(message.reasons).toEqual([
      `the challenger's training run ${EXECUTION} stopped at its gates (DataValidationFailed): step validate: flights: 1 expectation failed`,
    ]);
  });

  it('fails when the challenger could not be trained for another reason, with the training error', async () => {
    const child = { Status: 'FAILED', Error: 'Error', Cause: 'step evaluate: disk on fire' };
    const { outcome, message } = await describeState({
      prepared,
      trainingError: { Error: 'States.TaskFailed', Cause: JSON.stringify(child) },
    });

    expect(outcome).toMatchObject({
      status: 'failed',
      subject: 'Retraining flight-delay failed at TrainChallenger',
      error: 'Error',
      cause: `step TrainChallenger: training run ${EXECUTION} failed: step evaluate: disk on fire`,
    });
    expect(message).toMatchObject({
      event: 'RetrainingFailed',
      failedStep: 'TrainChallenger',
      error: 'Error',
    });
  });

  it('fails when the nested run could not even start', async () => {
    const { outcome } = await describeState({
      prepared,
      trainingError: {
        Error: 'StepFunctions.ExecutionAlreadyExistsException',
        Cause: 'Execution Already Exists',
      },
    });

    expect(outcome).toMatchObject({
      status: 'failed',
      error: 'StepFunctions.ExecutionAlreadyExistsException',
    });
  });

  it('keeps the champion when the compare-and-set lost, and fails on any other promotion error', async () => {
    const conflict = await describeState({
      prepared,
      comparison: { ...comparison, decision: 'promote' },
      promoteError: {
        Error: 'ConflictError',
        Cause: JSON.stringify({
          errorType: 'ConflictError',
          errorMessage: 'the stages of flight-delay changed',
        }),
      },
    });
    const broken = await describeState({
      prepared,
      comparison: { ...comparison, decision: 'promote' },
      promoteError: { Error: 'ModelNotFound', Cause: 'gone' },
    });

    expect(conflict.outcome).toMatchObject({
      status: 'kept',
      summary: 'kept champion v3: the stages of flight-delay changed',
    });
    expect(broken.outcome).toMatchObject({
      status: 'failed',
      error: 'ModelNotFound',
      cause: 'step PromoteChallenger: gone',
    });
  });

  it('fails with RetrainingStateInvalid on a state no step left anything in', async () => {
    const { outcome } = await describeState({});

    expect(outcome).toMatchObject({ status: 'failed', error: 'RetrainingStateInvalid' });
  });

  it('keeps the subject within the 100 characters SNS allows', async () => {
    const { outcome } = await describeState({ model: `m-${'x'.repeat(120)}`, prepared, comparison });

    expect(outcome.subject.length).toBeLessThanOrEqual(100);
  });
});
