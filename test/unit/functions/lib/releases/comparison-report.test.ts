// The champion/challenger comparison: the join on request id and index, agreement, score deltas,
// latency per request, the verdict's bounds and the text rendering.
import { describe, expect, it } from 'vitest';
import {
  type ComparedRow,
  type ComparisonInput,
  compareChampionChallenger,
  judgeComparison,
  quantile,
  renderComparisonText,
} from '../../../../../functions/lib/releases/comparison-report.ts';

const row = (requestId: string, index: number, score: number, latencyMs = 10): ComparedRow => ({
  requestId,
  index,
  score,
  label: score >= 0.5 ? 1 : 0,
  latencyMs,
});

const input = (champion: ComparedRow[], challenger: ComparedRow[], errors = 0): ComparisonInput => ({
  model: 'flight-delay',
  source: 'shadow',
  champion: { version: 1, rows: champion },
  challenger: { version: 2, rows: challenger, errors },
  window: { start: '2026-11-27T10:00:00.000Z', end: '2026-11-27T11:00:00.000Z' },
  generatedAt: new Date('2026-11-27T11:05:00.000Z'),
});

describe('quantile', () => {
  it('interpolates linearly between ranks and is null for no values', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0)).toBe(1);
    expect(quantile([1, 2, 3, 4], 1)).toBe(4);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([], 0.5)).toBeNull();
  });
});

describe('compareChampionChallenger', () => {
  it('joins rows on request id and index, and counts what only one side has', () => {
    const report = compareChampionChallenger(
      input(
        [row('a', 0, 0.2), row('a', 1, 0.7), row('b', 0, 0.4), row('c', 0, 0.9)],
        // Shadow rows arrive in any order; `c` has no copy, `z` has no champion record.
        [row('b', 0, 0.45), row('a', 1, 0.6), row('a', 0, 0.25), row('z', 0, 0.5)],
      ),
    );
    expect(report.counts).toEqual({
      pairs: 3,
      requests: 2,
      championOnly: 1,
      challengerOnly: 1,
      duplicates: 0,
      challengerErrors: 0,
    });
    expect(report.coverage).toBeCloseTo(3 / 4, 12);
  });

  it('measures agreement of labels and which way they flipped', () => {
    const report = compareChampionChallenger(
      input(
        [row('a', 0, 0.2), row('a', 1, 0.7), row('b', 0, 0.4), row('c', 0, 0.6)],
        [row('a', 0, 0.3), row('a', 1, 0.4), row('b', 0, 0.55), row('c', 0, 0.8)],
      ),
    );
    expect(report.agreement).toEqual({
      rate: 0.5,
      agree: 2,
      disagree: 2,
      toPositive: 1,
      toNegative: 1,
      championPositiveRate: 0.5,
      challengerPositiveRate: 0.5,
    });
  });

  it('gives score deltas as challenger minus champion, with |Δ| quantiles', () => {
    const champion = [0.1, 0.2, 0.3, 0.4, 0.5].map((s, i) => row('r', i, s));
    const challenger = [0.2, 0.1, 0.6, 0.4, 0.9].map((s, i) => row('r', i, s));
    const report = compareChampionChallenger(input(champion, challenger));
    // Δ = +0.1, -0.1, +0.3, 0, +0.4
    expect(report.scores.championMean).toBeCloseTo(0.3, 12);
    expect(report.scores.challengerMean).toBeCloseTo(0.44, 12);
    expect(report.scores.meanDelta).toBeCloseTo(0.14, 12);
    expect(report.scores.meanAbsDelta).toBeCloseTo(0.18, 12);
    // |Δ| sorted: 0, 0.1, 0.1, 0.3, 0.4
    expect(report.scores.absDelta.p50).toBeCloseTo(0.1, 12);
    expect(report.scores.absDelta.p95).toBeCloseTo(0.38, 12);
    expect(report.scores.absDelta.max).toBeCloseTo(0.4, 12);
  });

  it('takes latency once per request, over the requests both sides answered', () => {
    const champion = [
      row('a', 0, 0.1, 10),
      row('a', 1, 0.1, 10),
      row('b', 0, 0.1, 30),
      row('c', 0, 0.1, 500),
    ];
    const challenger = [row('a', 0, 0.1, 20), row('a', 1, 0.1, 20), row('b', 0, 0.1, 40)];
    const { latencyMs } = compareChampionChallenger(input(champion, challenger));
    expect(latencyMs.champion).toEqual({ requests: 2, mean: 20, p50: 20, p99: expect.closeTo(29.8, 10) });
    expect(latencyMs.challenger).toEqual({ requests: 2, mean: 30, p50: 30, p99: expect.closeTo(39.8, 10) });
  });

  it('uses the first row of an instance seen twice and counts the repeat', () => {
    const report = compareChampionChallenger(input([row('a', 0, 0.2)], [row('a', 0, 0.3), row('a', 0, 0.9)]));
    expect(report.counts.duplicates).toBe(1);
    expect(report.scores.challengerMean).toBeCloseTo(0.3, 12);
  });

  it('reports nulls, not NaN, when nothing pairs', () => {
    const report = compareChampionChallenger(input([], [], 3));
    expect(report.coverage).toBeNull();
    expect(report.agreement.rate).toBeNull();
    expect(report.scores).toEqual({
      championMean: null,
      challengerMean: null,
      meanDelta: null,
      meanAbsDelta: null,
      absDelta: { p50: null, p95: null, max: null },
    });
    expect(report.counts.challengerErrors).toBe(3);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });
});

describe('judgeComparison', () => {
  /** `n` requests of one instance each; the challenger scores `shift` higher and takes `latency` ms. */
  const agreeing = (n: number, shift = 0.01, latency = 12) =>
    compareChampionChallenger(
      input(
        Array.from({ length: n }, (_, i) => row(`r${i}`, 0, (i % 10) / 10 + 0.02, 10)),
        Array.from({ length: n }, (_, i) => row(`r${i}`, 0, (i % 10) / 10 + 0.02 + shift, latency)),
      ),
    );

  it('passes a challenger within every bound, listing the bounds met', () => {
    const verdict = judgeComparison(agreeing(200));
    expect(verdict.verdict).toBe('pass');
    expect(verdict.reasons).toHaveLength(5);
    expect(verdict.reasons[0]).toMatch(/^agreement 100\.0% ≥ 90\.0%$/);
  });

  it('says insufficient-data below the minimum number of pairs', () => {
    expect(judgeComparison(agreeing(50))).toMatchObject({
      verdict: 'insufficient-data',
      reasons: ['50 pairs compared, fewer than the 100 required'],
    });
    expect(judgeComparison(agreeing(50), { minPairs: 10 }).verdict).toBe('pass');
  });

  it('fails on low agreement, large deltas, errors, low coverage and slow p99, naming each', () => {
    const report = compareChampionChallenger(
      input(
        Array.from({ length: 300 }, (_, i) => row(`r${i}`, 0, 0.1)),
        Array.from({ length: 120 }, (_, i) => row(`r${i}`, 0, 0.9, 100)),
        30,
      ),
    );
    const verdict = judgeComparison(report);
    expect(verdict.verdict).toBe('fail');
    expect(verdict.reasons).toEqual([
      'agreement 0.0% is below 90.0%',
      'mean |Δscore| 0.8000 exceeds 0.1',
      'challenger error rate 20.0% (30 errors) exceeds 1.0%',
      'coverage 40.0% is below 50.0%: too few copies were answered to judge',
      "challenger p99 latency 100.0 ms is 10.00× the champion's 10.0 ms (limit 2×)",
    ]);
  });

  it('does not judge offline replay latency against served latency', () => {
    const report = { ...agreeing(200, 0.01, 1_000), source: 'replay' as const };
    const verdict = judgeComparison(report);
    expect(verdict.verdict).toBe('pass');
    expect(verdict.reasons.some((r) => r.includes('latency'))).toBe(false);
  });
});

describe('renderComparisonText', () => {
  it('prints an aligned summary with the verdict', () => {
    const report = compareChampionChallenger(
      input([row('a', 0, 0.2), row('a', 1, 0.7)], [row('a', 0, 0.3), row('a', 1, 0.4)]),
    );
    const text = renderComparisonText(report, judgeComparison(report, { minPairs: 1 }));
    expect(text.split('\n')).toEqual([
      'flight-delay  shadow: v1 (champion) vs v2 (challenger)',
      'window        2026-11-27T10:00:00.000Z → 2026-11-27T11:00:00.000Z',
      'pairs         2 instances of 1 requests; coverage 100.0% (0 champion-only, 0 challenger-only, 0 duplicates)',
      'errors        challenger 0',
      'agreement     50.0% same label (0 to positive, 1 to negative; positive rate 50.0% → 0.0%)',
      'scores        mean 0.4500 → 0.3500 (Δ -0.1000); |Δ| mean 0.2000, p50 0.2000, p95 0.2900, max 0.3000',
      'latency       champion p50 10.0 ms, p99 10.0 ms; challenger p50 10.0 ms, p99 10.0 ms',
      expect.stringMatching(
        /^verdict +fail — agreement 50\.0% is below 90\.0%; mean \|Δscore\| 0\.2000 exceeds 0\.1$/,
      ),
    ]);
  });
});
