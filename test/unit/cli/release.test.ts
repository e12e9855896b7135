// What `mlops release` prints while it follows a release, and how `mlops status <model>` reads.
import { describe, expect, it } from 'vitest';
import { report } from '../../../cli/commands/release.ts';
import { formatStatus } from '../../../cli/commands/release-status.ts';
import { DEFAULT_DECISION_POLICY } from '../../../functions/lib/releases/champion-challenger.ts';
import type { HealthCheckRecord, ReleaseRecord } from '../../../functions/lib/releases/release-record.ts';
import { healthyStats, releaseContext, startedRecord } from '../../support/release-fakes.ts';

const record = (over: Partial<ReleaseRecord> = {}): ReleaseRecord => ({
  ...startedRecord(releaseContext()),
  ...over,
});
const check = (step: number, n: number, healthy = true): HealthCheckRecord => ({
  step,
  check: n,
  at: '2026-11-27T08:00:12.000Z',
  percent: 5,
  healthy,
  breaches: healthy
    ? []
    : [
        'function errors: challenger v5 12 of 40 (30.0%) vs champion v4 0 of 800 (0.0%), more than +2.0 points',
      ],
  notes: [],
  alarms: [],
  champion: healthyStats('4', 800),
  challenger: healthyStats('5', 40, healthy ? {} : { functionErrors: 12 }),
});

/** `report`'s `once`, keeping the lines it printed. */
function printedOnce() {
  const lines: string[] = [];
  const seen = new Set<string>();
  const once = (key: string, line: () => string) => {
    if (!seen.has(key)) {
      seen.add(key);
      lines.push(line());
    }
  };
  return { lines, once };
}

describe('report', () => {
  it('prints the promotion, then the hand back of the alias to the version the release started from', () => {
    const { lines, once } = printedOnce();
    const last = { index: 3, percent: 100, startedAt: '', bakeUntil: '' };
    report(
      record({ newFunctionVersion: '5', status: 'promoting', step: last, routing: { version: '5' } }),
      [],
      once,
    );
    report(
      record({ newFunctionVersion: '5', status: 'succeeded', step: last, routing: { version: '4' } }),
      [],
      once,
    );

    expect(lines.slice(-2)).toEqual([
      "  flight-delay v2 Production; live goes back to v4 (unpinned, it follows Production) once the predict function's registry cache has expired",
      '  live handed back at rest: v4 100%',
    ]);
  });

  it('prints each step once, in order, with the checks of its bake under it', () => {
    const { lines, once } = printedOnce();
    report(record(), [], once);
    report(
      record({ newFunctionVersion: '5', step: { index: 0, percent: 5, startedAt: '', bakeUntil: '' } }),
      [check(0, 1)],
      once,
    );
    // A late poll: step 2 began and both steps' checks are there.
    report(
      record({ newFunctionVersion: '5', step: { index: 1, percent: 25, startedAt: '', bakeUntil: '' } }),
      [check(0, 1), check(0, 2), check(1, 1, false)],
      once,
    );

    expect(lines).toEqual([
      '  canary 5% → 25% → 50% → 100%, 1m bakes checked every 12 s; live was v4',
      '  published v5: flight-delay v2 pinned, warmed',
      '  step 1/4: live → v4 95% + v5 5%, baking 1m',
      '    check 1 ✓ challenger v5: 40 inv, 0 err, p99 40 ms, score 0.210 | champion v4: 800 inv, 0 err, p99 40 ms, score 0.210',
      '    check 2 ✓ challenger v5: 40 inv, 0 err, p99 40 ms, score 0.210 | champion v4: 800 inv, 0 err, p99 40 ms, score 0.210',
      '  step 2/4: live → v4 75% + v5 25%, baking 1m',
      '    check 1 ✗ challenger v5: 40 inv, 12 err, p99 40 ms, score 0.210 | champion v4: 800 inv, 0 err, p99 40 ms, score 0.210\n' +
        '      breach: function errors: challenger v5 12 of 40 (30.0%) vs champion v4 0 of 800 (0.0%), more than +2.0 points',
    ]);
  });
});

describe('report of a champion/challenger release', () => {
  it('prints the slice with its window, then the decision and its report, then the rest of the ramp', () => {
    const { lines, once } = printedOnce();
    const contest = record({
      strategy: 'champion-challenger',
      plan: [20, 100],
      bakeSeconds: 60,
      decision: { ...DEFAULT_DECISION_POLICY, windowSeconds: 3600 },
      newFunctionVersion: '5',
      step: { index: 0, percent: 20, startedAt: '', bakeUntil: '' },
    });
    report(contest, [check(0, 1)], once);
    const summary = 'flight-delay v2 beat champion v1 on auc over its 20% slice: …';
    report(
      {
        ...contest,
        step: { index: 1, percent: 100, startedAt: '', bakeUntil: '' },
        decided: { decision: 'promote', summary, report: 's3://a/releases/r/decision.json', at: '' },
      },
      [check(0, 1)],
      once,
    );

    expect(lines).toEqual([
      '  champion-challenger: a 20% slice for 1h, decided on live auc (gain ≥ 0.005, 95% confident, ≥ 200 labelled per arm) 2m after it; then 100% baking 1m; checked every 12 s; live was v4',
      '  published v5: flight-delay v2 pinned, warmed',
      '  step 1/2: live → v4 80% + v5 20%, baking 1h',
      expect.stringMatching(/^ {4}check 1 ✓/),
      `  decision: promote — ${summary}\n    report s3://a/releases/r/decision.json`,
      '  step 2/2: live → v5 100%, baking 1m',
    ]);
  });

  it('shows the slice, the window and the decision in `mlops status`', () => {
    const text = formatStatus({
      model: 'flight-delay',
      alias: 'S-Predict:live',
      routing: 'v4 100%',
      versions: [{ functionVersion: '4', percent: 100, modelVersion: 1, pinned: false }],
      productionVersion: 1,
      latestVersion: 2,
      alarms: [],
      lock: null,
      release: record({
        strategy: 'champion-challenger',
        plan: [10, 100],
        decision: { ...DEFAULT_DECISION_POLICY },
        decided: { decision: 'keep', summary: '…', report: 's3://a/d.json', at: '' },
        status: 'not-promoted',
        newFunctionVersion: '5',
      }),
      shadow: null,
    });

    expect(text).toContain(
      '          champion-challenger: a 10% slice for 24h, then 100% (1m bake); v4 → v5',
    );
    expect(text).toContain('          decided on live auc after a 24h window: keep, report s3://a/d.json');
  });
});

describe('formatStatus', () => {
  it('shows the weights, what each version serves, the alarms, the lock and the step', () => {
    const text = formatStatus({
      model: 'flight-delay',
      alias: 'S-Predict:live',
      routing: 'v4 75% + v5 25%',
      versions: [
        { functionVersion: '4', percent: 75, modelVersion: 1, pinned: false },
        { functionVersion: '5', percent: 25, modelVersion: 2, pinned: true },
      ],
      productionVersion: 1,
      latestVersion: 2,
      alarms: [{ name: 'S-PredictErrors', state: 'OK' }],
      lock: {
        target: 'S-Predict:live',
        releaseId: 'flight-delay-v2-20261127T080000Z',
        executionArn: 'arn',
        model: 'flight-delay',
        modelVersion: 2,
        startedAt: '2026-11-27T08:00:00.000Z',
        expiresAt: '2026-11-27T08:15:00.000Z',
      },
      release: record({
        status: 'baking',
        newFunctionVersion: '5',
        step: {
          index: 1,
          percent: 25,
          startedAt: '2026-11-27T08:01:00.000Z',
          bakeUntil: '2026-11-27T08:02:00.000Z',
        },
        checks: 7,
      }),
      shadow: null,
    });

    expect(text.split('\n')).toEqual([
      'model     flight-delay: Production v1, latest v2',
      'live      S-Predict:live → v4 75% + v5 25%',
      '  version  traffic  serves',
      '  v4       75%      flight-delay v1 (follows Production)',
      '  v5       25%      flight-delay v2 (pinned)',
      'alarms    S-PredictErrors OK',
      'lock      held by flight-delay-v2-20261127T080000Z until 2026-11-27T08:15:00.000Z',
      'release   flight-delay-v2-20261127T080000Z: baking (started 2026-11-27T08:00:00.000Z by test)',
      '          canary 5% → 25% → 50% → 100%, 1m bakes; v4 → v5',
      '          step 2/4 (25%) since 2026-11-27T08:01:00.000Z, bake until 2026-11-27T08:02:00.000Z; 7 checks',
    ]);
  });

  it('shows a running shadow of the model, and the verdict of its last one', () => {
    const base = {
      model: 'flight-delay',
      alias: 'S-Predict:live',
      routing: 'v4 100%',
      versions: [],
      productionVersion: 1,
      latestVersion: 3,
      alarms: [],
      lock: null,
      release: null,
    };
    const shadow = {
      model: 'flight-delay',
      challengerVersion: 3,
      championVersion: 1,
      functionVersion: '7',
      releaseId: 'flight-delay-v3-20261127T090000Z',
      startedAt: '2026-11-27T09:00:00.000Z',
      until: '2026-11-27T10:00:00.000Z',
      state: 'active' as const,
    };

    expect(
      formatStatus({ ...base, shadow: { ...shadow, active: true } })
        .split('\n')
        .at(-1),
    ).toBe(
      'shadow    running: v3 on function v7 against v1 (release flight-delay-v3-20261127T090000Z), copying live requests until 2026-11-27T10:00:00.000Z',
    );
    const finished = {
      ...shadow,
      state: 'finished' as const,
      finishedAt: '2026-11-27T10:00:01.000Z',
      report: { uri: 's3://a/r.json', verdict: 'pass' as const, at: '2026-11-27T10:02:00.000Z' },
      active: false,
    };
    expect(
      formatStatus({ ...base, shadow: finished })
        .split('\n')
        .at(-1),
    ).toBe(
      'shadow    last: v3 on function v7 against v1 (release flight-delay-v3-20261127T090000Z), ended 2026-11-27T10:00:01.000Z: pass, report s3://a/r.json',
    );
  });
});
