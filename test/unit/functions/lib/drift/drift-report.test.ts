import { describe, expect, it } from 'vitest';
import {
  type CategoricalFieldDrift,
  compareToProfile,
  DriftThresholdsSchema,
  type DriftWindow,
  type NumericFieldDrift,
} from '../../../../../functions/lib/drift/drift-report.ts';
import {
  buildProfile,
  type CategoricalFieldProfile,
  type NumericFieldProfile,
  type Profile,
  profilePredictions,
} from '../../../../../functions/lib/drift/profile.ts';
import { seededNormal, seededRandom } from '../training/seeded-random.ts';

/** 20 origins with Zipf-like shares, the busiest first. */
const ORIGINS = ['ATL', 'ORD', 'DFW', 'LAX', 'DEN', 'PHX', 'IAH', 'LAS', 'DTW', 'SFO'].flatMap((a) => [
  a,
  `${a}2`,
]);
const ZIPF = ORIGINS.map((_, i) => 1 / (i + 1));

interface Traffic {
  /** Shift of distance's mean, in σ. */
  readonly distanceShift?: number;
  readonly delayNullRate?: number;
  /** Relative weights of ORIGINS. */
  readonly originWeights?: readonly number[];
  /** Share of rows from an origin the reference never saw. */
  readonly unseenOrigin?: number;
}

/** Flights-like rows (distance, delay with a few nulls, origin) and a score per row. */
function traffic(n: number, seed: number, shift: Traffic = {}): Required<DriftWindow> {
  const uniform = seededRandom(seed);
  const normal = seededNormal(uniform);
  const weights = shift.originWeights ?? ZIPF;
  const total = weights.reduce((a, b) => a + b, 0);
  const pick = () => {
    if (uniform() < (shift.unseenOrigin ?? 0)) return 'XXX';
    let u = uniform() * total;
    for (const [i, w] of weights.entries()) {
      u -= w;
      if (u < 0) return ORIGINS[i]!;
    }
    return ORIGINS[ORIGINS.length - 1]!;
  };
  const rows = Array.from({ length: n }, () => ({
    distance: 1100 + 600 * (normal() + (shift.distanceShift ?? 0)),
    delay: uniform() < (shift.delayNullRate ?? 0.02) ? null : 10 + 30 * normal(),
    origin: pick(),
  }));
  const scores = rows.map(
    (r) => 1 / (1 + Math.exp(-(((r.delay ?? 10) - 10) / 30 + (r.distance - 1100) / 600))),
  );
  return { rows, scores };
}

const FIELDS = { delay: 'numeric', distance: 'numeric', origin: 'categorical' } as const;

/** Deciles: the counts these tests work out (values needed = 50 per bin) assume 10 bins. */
const BINS = 10;

function referenceProfile(): Profile {
  const { rows, scores } = traffic(20_000, 1);
  return {
    ...buildProfile({ fields: FIELDS, rows, bins: BINS }),
    prediction: profilePredictions(scores, BINS),
  };
}

const profile = referenceProfile();
const numeric = (report: ReturnType<typeof compareToProfile>, name: string) =>
  report.fields[name] as NumericFieldDrift;
const categorical = (report: ReturnType<typeof compareToProfile>, name: string) =>
  report.fields[name] as CategoricalFieldDrift;

describe('compareToProfile', () => {
  it('finds a window from the reference distribution stable in every field and in the scores', () => {
    const report = compareToProfile(profile, traffic(2_000, 2));
    expect(report.status).toBe('stable');
    expect(report.reason).toBe('4 stable');
    for (const field of [...Object.values(report.fields), report.prediction!]) {
      expect(field.status).toBe('stable');
      expect(field.psi).toBeLessThan(0.05);
    }
    const distance = numeric(report, 'distance');
    expect(distance.ks).toBeLessThan(0.05);
    expect(distance.bins!.reference).toEqual((profile.fields.distance as NumericFieldProfile).binShares);
    expect(distance.bins!.live.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(distance.mean.reference).toBeCloseTo(1100, -2);
    expect(distance.values).toBe(2_000);
    expect(distance.valuesNeeded).toBe(500);
    expect(categorical(report, 'origin').valuesNeeded).toBe(1_000);
  });

  it('flags a numeric covariate shift, with its KS statistic and mean, and the scores it moves', () => {
    const report = compareToProfile(profile, traffic(2_000, 3, { distanceShift: 0.75 }));
    expect(report.status).toBe('significant');
    const distance = numeric(report, 'distance');
    expect(distance.status).toBe('significant');
    expect(distance.psi).toBeGreaterThan(0.4);
    expect(distance.ks).toBeCloseTo(0.29, 1); // 2Φ(0.375) − 1
    expect(distance.mean.change).toBeCloseTo(450, -2);
    expect(distance.reason).toMatch(/^PSI 0\.\d{3} > 0\.25$/);
    expect(report.reason).toContain('distance (PSI');
    expect(report.fields.delay!.status).toBe('stable');
    expect(report.prediction!.status).not.toBe('stable');
  });

  it('flags a change in the origin mix and lists the largest movers', () => {
    // the busiest origin loses four fifths of its traffic (28% → 7%) to the others
    const originWeights = ZIPF.map((w, i) => (i === 0 ? w / 5 : w));
    const report = compareToProfile(profile, traffic(2_000, 4, { originWeights }));
    const origin = categorical(report, 'origin');
    expect(origin.status).toBe('significant');
    expect(origin.largestShifts).toHaveLength(5);
    expect(origin.largestShifts[0]).toMatchObject({ category: 'ATL' });
    expect(origin.largestShifts[0]!.change).toBeLessThan(-0.15);
    const changes = origin.largestShifts.map((s) => Math.abs(s.change));
    expect(changes).toEqual([...changes].sort((a, b) => b - a));
    const shares = (profile.fields.origin as CategoricalFieldProfile).shares;
    expect(origin.categories.map((c) => c.category)).toEqual([...Object.keys(shares), null]);
    expect(origin.psi).toBeCloseTo(
      origin.categories.reduce((a, c) => a + c.contribution, 0),
      12,
    );
  });

  it('pools unseen categories into "other" and names them', () => {
    const report = compareToProfile(profile, traffic(2_000, 5, { unseenOrigin: 0.15 }));
    const origin = categorical(report, 'origin');
    expect(origin.status).toBe('significant');
    const other = origin.categories.at(-1)!;
    expect(other).toMatchObject({ category: null, reference: 0 });
    expect(other.live).toBeCloseTo(0.15, 1);
    expect(origin.otherCategories).toEqual([{ category: 'XXX', share: other.live }]);
  });

  it('maps a category the profile pooled into "other" without calling it drift', () => {
    const { rows } = traffic(20_000, 1);
    const pooled = buildProfile({ fields: { origin: 'categorical' }, rows, maxCategories: 10 });
    const report = compareToProfile(pooled, traffic(2_000, 6));
    const origin = categorical(report, 'origin');
    expect(origin.status).toBe('stable');
    expect(origin.categories).toHaveLength(11);
    expect(origin.otherCategories).toHaveLength(5);
    const kept = Object.keys((pooled.fields.origin as CategoricalFieldProfile).shares);
    for (const { category } of origin.otherCategories) expect(kept).not.toContain(category);
  });

  it('flags a feature going missing through its null rate, though its values have not moved', () => {
    const report = compareToProfile(profile, traffic(2_000, 7, { delayNullRate: 0.3 }));
    const delay = numeric(report, 'delay');
    expect(delay.status).toBe('significant');
    expect(delay.nullRate.reference).toBeCloseTo(0.02, 2);
    expect(delay.nullRate.change).toBeCloseTo(0.28, 1);
    expect(delay.psi).toBeLessThan(0.1);
    expect(delay.reason).toMatch(/^null rate 0\.0\d\d → 0\.\d{3} \(null rate change 0\.\d{3} > 0\.1\)$/);
    // a small rise is only watched
    expect(compareToProfile(profile, traffic(2_000, 8, { delayNullRate: 0.09 })).fields.delay!.status).toBe(
      'watch',
    );
  });

  it('reads a field absent from every row as all nulls', () => {
    const { rows } = traffic(2_000, 9);
    const report = compareToProfile(profile, { rows: rows.map(({ origin: _origin, ...rest }) => rest) });
    const origin = categorical(report, 'origin');
    expect(origin).toMatchObject({ status: 'significant', values: 0, psi: null, categories: [] });
    expect(origin.nullRate).toEqual({ reference: 0, live: 1, change: 1 });
    expect(report.prediction).toBeNull();
  });

  it('reports a window under minRows as insufficient data, even when it has drifted', () => {
    for (const shift of [{}, { distanceShift: 2 }]) {
      const report = compareToProfile(profile, traffic(499, 10, shift));
      expect(report.status).toBe('insufficient-data');
      expect(report.reason).toBe('499 rows < 500 needed');
      for (const field of [...Object.values(report.fields), report.prediction!]) {
        expect(field.status).toBe('insufficient-data');
        expect(field.psi).not.toBeNull(); // measured, shown, not judged
      }
    }
    const smaller = compareToProfile(profile, traffic(120, 10), { minRows: 100, minRowsPerBin: 10 });
    // judged, though at 10 rows per bin PSI's own noise (≈ 9/120) reaches the watch band
    expect(['stable', 'watch']).toContain(smaller.status);
    expect(compareToProfile(profile, { rows: [] }).status).toBe('insufficient-data');
  });

  it('leaves a field with too few values unjudged, and judges the window on the others', () => {
    // origin needs 50 rows per category: 1,000 values, more than this window has
    const report = compareToProfile(profile, traffic(800, 11));
    expect(report.fields.origin).toMatchObject({
      status: 'insufficient-data',
      reason: '800 values < 1000 needed',
    });
    expect(report.status).toBe('stable');
    expect(report.reason).toBe('3 stable; 1 not judged (too few values)');
    // but a null-rate jump still counts
    const missing = compareToProfile(profile, traffic(800, 12, { delayNullRate: 0.7 }));
    expect(missing.fields.delay!.status).toBe('significant');
    expect(missing.status).toBe('significant');
  });

  it('calls a window insufficient when no field can be judged', () => {
    const sparse = buildProfile({
      fields: { x: 'numeric' },
      rows: Array.from({ length: 1_000 }, (_, i) => ({ x: i % 10 === 0 ? i : null })),
    });
    const report = compareToProfile(sparse, {
      rows: Array.from({ length: 600 }, (_, i) => ({ x: i % 10 === 0 ? i : null })),
    });
    expect(report.fields.x!.status).toBe('insufficient-data');
    expect(report).toMatchObject({ status: 'insufficient-data', reason: 'no field has enough values' });
  });

  it('applies per-field thresholds and, when asked, judges KS D too', () => {
    const window = traffic(2_000, 13, { distanceShift: 0.5 });
    // half a σ sits on the rule of thumb's edge: PSI ≈ 0.24 on deciles, D ≈ 0.20
    expect(compareToProfile(profile, window).fields.distance!.psi).toBeCloseTo(0.24, 1);
    const stricter = compareToProfile(profile, window, {
      fields: { distance: { psi: { watch: 0.05, significant: 0.2 } } },
    });
    expect(stricter.fields.distance!.status).toBe('significant');
    expect(stricter.fields.delay!.status).toBe('stable');
    const withKs = compareToProfile(profile, window, { ks: { watch: 0.1, significant: 0.15 } });
    expect(withKs.fields.distance).toMatchObject({
      status: 'significant',
      reason: expect.stringMatching(/KS D/),
    });
  });

  it('sees a constant feature change value only through KS, as PSI has a single bin', () => {
    const constant = buildProfile({
      fields: { x: 'numeric' },
      rows: Array.from({ length: 1_000 }, () => ({ x: 7 })),
    });
    const window = { rows: Array.from({ length: 1_000 }, () => ({ x: 8 })) };
    expect(compareToProfile(constant, window).fields.x).toMatchObject({ status: 'stable', psi: 0, ks: 1 });
    expect(
      compareToProfile(constant, window, { ks: { watch: 0.1, significant: 0.2 } }).fields.x!.status,
    ).toBe('significant');
  });

  it('judges the prediction distribution with its own thresholds', () => {
    const { rows, scores } = traffic(2_000, 14);
    const shifted = Array.from(scores, (s) => Math.min(1, s + 0.15));
    const report = compareToProfile(profile, { rows, scores: shifted });
    expect(report.prediction!.status).toBe('significant');
    expect(report.status).toBe('significant');
    expect(report.reason).toContain('prediction (PSI');
    const lenient = compareToProfile(
      profile,
      { rows, scores: shifted },
      {
        prediction: { psi: { watch: 5, significant: 10 } },
      },
    );
    expect(lenient.prediction!.status).toBe('stable');
    expect(compareToProfile(buildProfile({ fields: FIELDS, rows }), { rows, scores }).prediction).toBeNull();
  });

  it('gives the same JSON for the same rows in any order, and survives a JSON round trip', () => {
    const window = traffic(2_000, 15, { distanceShift: 0.3, unseenOrigin: 0.01 });
    const report = compareToProfile(profile, window);
    const order = window.rows.map((_, i) => i).reverse();
    const reversed = compareToProfile(profile, {
      rows: order.map((i) => window.rows[i]!),
      scores: order.map((i) => window.scores[i]!),
    });
    expect(JSON.stringify(reversed)).toBe(JSON.stringify(report));
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });
});

describe('DriftThresholdsSchema', () => {
  it('defaults to the rule of thumb, 500 rows and 50 rows per bin', () => {
    expect(DriftThresholdsSchema.parse({})).toEqual({
      psi: { watch: 0.1, significant: 0.25 },
      nullRate: { watch: 0.05, significant: 0.1 },
      minRows: 500,
      minRowsPerBin: 50,
      epsilon: 1e-4,
      topCategories: 5,
      fields: {},
      prediction: {},
    });
  });

  it('fails on a watch band above the significant one, or a window size below 1', () => {
    expect(() => compareToProfile(profile, { rows: [] }, { psi: { watch: 0.3, significant: 0.2 } })).toThrow(
      /watch must not exceed significant/,
    );
    expect(() => DriftThresholdsSchema.parse({ minRows: 0 })).toThrow();
  });
});
