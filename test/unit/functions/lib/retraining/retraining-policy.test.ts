// The retraining policy: defaults, the deployment's settings over them, the request's over those,
// and a bad value refused by name.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRAINING_POLICY,
  resolveRetrainingPolicy,
} from '../../../../../functions/lib/retraining/retraining-policy.ts';
import { RetrainingRequestSchema } from '../../../../../functions/lib/retraining/retraining-request.ts';

describe('resolveRetrainingPolicy', () => {
  it('fills the defaults', () => {
    expect(resolveRetrainingPolicy()).toEqual(DEFAULT_RETRAINING_POLICY);
  });

  it("lets the request's settings win over the deployment's, field by field", () => {
    expect(resolveRetrainingPolicy({ minAucGain: 0.01, lookbackDays: 14 }, { lookbackDays: 3 })).toEqual({
      ...DEFAULT_RETRAINING_POLICY,
      minAucGain: 0.01,
      lookbackDays: 3,
    });
  });

  it('refuses an unknown setting and a value out of range', () => {
    expect(() => resolveRetrainingPolicy({}, { margin: 0.1 } as never)).toThrow(/margin/);
    expect(() => resolveRetrainingPolicy({}, { holdoutShare: 0 })).toThrow(/holdoutShare/);
  });

  it('is part of the retraining request, optional', () => {
    const request = {
      model: 'flight-delay',
      trigger: 'manual',
      window: { start: '2026-11-20T00:00:00Z', end: '2026-11-27T00:00:00Z' },
    };

    expect(RetrainingRequestSchema.parse(request).policy).toBeUndefined();
    expect(
      RetrainingRequestSchema.parse({ ...request, policy: { maxSubgroupAucLoss: 0.05 } }).policy,
    ).toEqual({
      maxSubgroupAucLoss: 0.05,
    });
  });
});
