// What starts a retraining execution, and the execution's name. One home: the drift check and
// `mlops` start it, `statemachines/retraining.asl.json` reads it.
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { compactTime } from '../storage/s3-layout.ts';
import { RetrainingPolicyOverrides } from './retraining-policy.ts';

export const RetrainingRequestSchema = z.object({
  model: z.string().min(1),
  /** Why: a drift alarm, a schedule, or someone asking. Never a promotion by itself. */
  trigger: z.enum(['drift', 'schedule', 'manual']),
  /** The capture window whose drift raised the alarm (or the recent period to retrain on). ISO-8601 UTC. */
  window: z.object({ start: z.iso.datetime(), end: z.iso.datetime() }),
  /** The alert's reason, carried into the decision's notification. */
  reason: z.string().default(''),
  /** This execution's changes to the deployment's retraining policy (margin, ε, lookback, …). */
  policy: RetrainingPolicyOverrides.optional(),
});
export type RetrainingRequest = z.output<typeof RetrainingRequestSchema>;

/**
 * The retraining execution's name, derived from the model and the window's end: Step Functions
 * refuses a second Standard execution of that name, so a drift check that is retried, or runs
 * twice for one window, starts one retraining. At most 80 characters of `[A-Za-z0-9-_]`.
 */
export function retrainingExecutionName(
  model: string,
  windowEnd: Date,
  trigger: RetrainingRequest['trigger'] = 'drift',
): string {
  if (!/^[A-Za-z0-9_-]+$/.test(model))
    throw new RangeError(`cannot name a retraining execution after model ${JSON.stringify(model)}`);
  const suffix = `-${trigger}-${compactTime(windowEnd)}`;
  // A long model name is shortened with a hash of the whole, so two long names never collide.
  const room = 80 - suffix.length;
  const head =
    model.length <= room
      ? model
      : `${model.slice(0, room - 9)}-${createHash('sha256').update(model).digest('hex').slice(0, 8)}`;
  return `${head}${suffix}`;
}
