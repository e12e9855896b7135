// The batch-scoring failure path (every Catch leads here): shapes the alarm the state machine
// publishes and the error its Fail state ends with, naming the input and the reason.
import * as z from 'zod';
import { reasonFromCause } from '../lib/errors.ts';

const FailedState = z.looseObject({
  detail: z.looseObject({
    bucket: z.looseObject({ name: z.string() }),
    object: z.looseObject({ key: z.string() }),
  }),
  error: z.object({ Error: z.string(), Cause: z.string().optional() }),
});

export function recordBatchFailure(event: unknown, now = new Date()) {
  const state = FailedState.parse(event);
  const input = `s3://${state.detail.bucket.name}/${state.detail.object.key}`;
  const reason = reasonFromCause(state.error.Cause);
  return {
    error: state.error.Error,
    cause: `${input}: ${reason}`.slice(0, 32_000),
    subject: `Batch scoring failed: ${state.detail.object.key}`.slice(0, 100),
    message: JSON.stringify({
      alarm: 'BatchScoringFailed',
      input,
      error: state.error.Error,
      reason,
      at: now.toISOString(),
    }),
  };
}
