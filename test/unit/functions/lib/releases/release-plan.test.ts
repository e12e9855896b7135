// Release settings: plans and durations as people write them, and which level of the policy wins.
import { describe, expect, it } from 'vitest';
import { DEFAULT_DECISION_POLICY } from '../../../../../functions/lib/releases/champion-challenger.ts';
import { DEFAULT_THRESHOLDS } from '../../../../../functions/lib/releases/health.ts';
import {
  checksOf,
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

describe('champion-challenger settings', () => {
  const cc = { strategy: 'champion-challenger' } as const;

  it('serves a 10% slice, then all, deciding by the platform defaults when nothing says otherwise', () => {
    const settings = resolveSettings('m', cc);

    expect(settings.strategy).toBe('champion-challenger');
    expect(settings.plan).toEqual([10, 100]);
    expect(settings.decision).toEqual(DEFAULT_DECISION_POLICY);
  });

  it('takes the slice, window, metric and settle of the request', () => {
    const settings = resolveSettings('m', {
      ...cc,
      slice: '20%',
      window: '6h',
      metric: 'log-loss',
      settle: '5m',
    });

    expect(settings.plan).toEqual([20, 100]);
    expect(settings.decision).toEqual({
      ...DEFAULT_DECISION_POLICY,
      windowSeconds: 6 * 3600,
      metric: 'log-loss',
      settleSeconds: 300,
    });
  });

  it("prefers the request, then the model's policy, then the deployment's defaults, then the platform's", () => {
    const policy = ReleasePolicy.parse({
      defaults: {
        plans: { 'champion-challenger': [5, 100] },
        decision: { windowSeconds: 7200, minGain: 0.01, minLabelledRows: 500 },
      },
      models: {
        m: {
          plans: { 'champion-challenger': [25, 100] },
          decision: { windowSeconds: 3600, metric: 'log-loss' },
        },
      },
    });

    expect(resolveSettings('m', cc, policy)).toMatchObject({
      plan: [25, 100],
      decision: {
        ...DEFAULT_DECISION_POLICY,
        windowSeconds: 3600,
        metric: 'log-loss',
        minGain: 0.01,
        minLabelledRows: 500,
      },
    });
    expect(resolveSettings('other', cc, policy)).toMatchObject({
      plan: [5, 100],
      decision: { ...DEFAULT_DECISION_POLICY, windowSeconds: 7200, minGain: 0.01, minLabelledRows: 500 },
    });
    expect(
      resolveSettings('m', { ...cc, slice: 15, window: '30m', metric: 'auc', settle: '0' }, policy),
    ).toMatchObject({
      plan: [15, 100],
      decision: { windowSeconds: 1800, metric: 'auc', settleSeconds: 0, minGain: 0.01, minLabelledRows: 500 },
    });
  });

  it('is chosen by the policy as well as by the request', () => {
    const policy = ReleasePolicy.parse({ models: { m: { strategy: 'champion-challenger' } } });

    expect(resolveSettings('m', {}, policy)).toMatchObject({
      strategy: 'champion-challenger',
      plan: [10, 100],
    });
    expect(resolveSettings('other', {}, policy).decision).toBeUndefined();
  });

  it('refuses a plan: the slice is the only step it takes', () => {
    expect(() => resolveSettings('m', { ...cc, plan: '10,100' })).toThrow(
      'champion-challenger serves a slice, then all: give the slice (--slice 10), not a plan',
    );
  });

  it('refuses a slice that is all or nothing', () => {
    expect(() => resolveSettings('m', { ...cc, slice: '100' })).toThrow(
      'the slice must leave the champion some traffic',
    );
    expect(() => resolveSettings('m', { ...cc, slice: 0 })).toThrow(
      'the slice must send the challenger some traffic',
    );
  });

  it('refuses --slice, --window and --metric for a canary, naming each', () => {
    expect(() => resolveSettings('m', { slice: 10 })).toThrow(
      'slice: only --strategy champion-challenger decides on a slice (canary takes none)',
    );
    expect(() => resolveSettings('m', { strategy: 'canary', window: '1h', metric: 'auc' })).toThrow(
      'window, metric: only --strategy champion-challenger decides on a slice (canary takes none)',
    );
  });

  it('refuses --settle for a canary', () => {
    expect(() => resolveSettings('m', { strategy: 'canary', settle: '2m' })).toThrow(
      'settle is a setting of strategies shadow and champion-challenger: canary takes none',
    );
  });

  it('refuses an unknown metric, listing the known ones', () => {
    expect(() => resolveSettings('m', { ...cc, metric: 'accuracy' })).toThrow(
      'metric: metric must be one of auc, log-loss (got "accuracy")',
    );
  });

  it('refuses a window longer than 7 days and a settle longer than an hour', () => {
    expect(resolveSettings('m', { ...cc, window: '168h' }).decision?.windowSeconds).toBe(7 * 86_400);
    expect(() => resolveSettings('m', { ...cc, window: '169h' })).toThrow(/^window: /);
    expect(() => resolveSettings('m', { ...cc, settle: '2h' })).toThrow(/^settle: /);
  });

  it('bakes the slice for the decision window, checking it rarely enough to stay within 2000 checks', () => {
    const settings = resolveSettings('m', { ...cc, window: '24h', bake: '5m' });

    // Bakes of 86,400 s and 300 s: ⌈86,700 / (2000 − 2)⌉ = 44 s between checks, making
    // ⌈86,400 / 44⌉ + ⌈300 / 44⌉ = 1964 + 7 = 1971 checks. Checked every 30 s (the usual most),
    // the window alone would make 2880.
    expect(settings.bakeSeconds).toBe(300);
    expect(settings.checkIntervalSeconds).toBe(44);
    expect(checksOf([86_400, 300], settings.checkIntervalSeconds)).toBe(1971);
    expect(() => resolveSettings('m', { ...cc, window: '24h', checkInterval: '30s' })).toThrow(
      'make 2890 checks, more than the 2000 one release may make',
    );
  });

  it('fails to parse a policy whose champion-challenger plan is not [slice, 100]', () => {
    expect(
      ReleasePolicy.safeParse({ defaults: { plans: { 'champion-challenger': [10, 50] } } }).success,
    ).toBe(false);
    const ramp = ReleasePolicy.safeParse({
      models: { m: { plans: { 'champion-challenger': [10, 50, 100] } } },
    });
    expect(ramp.success).toBe(false);
    expect(ramp.error?.issues).toEqual([
      expect.objectContaining({
        path: ['models', 'm', 'plans', 'champion-challenger'],
        message: 'champion-challenger serves a slice, then all: its plan is [slice, 100]',
      }),
    ]);
  });

  it('fails to parse a policy with an unknown decision setting', () => {
    expect(ReleasePolicy.safeParse({ defaults: { decision: { windowHours: 24 } } }).success).toBe(false);
  });
});
