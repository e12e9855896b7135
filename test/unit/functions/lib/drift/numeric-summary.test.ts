import { describe, expect, it } from 'vitest';
import { assignBin } from '../../../../../functions/lib/binning.ts';
import { ksStatisticFromPercentiles } from '../../../../../functions/lib/drift/ks.ts';
import { summarizeNumericColumn } from '../../../../../functions/lib/drift/numeric-summary.ts';
import { type NumericFieldProfile, profilePredictions } from '../../../../../functions/lib/drift/profile.ts';
import { seededNormal, seededRandom } from '../training/seeded-random.ts';

type Draw = (uniform: () => number, normal: () => number) => number;

function sample(n: number, seed: number, draw: Draw): Float64Array {
  const uniform = seededRandom(seed);
  const normal = seededNormal(uniform);
  return Float64Array.from({ length: n }, () => draw(uniform, normal));
}

/** The reference profile of `values` (nulls allowed), as the drift check stores it. */
const reference = (values: ArrayLike<number>): NumericFieldProfile => profilePredictions(values);

/** What the summary must equal: counts by `assignBin`, D by ks.ts on the finite values, naive moments. */
function expected(ref: NumericFieldProfile, column: Float64Array) {
  const finite = column.filter((v) => Number.isFinite(v));
  const counts = new Array<number>(ref.binEdges.length + 1).fill(0);
  for (const v of finite) counts[assignBin(ref.binEdges, v)]! += 1;
  const mean = finite.reduce((a, b) => a + b, 0) / finite.length;
  const std = Math.sqrt(finite.reduce((a, v) => a + (v - mean) ** 2, 0) / finite.length);
  return { finite, counts, ks: ksStatisticFromPercentiles(ref.quantiles, finite), mean, std };
}

const normalDraw: Draw = (_u, normal) => normal();
const cases: ReadonlyArray<{ name: string; ref: Draw; live: Draw; n?: number }> = [
  { name: 'the same normal distribution', ref: normalDraw, live: normalDraw },
  { name: 'a shifted normal', ref: normalDraw, live: (_u, normal) => normal() + 0.3 },
  { name: 'a wider normal', ref: normalDraw, live: (_u, normal) => 1.8 * normal() },
  {
    name: 'a skewed (log-normal) field',
    ref: (_u, normal) => Math.exp(normal()),
    live: (_u, normal) => 1.3 * Math.exp(normal()),
  },
  { name: 'a heavy-tailed (Pareto) field', ref: (u) => (1 - u()) ** -2, live: (u) => (1 - u()) ** -2.2 },
  {
    name: 'hours of the day (ties, values on the percentiles)',
    ref: (u) => Math.floor(24 * u()),
    live: (u) => Math.floor(24 * u() ** 1.2),
  },
  {
    name: 'a mostly constant field with a tail',
    ref: (u, normal) => (u() < 0.7 ? 5 : 5 + Math.abs(normal())),
    live: (u, normal) => (u() < 0.6 ? 5 : 5 + Math.abs(normal())),
  },
  { name: 'a window entirely above the reference', ref: normalDraw, live: (_u, normal) => 10 + normal() },
  { name: 'a window entirely below the reference', ref: normalDraw, live: (_u, normal) => -10 + normal() },
  {
    name: 'nulls of every kind, −0 and the reference extremes',
    ref: (u, normal) => (u() < 0.5 ? 0 : normal()),
    live: (u, normal) => {
      const r = u();
      return r < 0.05
        ? Number.NaN
        : r < 0.07
          ? Number.POSITIVE_INFINITY
          : r < 0.08
            ? -0
            : r < 0.1
              ? 0
              : normal();
    },
  },
  { name: 'a single value', ref: normalDraw, live: () => 0.25, n: 1 },
  { name: 'a tiny window', ref: normalDraw, live: normalDraw, n: 7 },
];

describe('summarizeNumericColumn', () => {
  for (const { name, ref: refDraw, live, n } of cases) {
    it(`matches ks.ts to the last bit, assignBin's counts and the moments for ${name}`, () => {
      for (const seed of [1, 2, 3]) {
        const ref = reference(sample(20_000, 100 + seed, refDraw));
        const column = sample(n ?? 200_000, 200 + seed, live);
        const summary = summarizeNumericColumn(ref, column);
        const want = expected(ref, column);
        expect(summary.values).toBe(want.finite.length);
        expect(summary.ks).toBe(want.ks);
        expect(summary.binCounts).toEqual(want.counts);
        expect(Math.abs(summary.mean! - want.mean)).toBeLessThanOrEqual(
          1e-12 * Math.max(1, Math.abs(want.mean)),
        );
        expect(Math.abs(summary.std! - want.std)).toBeLessThanOrEqual(1e-9 * Math.max(1, want.std));
      }
    });
  }

  it('matches ks.ts against a constant reference', () => {
    const ref = reference(new Float64Array(1_000).fill(7));
    for (const column of [
      new Float64Array(500).fill(7),
      new Float64Array(500).fill(8),
      Float64Array.of(6, 7, 8),
    ]) {
      const summary = summarizeNumericColumn(ref, column);
      expect(summary.ks).toBe(ksStatisticFromPercentiles(ref.quantiles, column));
      expect(summary.binCounts).toEqual([column.length]);
    }
  });

  it('gives the same bits for the same values in any order', () => {
    const ref = reference(sample(20_000, 7, normalDraw));
    // far outliers too: they take the separate sums
    const column = sample(100_000, 8, (u, normal) => (u() < 0.001 ? 1e6 * normal() : normal() + 0.1));
    const reversed = column.slice().reverse();
    const shuffled = column.slice();
    const uniform = seededRandom(9);
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(uniform() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const summary = summarizeNumericColumn(ref, column);
    expect(summarizeNumericColumn(ref, reversed)).toEqual(summary);
    expect(summarizeNumericColumn(ref, shuffled)).toEqual(summary);
    const want = expected(ref, column);
    expect(summary.mean! / want.mean).toBeCloseTo(1, 9);
    expect(summary.std! / want.std).toBeCloseTo(1, 9);
  });

  it('reads only the first `length` values', () => {
    const ref = reference(sample(5_000, 11, normalDraw));
    const column = sample(1_000, 12, normalDraw);
    expect(summarizeNumericColumn(ref, column, 600)).toEqual(
      summarizeNumericColumn(ref, column.slice(0, 600)),
    );
  });

  it('has nothing to compare without values on either side, but still the window’s moments', () => {
    const ref = reference(sample(5_000, 13, normalDraw));
    expect(summarizeNumericColumn(ref, Float64Array.of(Number.NaN, Number.NEGATIVE_INFINITY))).toEqual({
      values: 0,
      mean: null,
      std: null,
      binCounts: null,
      ks: null,
    });
    const empty = reference(Float64Array.of(Number.NaN));
    expect(empty.count).toBe(0);
    const summary = summarizeNumericColumn(empty, Float64Array.of(1, 2, 3, Number.NaN, 6));
    expect(summary).toMatchObject({ values: 4, mean: 3, binCounts: null, ks: null });
    expect(summary.std).toBeCloseTo(Math.sqrt(3.5), 12);
  });

  it('fails on a length beyond the column, or percentiles out of order', () => {
    const ref = reference(sample(1_000, 14, normalDraw));
    expect(() => summarizeNumericColumn(ref, new Float64Array(3), 4)).toThrow(
      /length must be an integer in \[0, 3\], got 4/,
    );
    const broken = { ...ref, quantiles: [...ref.quantiles].reverse() };
    expect(() => summarizeNumericColumn(broken, new Float64Array(3))).toThrow(
      /percentiles must be finite and ascending/,
    );
  });
});
