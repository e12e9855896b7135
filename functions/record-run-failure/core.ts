// The training pipeline's failure path (every Catch leads here): finds the step that failed,
// records the run as FAILED with a readable reason, and shapes the alarm message the state
// machine publishes to the alarms topic and the error its Fail state ends with.
import * as z from 'zod';
import { reasonFromCause } from '../lib/errors.ts';
import type { RunLog } from '../lib/runs/run-log.ts';
import { PIPELINE_STEPS, RunId } from '../lib/runs/training-run.ts';

/** What Catch put at `$.error`: AWS's Error name and Cause text. */
const FailedState = z.looseObject({
  runId: RunId,
  model: z.string(),
  error: z.object({ Error: z.string(), Cause: z.string().optional() }),
  evaluation: z.looseObject({ gates: z.object({ failures: z.array(z.string()) }) }).optional(),
});

export interface FailureRecord {
  /** The Fail state's error (the name of what failed, e.g. DataValidationFailed). */
  readonly error: string;
  /** The Fail state's cause: the failed step and the reason. */
  readonly cause: string;
  /** Alarm subject (SNS allows 100 characters). */
  readonly subject: string;
  /** Alarm body: JSON for machines, with the same reason. */
  readonly message: string;
  readonly failedStep: string;
}

export async function recordRunFailure(
  event: unknown,
  ports: { runLog: RunLog; now?: () => Date },
): Promise<FailureRecord> {
  const state = FailedState.parse(event);
  // The gates' Pass state can only carry the first failure; Evaluate's result has them all.
  const gateFailures =
    state.error.Error === 'QualityGateFailed' ? state.evaluation?.gates.failures : undefined;
  const reason = gateFailures?.length ? gateFailures.join('; ') : reasonFromCause(state.error.Cause);
  const run = await ports.runLog.getRun(state.runId);
  // The gates are a Choice after Evaluate; otherwise the last step that did not succeed failed.
  const failedStep =
    state.error.Error === 'QualityGateFailed'
      ? 'evaluate'
      : ([...(run?.steps ?? [])].reverse().find((s) => s.status !== 'SUCCEEDED')?.step ??
        (run?.steps.length ? PIPELINE_STEPS[run.steps.length] : PIPELINE_STEPS[0]) ??
        'unknown');
  await ports.runLog.runFailed(state.runId, {
    step: failedStep,
    error: { name: state.error.Error, message: reason },
  });
  const subject = `Training run ${state.runId} of ${state.model} failed at ${failedStep}`.slice(0, 100);
  return {
    error: state.error.Error,
    cause: `step ${failedStep}: ${reason}`.slice(0, 32_000),
    subject,
    message: JSON.stringify({
      alarm: 'TrainingRunFailed',
      runId: state.runId,
      model: state.model,
      failedStep,
      error: state.error.Error,
      reason,
      at: (ports.now?.() ?? new Date()).toISOString(),
    }),
    failedStep,
  };
}
