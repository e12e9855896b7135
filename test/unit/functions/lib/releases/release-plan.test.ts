// Release settings: plans and durations as people write them, and which level of the policy wins.
import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../../../../functions/lib/releases/health.ts';
import {
  defaultCheckInterval,
  parseDuration,
  parsePlan,
  ReleasePolicy,
  resolveSettings,
} from '../../../../../functions/lib/releases/release-plan.ts';

describe('parseDuration', () => {
  it.each([
    ['10s', 10],
    ['5m', 300],
    ['1h', 3600],
    ['1h30m', 5400],
    ['2m5s', 125],
    ['45', 45],
    [90, 90],
  ])('reads %s as %i seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(['', '5 minutes', '1.5m', 'm', '-3s'])(
    'fails on %j, naming the option and the forms it takes',
    (text) => {
      expect(() => parseDuration(text, 'bake')).toThrow(
        `bake must look like 30s, 5m, 1h or 1h30m (got ${JSON.stringify(text)})`,
      );
    },
  );
});

describe('parsePlan', () => {
  it('reads comma-separated percentages, with or without %', () => {
    expect(parsePlan('5, 25%,50,100')).toEqual([5, 25, 50, 100]);
    expect(parsePlan([10, 100])).toEqual([10, 100]);
  });

  it('fails on a plan that does not end at 100', () => {
    expect(() => parsePlan('5,25,50')).toThrow('plan 5,25,50: the last step of a plan must be 100');
  });

  it('fails on a plan that does not increase', () => {
    expect(() => parsePlan('50,25,100')).toThrow('plan percentages must increase step by step');
  });

  it('fails on what is not a number', () => {
    expect(() => parsePlan('5,half,100')).toThrow(
      'plan must be comma-separated percentages like 5,25,50,100 (got "5,half,100")',
    );
  });
});

describe('resolveSettings', () => {
  it('defaults to a canary 5 → 25 → 50 → 100 with 5-minute bakes checked every 30 s', () => {
    expect(resolveSettings('m', {})).toEqual({
      strategy: 'canary',
      plan: [5, 25, 50, 100],
      bakeSeconds: 300,
      checkIntervalSeconds: 30,
      thresholds: DEFAULT_THRESHOLDS,
    });
  });

  it('checks a short bake five times', () => {
    expect(resolveSettings('m', { bake: '10s' }).checkIntervalSeconds).toBe(2);
    expect(resolveSettings('m', { bake: '2s' }).checkIntervalSeconds).toBe(1);
  });

  it('takes the plan of the strategy asked for', () => {
    expect(resolveSettings('m', { strategy: 'linear' }).plan).toEqual([25, 50, 75, 100]);
    expect(resolveSettings('m', { strategy: 'all-at-once' }).plan).toEqual([100]);
    expect(resolveSettings('m', { strategy: 'blue-green' }).plan).toEqual([100]);
  });

  it("prefers the request, then the model's policy, then the deployment's defaults", () => {
    const policy = ReleasePolicy.parse({
      defaults: { strategy: 'linear', bakeSeconds: 600 },
      models: { m: { plans: { linear: [10, 100] }, bakeSeconds: 120 } },
      thresholds: { maxMeanScoreShift: 0.05 },
    });

    expect(resolveSettings('m', {}, policy)).toMatchObject({
      strategy: 'linear',
      plan: [10, 100],
      bakeSeconds: 120,
    });
    expect(resolveSettings('other', {}, policy)).toMatchObject({
      strategy: 'linear',
      plan: [25, 50, 75, 100],
      bakeSeconds: 600,
    });
    expect(resolveSettings('m', { strategy: 'canary', bake: '1m', plan: '50,100' }, policy)).toMatchObject({
      strategy: 'canary',
      plan: [50, 100],
      bakeSeconds: 60,
    });
    expect(resolveSettings('m', {}, policy).thresholds).toEqual({
      ...DEFAULT_THRESHOLDS,
      maxMeanScoreShift: 0.05,
    });
  });

  it('fails on an unknown strategy, listing the known ones', () => {
    expect(() => resolveSettings('m', { strategy: 'yolo' })).toThrow(
      'strategy must be one of canary, linear, all-at-once, blue-green, champion-challenger, shadow (got "yolo")',
    );
  });

  it('fails when a whole-flip strategy is given a ramp', () => {
    expect(() => resolveSettings('m', { strategy: 'blue-green', plan: '50,100' })).toThrow(
      'blue-green flips the whole alias at once: it takes no plan (got 50,100)',
    );
  });

  it('fails on a bake longer than a step may take', () => {
    expect(() => resolveSettings('m', { bake: '7h' })).toThrow('bake is at most 6 h per step (got 25200 s)');
  });

  it('checks a long release less often, so its history stays under the Step Functions limit', () => {
    const settings = resolveSettings('m', { strategy: 'linear', bake: '6h' });
    expect(settings.checkIntervalSeconds).toBe(defaultCheckInterval(Array(4).fill(6 * 3600)));
    expect(4 * Math.ceil((6 * 3600) / settings.checkIntervalSeconds)).toBeLessThanOrEqual(2000);
    expect(() => resolveSettings('m', { strategy: 'linear', bake: '6h', checkInterval: '5s' })).toThrow(
      'more than the 2000 one release may make',
    );
  });
});
