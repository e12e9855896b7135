// Judging a bake: alarms, and the challenger against the champion; too little traffic is a note.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_THRESHOLDS,
  judgeHealth,
  type VersionStats,
} from '../../../../../functions/lib/releases/health.ts';
import { healthyStats } from '../../../../support/release-fakes.ts';

const judge = (
  champion: VersionStats,
  challenger: VersionStats,
  alarms: Parameters<typeof judgeHealth>[0]['alarms'] = [],
) => judgeHealth({ alarms, comparison: { champion, challenger }, thresholds: DEFAULT_THRESHOLDS });

describe('judgeHealth', () => {
  it('is healthy when the challenger serves like the champion', () => {
    expect(judge(healthyStats('4', 500), healthyStats('5', 250))).toEqual({
      healthy: true,
      breaches: [],
      notes: [],
    });
  });

  it('breaches on any watched alarm in ALARM, with its reason', () => {
    const verdict = judge(healthyStats('4'), healthyStats('5'), [
      { name: 'S-ApiLatencyP99', state: 'ALARM', reason: 'Threshold Crossed' },
      { name: 'S-PredictErrors', state: 'OK' },
      { name: 'S-ApiServerErrorRate', state: 'INSUFFICIENT_DATA' },
    ]);
    expect(verdict.breaches).toEqual(['alarm S-ApiLatencyP99 is in ALARM: Threshold Crossed']);
  });

  it('breaches when the challenger fails more often than the champion by more than the margin', () => {
    const verdict = judge(
      healthyStats('4', 1000, { functionErrors: 10 }),
      healthyStats('5', 40, { functionErrors: 2 }),
    );
    expect(verdict.breaches).toEqual([
      'function errors: challenger v5 2 of 40 (5.0%) vs champion v4 10 of 1000 (1.0%), more than +2.0 points',
    ]);
  });

  it('tolerates an error rate within the margin of the champion’s', () => {
    expect(
      judge(healthyStats('4', 1000, { serverErrors: 20 }), healthyStats('5', 100, { serverErrors: 3 }))
        .healthy,
    ).toBe(true);
  });

  it('breaches on 5xx answers the way it does on function errors', () => {
    expect(judge(healthyStats('4'), healthyStats('5', 20, { serverErrors: 20 })).breaches).toEqual([
      '5xx answers: challenger v5 20 of 20 (100.0%) vs champion v4 0 of 50 (0.0%), more than +2.0 points',
    ]);
  });

  it('does not judge rates, latency or scores on too little traffic, and says so', () => {
    const verdict = judge(
      healthyStats('4', 500),
      healthyStats('5', 3, { functionErrors: 3, latencyP99Ms: 5000, meanScore: 0.9 }),
    );
    expect(verdict.healthy).toBe(true);
    expect(verdict.notes).toEqual([
      'function errors: challenger v5 has 3 of the 10 requests needed to compare',
      '5xx answers: challenger v5 has 3 of the 10 requests needed to compare',
      'p99 latency: 3 and 500 samples, 200 each needed to compare',
      'mean score: 3 and 500 scored requests, 200 each needed to compare',
    ]);
  });

  it('breaches when p99 latency exceeds both the ratio and the slack over the champion', () => {
    expect(
      judge(healthyStats('4', 300, { latencyP99Ms: 100 }), healthyStats('5', 300, { latencyP99Ms: 190 }))
        .healthy,
    ).toBe(true);
    expect(
      judge(healthyStats('4', 300, { latencyP99Ms: 100 }), healthyStats('5', 300, { latencyP99Ms: 201 }))
        .breaches,
    ).toEqual(['p99 latency: challenger v5 201 ms vs champion v4 100 ms, above the 200 ms allowed']);
    expect(
      judge(healthyStats('4', 300, { latencyP99Ms: 400 }), healthyStats('5', 300, { latencyP99Ms: 590 }))
        .healthy,
    ).toBe(true);
  });

  it('does not judge latency on fewer samples than it takes to keep cold starts under 1 %', () => {
    const verdict = judge(
      healthyStats('4', 300, { latencyP99Ms: 40 }),
      healthyStats('5', 150, { latencyP99Ms: 900 }),
    );
    expect(verdict.healthy).toBe(true);
    expect(verdict.notes).toEqual([
      'p99 latency: 150 and 300 samples, 200 each needed to compare',
      'mean score: 150 and 300 scored requests, 200 each needed to compare',
    ]);
  });

  it('breaches when the mean prediction score moves too far: healthy as software, wrong as a model', () => {
    expect(
      judge(healthyStats('4', 300, { meanScore: 0.2 }), healthyStats('5', 300, { meanScore: 0.45 })).breaches,
    ).toEqual(['mean score: challenger v5 0.450 vs champion v4 0.200 (+0.250), more than ±0.1 apart']);
  });

  it('does not judge a mean score over too few requests, where chance alone moves it past the limit', () => {
    const verdict = judge(
      healthyStats('4', 300, { meanScore: 0.36 }),
      healthyStats('5', 14, { meanScore: 0.2 }),
    );
    expect(verdict.breaches).toEqual([]);
    expect(verdict.notes).toContain('mean score: 14 and 300 scored requests, 200 each needed to compare');
  });

  it('calls a challenger too few requests exercised inconclusive before its promotion, and only then', () => {
    const thresholds = { ...DEFAULT_THRESHOLDS, minChallengerRequestsToPromote: 100 };
    const comparison = { champion: healthyStats('4', 2000), challenger: healthyStats('5', 40) };

    expect(judgeHealth({ alarms: [], comparison, thresholds }).healthy).toBe(true);
    expect(judgeHealth({ alarms: [], comparison, thresholds, beforePromotion: true })).toMatchObject({
      healthy: false,
      breaches: [
        'inconclusive: challenger v5 answered 40 prediction requests during the release, fewer than the 100 it needs before it may be promoted',
      ],
    });
    const exercised = { ...comparison, challenger: healthyStats('5', 100) };
    expect(
      judgeHealth({ alarms: [], comparison: exercised, thresholds, beforePromotion: true }).healthy,
    ).toBe(true);
    // Off by default: a quiet platform still releases.
    expect(
      judgeHealth({ alarms: [], comparison, thresholds: DEFAULT_THRESHOLDS, beforePromotion: true }).healthy,
    ).toBe(true);
  });
});
