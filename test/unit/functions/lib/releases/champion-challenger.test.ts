// Champion/challenger decisions: the normal quantile and AUC variance behind the confidence bound,
// slices as people write them, the join of served instances with their outcomes, and the verdict
// on two arms of synthetic, seeded traffic whose true AUCs are known in closed form.
import { describe, expect, it } from 'vitest';
import { InvalidRequest } from '../../../../../functions/lib/errors.ts';
import { seededRandom } from '../../../../../functions/lib/random.ts';
import {
  type ArmRow,
  type ArmSample,
  aucVariance,
  DEFAULT_DECISION_POLICY,
  type DecisionPolicy,
  decideChampionChallenger,
  instanceKeyOf,
  normalQuantile,
  OutcomeIndex,
  parseSlice,
} from '../../../../../functions/lib/releases/champion-challenger.ts';
import { recipeFor } from '../../../../../functions/lib/training/recipes.ts';

describe('normalQuantile', () => {
  it.each([
    [0.5, 0],
    [0.95, 1.6448536],
    [0.975, 1.959964],
    [0.01, -2.326348],
    [0.8413447460685429, 1], // Φ(1)
    [0.0013498980316300933, -3], // Φ(−3), deep in the lower tail
  ])('gives the standard normal quantile at %d as %d', (p, expected) => {
    expect(normalQuantile(p)).toBeCloseTo(expected, 6);
  });

  it('is symmetric about 0.5 in both tails and across the region boundaries', () => {
    for (const p of [1e-6, 0.001, 0.01, 0.02425, 0.03, 0.1, 0.3, 0.49])
      expect(normalQuantile(p)).toBeCloseTo(-normalQuantile(1 - p), 8);
  });

  it('increases with p', () => {
    const ps = [0.001, 0.01, 0.02, 0.03, 0.2, 0.5, 0.8, 0.97, 0.98, 0.999];
    const qs = ps.map(normalQuantile);
    for (let i = 1; i < qs.length; i++) expect(qs[i]).toBeGreaterThan(qs[i - 1] ?? Number.NaN);
  });

  it.each([0, 1, -0.1, 1.5, Number.NaN])('fails with a RangeError on p = %d, outside (0, 1)', (p) => {
    expect(() => normalQuantile(p)).toThrow(RangeError);
    expect(() => normalQuantile(p)).toThrow('p must be in (0, 1)');
  });
});

describe('aucVariance', () => {
  it("matches Hanley & McNeil's formula on a case worked by hand", () => {
    // A = 0.8, 10 positives, 20 negatives: Q1 = 0.8 / 1.2 = 2/3, Q2 = 2 · 0.64 / 1.8 = 0.7111…;
    // [0.16 + 9 · (2/3 − 0.64) + 19 · (0.7111… − 0.64)] / 200 = (0.16 + 0.24 + 1.35111…) / 200.
    expect(aucVariance(0.8, 10, 20)).toBeCloseTo(1.7511111111 / 200, 12);
  });

  it('shrinks as the rows grow, about in proportion to their number', () => {
    const small = aucVariance(0.8, 10, 20);
    const large = aucVariance(0.8, 100, 200);
    const larger = aucVariance(0.8, 1000, 2000);
    expect(large).toBeLessThan(small);
    expect(larger).toBeLessThan(large);
    expect(larger / large).toBeGreaterThan(0.09);
    expect(larger / large).toBeLessThan(0.11);
  });
});

describe('parseSlice', () => {
  it.each([
    ['10', 10],
    ['10%', 10],
    [' 7.5% ', 7.5],
    [12.5, 12.5],
    [99, 99],
  ])('reads %j as %d percent of traffic', (text, percent) => {
    expect(parseSlice(text)).toBe(percent);
  });

  it.each([
    [0, 'the slice must send the challenger some traffic'],
    ['0%', 'the slice must send the challenger some traffic'],
    [100, 'the slice must leave the champion some traffic: it is a comparison, not a flip'],
    ['abc', 'slice must be a percentage of traffic between 0 and 100, like 10 (got "abc")'],
    ['-5', 'slice must be a percentage of traffic between 0 and 100, like 10 (got "-5")'],
  ])('refuses %j, naming the problem', (text, message) => {
    expect(() => parseSlice(text)).toThrow(InvalidRequest);
    expect(() => parseSlice(text)).toThrow(message);
  });
});

describe('OutcomeIndex and instanceKeyOf (flights-v1)', () => {
  const recipe = recipeFor('flights-v1');
  const flight = { date: '2001/01/14 21:55', distance: 1200, origin: 'SFO', destination: 'LAX' };

  it('gives one key to both date spellings and to airports in either case', () => {
    const served = { date: '2001-01-14T21:55', distance: 1200, origin: 'sfo', destination: 'lax' };
    expect(instanceKeyOf(served, recipe)).toBeDefined();
    expect(instanceKeyOf(served, recipe)).toBe(instanceKeyOf({ ...flight, delay: 45 }, recipe));
    expect(instanceKeyOf({ ...flight, distance: 1201 }, recipe)).not.toBe(instanceKeyOf(flight, recipe));
    expect(instanceKeyOf({ ...flight, date: '2001/01/14 21:56' }, recipe)).not.toBe(
      instanceKeyOf(flight, recipe),
    );
  });

  it('has no key for a row that is not a valid instance', () => {
    expect(instanceKeyOf({ ...flight, distance: -5 }, recipe)).toBeUndefined();
    expect(instanceKeyOf({ ...flight, date: '14 Jan 2001' }, recipe)).toBeUndefined();
    expect(instanceKeyOf({ ...flight, carrier: 'UA' }, recipe)).toBeUndefined();
  });

  it('joins a ground-truth row to the instance as served, in the other spelling', () => {
    const index = new OutcomeIndex(
      [
        { row: { ...flight, delay: 45 }, label: 1 },
        { row: { ...flight, date: '2001/01/15 06:00', delay: -3 }, label: 0 },
      ],
      recipe,
    );

    expect(index.size).toBe(2);
    expect(
      index.outcomeOf({ date: '2001-01-14T21:55', distance: 1200, origin: 'sfo', destination: 'lax' }),
    ).toBe(1);
    expect(index.outcomeOf({ ...flight, date: '2001-01-15T06:00' })).toBe(0);
    expect(index.outcomeOf({ ...flight, date: '2001-01-16T06:00' })).toBeUndefined();
  });

  it('leaves out an instance labelled both ways and counts it as conflicting', () => {
    const index = new OutcomeIndex(
      [
        { row: { ...flight, delay: 45 }, label: 1 },
        { row: { ...flight, delay: 50 }, label: 1 }, // agrees: not a conflict
        { row: { ...flight, date: '2001-01-14T21:55', origin: 'sfo', delay: 2 }, label: 0 },
        { row: { ...flight, origin: 'OAK', delay: 2 }, label: 0 },
      ],
      recipe,
    );

    expect(index.conflicting).toBe(1);
    expect(index.size).toBe(2);
    expect(index.outcomeOf(flight)).toBeUndefined();
    expect(index.outcomeOf({ ...flight, origin: 'oak' })).toBe(0);
  });

  it('ignores rows that are not valid instances', () => {
    const index = new OutcomeIndex(
      [
        { row: { ...flight, distance: -5, delay: 45 }, label: 1 },
        { row: { ...flight, date: 'yesterday', delay: 45 }, label: 1 },
        { row: { ...flight, delay: 45 }, label: 1 },
      ],
      recipe,
    );

    expect(index.size).toBe(1);
    expect(index.conflicting).toBe(0);
    expect(index.outcomeOf({ ...flight, distance: -5 })).toBeUndefined();
  });
});

// Synthetic arms. A model of strength s scores a row (u + s · label) / 2 with u uniform in [0, 1):
// its true AUC is P(u₁ + s > u₂) = 1 − (1 − s)² / 2 for s in [0, 1].
const trueAuc = (s: number) => 1 - (1 - s) ** 2 / 2;

function shiftedRows(
  n: number,
  seed: number,
  strength: (i: number) => number,
  subgroups: (i: number) => Record<string, string> = () => ({}),
): ArmRow[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const label: 0 | 1 = random() < 0.3 ? 1 : 0;
    return { score: (random() + strength(i) * label) / 2, label, subgroups: subgroups(i) };
  });
}

const region = (i: number) => ({ origin_region: i % 2 === 0 ? 'east' : 'west' });

function arm(role: 'champion' | 'challenger', rows: ArmRow[], captured = rows.length * 10): ArmSample {
  return role === 'champion'
    ? { functionVersion: '4', modelVersion: 1, captured, rows }
    : { functionVersion: '5', modelVersion: 2, captured, rows };
}

function decide(champion: ArmRow[], challenger: ArmRow[], policy: Partial<DecisionPolicy> = {}) {
  return decideChampionChallenger({
    model: 'flight-delay',
    champion: arm('champion', champion),
    challenger: arm('challenger', challenger),
    policy: { ...DEFAULT_DECISION_POLICY, ...policy },
  });
}

/** AUC by counting every (positive, negative) pair: independent of the rank-sum the code uses. */
function pairwiseAuc(rows: readonly ArmRow[]): number {
  const positives = rows.filter((r) => r.label === 1).map((r) => r.score);
  const negatives = rows.filter((r) => r.label === 0).map((r) => r.score);
  let wins = 0;
  for (const p of positives) for (const n of negatives) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (positives.length * negatives.length);
}

/** Mean log loss, probabilities clipped to [1e-15, 1 − 1e-15]. */
function meanLogLoss(rows: readonly ArmRow[]): number {
  const losses = rows.map(({ score, label }) => {
    const p = Math.min(Math.max(score, 1e-15), 1 - 1e-15);
    return label === 1 ? -Math.log(p) : -Math.log(1 - p);
  });
  return losses.reduce((s, v) => s + v, 0) / losses.length;
}

/** Sample variance of the per-row log losses over the row count: the squared standard error of their mean. */
function logLossVarianceOfMean(rows: readonly ArmRow[]): number {
  const mean = meanLogLoss(rows);
  const squares = rows.reduce((s, { score, label }) => {
    const loss = -Math.log(label === 1 ? score : 1 - score);
    return s + (loss - mean) ** 2;
  }, 0);
  return squares / (rows.length - 1) / rows.length;
}

describe('decideChampionChallenger', () => {
  const z95 = normalQuantile(0.95);

  it('promotes a clearly better challenger with ample labelled rows, beyond noise', () => {
    const champion = shiftedRows(2000, 1, () => 0.2, region); // true AUC 0.68
    const challenger = shiftedRows(2000, 2, () => 0.6, region); // true AUC 0.92

    const verdict = decide(champion, challenger);

    expect(verdict.decision).toBe('promote');
    expect(verdict.champion.auc).toBeCloseTo(pairwiseAuc(champion), 10);
    expect(verdict.challenger.auc).toBeCloseTo(pairwiseAuc(challenger), 10);
    expect(Math.abs((verdict.champion.auc ?? 0) - trueAuc(0.2))).toBeLessThan(0.04);
    expect(Math.abs((verdict.challenger.auc ?? 0) - trueAuc(0.6))).toBeLessThan(0.03);
    expect(verdict.champion).toMatchObject({
      functionVersion: '4',
      modelVersion: 1,
      captured: 20_000,
      labelled: 2000,
      positives: champion.filter((r) => r.label === 1).length,
    });
    const gain = (verdict.challenger.auc ?? 0) - (verdict.champion.auc ?? 0);
    expect(verdict.gain).toBeCloseTo(gain, 12);
    expect(verdict.reasons[0]).toContain(`a gain of +${gain.toFixed(3)}, at least the +0.005 required`);
    expect(verdict.reasons[1]).toMatch(/^beyond noise: the gain's 95% lower bound is \+0\.\d{3}/);
    expect(verdict.reasons[1]).toContain('2000 and 2000 labelled predictions');
    expect(verdict.reasons[2]).toBe(
      'no subgroup lost more than 0.020 AUC against the champion beyond noise (2 gated)',
    );
    expect(verdict.checks.map((c) => [c.gate, c.subject, c.passed])).toEqual([
      ['auc-gain', 'overall', true],
      ['subgroup-auc-loss', 'origin_region=east', true],
      ['subgroup-auc-loss', 'origin_region=west', true],
    ]);
  });

  it("bounds the gain from the two arms' Hanley–McNeil variances at the policy's confidence", () => {
    const champion = shiftedRows(600, 3, () => 0.3);
    const challenger = shiftedRows(600, 4, () => 0.5);

    const at95 = decide(champion, challenger);
    const at99 = decide(champion, challenger, { confidence: 0.99 });

    const variance = (r: typeof at95.champion) =>
      aucVariance(r.auc ?? Number.NaN, r.positives, r.labelled - r.positives);
    const se = Math.sqrt(variance(at95.champion) + variance(at95.challenger));
    expect(at95.standardError).toBeCloseTo(se, 12);
    expect(at95.lowerBound).toBeCloseTo((at95.gain ?? 0) - z95 * se, 12);
    expect(at99.gain).toBe(at95.gain);
    expect(at99.lowerBound).toBeCloseTo((at95.gain ?? 0) - normalQuantile(0.99) * se, 12);
    expect(at99.lowerBound).toBeLessThan(at95.lowerBound ?? Number.NaN);
  });

  it('keeps the champion when both arms score alike: the gain is not distinguishable from noise', () => {
    const verdict = decide(
      shiftedRows(2000, 5, () => 0.4),
      shiftedRows(2000, 6, () => 0.4),
    );

    expect(verdict.decision).toBe('keep');
    expect(verdict.reasons.length).toBeGreaterThan(0);
    for (const reason of verdict.reasons)
      expect(reason).toMatch(/not distinguishable from noise|less than the \+0\.005 required/);
    expect(verdict.lowerBound).toBeCloseTo((verdict.gain ?? 0) - z95 * (verdict.standardError ?? 0), 12);
  });

  it('keeps the champion against identical traffic, for a gain below the margin and within the noise', () => {
    const rows = shiftedRows(1000, 7, () => 0.4);
    const verdict = decide(rows, rows);

    expect(verdict.decision).toBe('keep');
    expect(verdict.gain).toBe(0);
    expect(verdict.lowerBound).toBeCloseTo(-z95 * (verdict.standardError ?? 0), 12);
    expect(verdict.reasons).toEqual([
      expect.stringContaining('a gain of +0.000, less than the +0.005 required'),
      expect.stringContaining('challenger v2 vs champion v1: not distinguishable from noise'),
    ]);
  });

  it('keeps the champion when an arm has too few labelled predictions, naming the arm and the minimum', () => {
    const verdict = decide(
      shiftedRows(2000, 8, () => 0.2),
      shiftedRows(150, 9, () => 0.9),
    );

    expect(verdict.decision).toBe('keep');
    expect(verdict.gain).toBeNull();
    expect(verdict.lowerBound).toBeNull();
    expect(verdict.reasons).toHaveLength(1);
    expect(verdict.reasons[0]).toContain(
      'too few labelled predictions to judge — challenger 150 of 1500 captured',
    );
    expect(verdict.reasons[0]).toContain('at least 200 per arm are needed');
    expect(verdict.reasons[0]).not.toContain('champion 2000');
    expect(verdict.challenger).toMatchObject({ labelled: 150, captured: 1500 });
  });

  it('keeps the champion, naming the arm, when an arm has no labelled prediction at all', () => {
    const verdict = decideChampionChallenger({
      model: 'flight-delay',
      champion: arm(
        'champion',
        shiftedRows(300, 10, () => 0.2),
      ),
      challenger: arm('challenger', [], 40),
      policy: DEFAULT_DECISION_POLICY,
    });

    expect(verdict.decision).toBe('keep');
    expect(verdict.challenger).toMatchObject({ labelled: 0, captured: 40, auc: null, metric: null });
    expect(verdict.reasons[0]).toContain('challenger 0 of 40 captured');
  });

  it('keeps the champion when a subgroup loses more AUC under the challenger than ε allows', () => {
    // Champion: strength 0.4 everywhere (AUC 0.82). Challenger: 1.0 in the east (AUC 1), 0.3 in
    // the west (AUC 0.755): overall ¼ · (1 + 1 + 0.755 + 0.755) ≈ 0.878, yet the west loses ≈ 0.065.
    const champion = shiftedRows(4000, 11, () => 0.4, region);
    const challenger = shiftedRows(4000, 12, (i) => (i % 2 === 0 ? 1 : 0.3), region);

    const verdict = decide(champion, challenger);

    expect(verdict.decision).toBe('keep');
    expect(verdict.gain).toBeGreaterThan(0.03);
    expect(verdict.lowerBound).toBeGreaterThan(0);
    expect(verdict.reasons).toHaveLength(1);
    expect(verdict.reasons[0]).toMatch(
      /^subgroup origin_region=west: challenger AUC 0\.7\d\d vs champion 0\.8\d\d, −0\.0\d\d, a loss of more than the 0\.020 allowed, beyond noise \(upper bound −0\.0\d\d\)$/,
    );
    const west = verdict.checks.find((c) => c.subject === 'origin_region=west');
    const westRows = (rows: ArmRow[]) => rows.filter((r) => r.subgroups.origin_region === 'west');
    expect(west?.difference).toBeCloseTo(
      pairwiseAuc(westRows(challenger)) - pairwiseAuc(westRows(champion)),
      10,
    );
    expect(verdict.checks.find((c) => c.subject === 'origin_region=east')?.passed).toBe(true);
  });

  it('does not hold against the challenger a subgroup loss beyond ε that is within the noise of two samples', () => {
    // Same strength in both arms of the west (true AUC equal), few rows there: whatever the
    // sampled difference, its upper bound at 95% is above zero unless the arms truly differ.
    const champion = shiftedRows(1000, 31, (i) => (i % 2 === 0 ? 0.3 : 0.4), region);
    const challenger = shiftedRows(1000, 32, (i) => (i % 2 === 0 ? 0.9 : 0.4), region);
    const west = (rows: ArmRow[]) => rows.filter((r) => r.subgroups.origin_region === 'west');
    const sampled = pairwiseAuc(west(challenger)) - pairwiseAuc(west(champion));

    const verdict = decide(champion, challenger, {
      minSubgroupRows: 200,
      maxSubgroupAucLoss: Math.max(0, -sampled - 0.001),
    });

    const check = verdict.checks.find((c) => c.subject === 'origin_region=west');
    expect(check?.difference).toBeCloseTo(sampled, 10);
    expect(sampled).toBeLessThan(0);
    expect(check?.message, JSON.stringify(check)).toContain('but within noise');
    expect(check?.passed).toBe(true);
    expect(verdict.decision).toBe('promote');
  });

  it('reports subgroups with too few rows instead of gating on them', () => {
    const verdict = decide(
      shiftedRows(2000, 13, () => 0.2, region),
      shiftedRows(2000, 14, () => 0.6, region),
      {
        minSubgroupRows: 1500,
      },
    );

    expect(verdict.decision).toBe('promote');
    expect(verdict.checks.map((c) => c.gate)).toEqual(['auc-gain']);
    expect(verdict.skipped.map((s) => s.subject)).toEqual(['origin_region=east', 'origin_region=west']);
    expect(verdict.reasons[2]).toBe(
      'no subgroup had enough labelled predictions with both classes in both arms to gate on',
    );
  });

  describe('on log loss', () => {
    // Both models rank alike (one is a monotone transform of the other), but the champion is
    // overconfident: sigmoid(3 · logit p) where p is the true probability the challenger gives.
    const calibrated = (n: number, seed: number, sharpen: boolean): ArmRow[] => {
      const random = seededRandom(seed);
      return Array.from({ length: n }, () => {
        const p = 0.1 + 0.8 * random();
        const label: 0 | 1 = random() < p ? 1 : 0;
        const score = sharpen ? 1 / (1 + ((1 - p) / p) ** 3) : p;
        return { score, label, subgroups: {} };
      });
    };
    const champion = calibrated(1500, 21, true);
    const challenger = calibrated(1500, 22, false);

    it('promotes a better-calibrated challenger, the gain being the fall in mean log loss', () => {
      const verdict = decide(champion, challenger, { metric: 'log-loss' });

      expect(verdict.decision).toBe('promote');
      expect(verdict.checks[0]?.gate).toBe('log-loss-gain');
      expect(verdict.metric).toBe('log-loss');
      expect(verdict.champion.logLoss).toBeCloseTo(meanLogLoss(champion), 10);
      expect(verdict.challenger.logLoss).toBeCloseTo(meanLogLoss(challenger), 10);
      expect(verdict.champion.metric).toBe(verdict.champion.logLoss);
      expect(verdict.gain).toBeCloseTo(meanLogLoss(champion) - meanLogLoss(challenger), 10);
      expect(verdict.gain).toBeGreaterThan(0.05);
      const se = Math.sqrt(logLossVarianceOfMean(champion) + logLossVarianceOfMean(challenger));
      expect(verdict.standardError).toBeCloseTo(se, 10);
      expect(verdict.lowerBound).toBeCloseTo((verdict.gain ?? 0) - z95 * se, 10);
      expect(verdict.reasons[0]).toContain(
        `live log loss ${meanLogLoss(challenger).toFixed(3)} vs ${meanLogLoss(champion).toFixed(3)}`,
      );
      expect(verdict.reasons[1]).toMatch(/^beyond noise/);
    });

    it('keeps the champion on AUC for the same arms: calibration does not change the ranking', () => {
      const verdict = decide(champion, challenger, { metric: 'auc' });

      expect(verdict.decision).toBe('keep');
      expect(Math.abs(verdict.gain ?? 1)).toBeLessThan(0.05);
    });
  });

  it('keeps the champion when an arm holds one class only: its AUC is undefined', () => {
    const negativesOnly = shiftedRows(300, 31, () => 0.5).map((r) => ({ ...r, label: 0 as const }));

    const verdict = decide(
      negativesOnly,
      shiftedRows(300, 32, () => 0.6),
    );

    expect(verdict.decision).toBe('keep');
    expect(verdict.champion.auc).toBeNull();
    expect(verdict.gain).toBeNull();
    expect(verdict.reasons).toHaveLength(1);
    expect(verdict.reasons[0]).toContain('live AUC is undefined on an arm holding one class only');
    expect(verdict.reasons[0]).toContain('champion 0 positive of 300');
  });
});
