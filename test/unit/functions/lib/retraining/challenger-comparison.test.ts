// The retraining decision on synthetic holdouts whose AUCs the test controls: promote only when the
// challenger wins overall by the margin and no gated subgroup loses more than ε against the
// champion's same subgroup; keep otherwise, saying why.
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../../../functions/lib/random.ts';
import {
  compareChallenger,
  evaluateOnHoldout,
  type HoldoutEvaluation,
} from '../../../../../functions/lib/retraining/challenger-comparison.ts';

const POLICY = { minAucGain: 0.005, maxSubgroupAucLoss: 0.02, minSubgroupRows: 200 } as const;

/** A holdout: 1,800 `east`, 1,800 `west` and 60 `tiny` rows, about 25% positive. */
function holdout(seed = 1) {
  const random = seededRandom(seed);
  const regions = [
    ...Array(1_800).fill('east'),
    ...Array(1_800).fill('west'),
    ...Array(60).fill('tiny'),
  ] as string[];
  const labels = Uint8Array.from(regions, () => (random() < 0.25 ? 1 : 0));
  return { regions, labels, noise: Float64Array.from(regions, () => gaussian(random)) };
}

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Scores whose separation per region is `strength[region]` (0: chance; larger: better AUC). */
function scored(
  version: number,
  data: ReturnType<typeof holdout>,
  strength: Readonly<Record<string, number>>,
): HoldoutEvaluation {
  const scores = Float64Array.from(data.labels, (label, i) => {
    const region = data.regions[i] ?? '';
    return 1 / (1 + Math.exp(-((strength[region] ?? 0) * label + (data.noise[i] ?? 0))));
  });
  return evaluateOnHoldout({ version, threshold: 0.5, scores }, data.labels, { region: data.regions });
}

describe('compareChallenger', () => {
  const data = holdout();
  const champion = scored(3, data, { east: 1, west: 1, tiny: 1 });

  it('promotes a challenger that wins overall by the margin with no subgroup losing more than ε', () => {
    const challenger = scored(5, data, { east: 1.6, west: 1.6, tiny: 1.6 });

    const verdict = compareChallenger({ model: 'flight-delay', champion, challenger, policy: POLICY });

    expect(verdict.decision).toBe('promote');
    const gain = verdict.checks.find((c) => c.gate === 'auc-gain');
    expect(gain).toMatchObject({ subject: 'overall', passed: true, limit: 0.005 });
    expect(gain?.difference).toBeCloseTo((challenger.overall.auc ?? 0) - (champion.overall.auc ?? 0), 12);
    expect(gain?.difference).toBeGreaterThan(0.05);
    expect(verdict.reasons[0]).toMatch(
      /^challenger v5 vs champion v3: holdout AUC 0\.\d{3} vs 0\.\d{3}, \+0\.\d{3}, at least the \+0\.005 required$/,
    );
    expect(verdict.reasons[1]).toMatch(
      /^no subgroup lost more than 0\.020 AUC against the champion \(2 gated; closest: region=\w+ \+0\.\d{3}\)$/,
    );
    expect(verdict.checks.map((c) => [c.gate, c.subject, c.passed])).toEqual([
      ['auc-gain', 'overall', true],
      ['subgroup-auc-loss', 'region=east', true],
      ['subgroup-auc-loss', 'region=west', true],
    ]);
  });

  it('keeps the champion when the challenger is worse overall', () => {
    const challenger = scored(5, data, { east: 0.6, west: 0.6, tiny: 0.6 });

    const verdict = compareChallenger({ model: 'flight-delay', champion, challenger, policy: POLICY });

    expect(verdict.decision).toBe('keep');
    expect(verdict.reasons[0]).toMatch(
      /^challenger v5 vs champion v3: holdout AUC 0\.\d{3} vs 0\.\d{3}, −0\.\d{3}, less than the \+0\.005 required$/,
    );
  });

  it('keeps the champion when the challenger gains less than the margin', () => {
    const verdict = compareChallenger({
      model: 'flight-delay',
      champion,
      challenger: { ...champion, version: 5 },
      policy: POLICY,
    });

    expect(verdict.decision).toBe('keep');
    expect(verdict.checks[0]).toMatchObject({ gate: 'auc-gain', passed: false, difference: 0 });
    expect(verdict.reasons).toEqual([expect.stringContaining('+0.000, less than the +0.005 required')]);
  });

  it('keeps the champion when the challenger is better overall but one subgroup loses more than ε', () => {
    const challenger = scored(5, data, { east: 2.4, west: 0.5, tiny: 1 });

    const verdict = compareChallenger({ model: 'flight-delay', champion, challenger, policy: POLICY });

    expect(verdict.checks.find((c) => c.gate === 'auc-gain')?.passed).toBe(true);
    expect(verdict.decision).toBe('keep');
    expect(verdict.reasons).toEqual([
      expect.stringMatching(
        /^subgroup region=west: challenger AUC 0\.\d{3} vs champion 0\.\d{3}, −0\.\d{3}, a loss of more than the 0\.020 allowed$/,
      ),
    ]);
    const west = verdict.checks.find((c) => c.subject === 'region=west');
    expect(west?.difference).toBeLessThan(-0.02);
  });

  it('does not gate on a subgroup with fewer rows than the minimum, and says so', () => {
    const challenger = scored(5, data, { east: 1.6, west: 1.6, tiny: -3 });

    const verdict = compareChallenger({ model: 'flight-delay', champion, challenger, policy: POLICY });

    expect(verdict.decision).toBe('promote');
    expect(verdict.skipped).toEqual([
      { subject: 'region=tiny', reason: '60 holdout rows, fewer than the 200 needed to gate on its AUC' },
    ]);
  });

  it('passes a gain equal to the margin', () => {
    const base = scored(5, data, { east: 1, west: 1, tiny: 1 });
    const challenger: HoldoutEvaluation = {
      ...base,
      overall: { ...base.overall, auc: (champion.overall.auc ?? 0) + POLICY.minAucGain },
    };

    expect(compareChallenger({ model: 'm', champion, challenger, policy: POLICY }).decision).toBe('promote');
  });

  it('keeps the model unpromoted when there is no champion to compare against', () => {
    const challenger = scored(5, data, { east: 2, west: 2, tiny: 2 });

    const verdict = compareChallenger({ model: 'flight-delay', challenger, policy: POLICY });

    expect(verdict).toEqual({
      decision: 'keep',
      reasons: [
        expect.stringMatching(
          /^flight-delay has no Production version to compare against: challenger v5 stays in Staging/,
        ),
      ],
      checks: [],
      skipped: [],
    });
  });

  it('keeps the champion when the holdout holds one class only', () => {
    const flat = { ...data, labels: new Uint8Array(data.labels.length) };
    const verdict = compareChallenger({
      model: 'm',
      champion: scored(3, flat, { east: 1 }),
      challenger: scored(5, flat, { east: 2 }),
      policy: POLICY,
    });

    expect(verdict.decision).toBe('keep');
    expect(verdict.reasons).toEqual([
      expect.stringContaining('holdout AUC is undefined (the holdout holds one class only)'),
    ]);
  });
});

describe('evaluateOnHoldout', () => {
  it('reports the overall metrics and one breakdown per subgroup column', () => {
    const data = holdout(2);
    const evaluation = evaluateOnHoldout(
      {
        version: 1,
        threshold: 0.5,
        scores: Float64Array.from(data.labels, (l, i) => (l + (data.noise[i] ?? 0) + 3) / 8),
      },
      data.labels,
      { region: data.regions, half: data.regions.map((_, i) => (i % 2 === 0 ? 'even' : 'odd')) },
    );

    expect(evaluation.overall.rows).toBe(3_660);
    expect(evaluation.subgroups.map((b) => [b.column, b.groups.map((g) => [g.value, g.rows])])).toEqual([
      [
        'region',
        [
          ['east', 1_800],
          ['tiny', 60],
          ['west', 1_800],
        ],
      ],
      [
        'half',
        [
          ['even', 1_830],
          ['odd', 1_830],
        ],
      ],
    ]);
  });
});
