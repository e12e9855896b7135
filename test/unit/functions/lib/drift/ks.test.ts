import { describe, expect, it } from 'vitest';
import {
  ksAsymptoticPValue,
  ksStatistic,
  ksStatisticFromPercentiles,
} from '../../../../../functions/lib/drift/ks.ts';
import { buildProfile, type NumericFieldProfile } from '../../../../../functions/lib/drift/profile.ts';
import { seededNormal, seededRandom } from '../training/seeded-random.ts';

function normalSample(n: number, mean: number, sd: number, seed: number): number[] {
  const normal = seededNormal(seededRandom(seed));
  return Array.from({ length: n }, () => mean + sd * normal());
}

const percentilesOf = (values: number[]) =>
  (
    buildProfile({ fields: { x: 'numeric' }, rows: values.map((x) => ({ x })) }).fields
      .x as NumericFieldProfile
  ).quantiles;

/** Percentiles of U(0, 1): the reference CDF is F(x) = x on [0, 1]. */
const uniform = Array.from({ length: 101 }, (_, i) => i / 100);

describe('ksStatistic (exact, two samples)', () => {
  it('is 0 for identical samples and 1 for samples that do not overlap', () => {
    expect(ksStatistic([3, 1, 2], [1, 2, 3])).toBe(0);
    expect(ksStatistic([1, 2, 3], [4, 5])).toBe(1);
  });

  it('takes the largest gap between the empirical CDFs, stepping past ties on both sides', () => {
    expect(ksStatistic([1, 2, 3], [2, 3, 4])).toBeCloseTo(1 / 3, 12);
    // at 1: F_a = 2/3, F_b = 1/3
    expect(ksStatistic([1, 1, 2], [1, 2, 2])).toBeCloseTo(1 / 3, 12);
    expect(ksStatistic([5, 5, 5, 5], [5])).toBe(0);
  });

  it('is small for two samples of one distribution and about 2Φ(δ/2) − 1 for a shift of δ σ', () => {
    const a = normalSample(10_000, 0, 1, 1);
    expect(ksStatistic(a, normalSample(10_000, 0, 1, 2))).toBeLessThan(0.02);
    // 2Φ(0.25) − 1 = 0.197
    expect(ksStatistic(a, normalSample(10_000, 0.5, 1, 3))).toBeCloseTo(0.197, 1);
  });

  it('fails on an empty sample or a non-finite value', () => {
    expect(() => ksStatistic([], [1])).toThrow(/a is empty/);
    expect(() => ksStatistic([1], [2, Number.NaN])).toThrow(/b\[1\]/);
  });
});

describe('ksStatisticFromPercentiles', () => {
  it('compares with the CDF interpolated between percentiles', () => {
    expect(ksStatisticFromPercentiles(uniform, [0.5])).toBeCloseTo(0.5, 12);
    expect(ksStatisticFromPercentiles(uniform, [0.25, 0.75])).toBeCloseTo(0.25, 12);
    expect(ksStatisticFromPercentiles(uniform, [-1])).toBe(1);
    expect(ksStatisticFromPercentiles(uniform, [2, 3])).toBe(1);
    // a live sample spread evenly over [0, 1] is within a step of the reference
    const even = Array.from({ length: 1000 }, (_, i) => (i + 0.5) / 1000);
    expect(ksStatisticFromPercentiles(uniform, even)).toBeCloseTo(0.0005, 9);
  });

  it('stays within 0.01 of the exact two-sample D against the training rows', () => {
    const reference = normalSample(10_000, 0, 1, 11);
    const percentiles = percentilesOf(reference);
    for (const [seed, mean, sd] of [
      [12, 0, 1],
      [13, 0.5, 1],
      [14, 0.5, 1.3],
      [15, 0, 2],
    ] as const) {
      const live = normalSample(2_000, mean, sd, seed);
      const approx = ksStatisticFromPercentiles(percentiles, live);
      expect(Math.abs(approx - ksStatistic(reference, live))).toBeLessThanOrEqual(0.01);
    }
  });

  it('is near 0 for the same distribution and near 0.2 for a mean shifted by half a σ', () => {
    const percentiles = percentilesOf(normalSample(10_000, 0, 1, 21));
    expect(ksStatisticFromPercentiles(percentiles, normalSample(2_000, 0, 1, 22))).toBeLessThan(0.04);
    expect(ksStatisticFromPercentiles(percentiles, normalSample(2_000, 0.5, 1, 23))).toBeCloseTo(0.197, 1);
  });

  it('handles a constant reference, and a discrete one whose percentiles repeat', () => {
    const constant = Array<number>(101).fill(7);
    expect(ksStatisticFromPercentiles(constant, [7, 7, 7])).toBe(0);
    expect(ksStatisticFromPercentiles(constant, [7, 8])).toBe(0.5);
    expect(ksStatisticFromPercentiles(constant, [8])).toBe(1);
    // half 0s, half 1s: the same mix is within a percentile; all 1s is half the mass away
    const binary = percentilesOf([...Array<number>(500).fill(0), ...Array<number>(500).fill(1)]);
    const sameMix = [...Array<number>(300).fill(0), ...Array<number>(300).fill(1)];
    expect(ksStatisticFromPercentiles(binary, sameMix)).toBeLessThanOrEqual(0.011);
    expect(ksStatisticFromPercentiles(binary, Array<number>(10).fill(1))).toBeCloseTo(0.5, 1);
  });

  it('fails on too few or descending percentiles and on an empty sample', () => {
    expect(() => ksStatisticFromPercentiles([1], [1])).toThrow(/at least 2/);
    expect(() => ksStatisticFromPercentiles([2, 1], [1])).toThrow(/ascending/);
    expect(() => ksStatisticFromPercentiles(uniform, [])).toThrow(/empty/);
  });
});

describe('ksAsymptoticPValue', () => {
  it('follows the Kolmogorov distribution on both sides of the series switch', () => {
    // large n makes Stephens' correction vanish: Q(λ) for λ = d·√n
    const n = 1e12;
    expect(ksAsymptoticPValue(1.36 / Math.sqrt(n), n)).toBeCloseTo(0.0494, 3);
    expect(ksAsymptoticPValue(1 / Math.sqrt(n), n)).toBeCloseTo(0.27, 3);
    expect(ksAsymptoticPValue(0.5 / Math.sqrt(n), n)).toBeCloseTo(0.9639, 3);
    const below = ksAsymptoticPValue(1.1799 / Math.sqrt(n), n);
    const above = ksAsymptoticPValue(1.18 / Math.sqrt(n), n);
    expect(Math.abs(below - above)).toBeLessThan(1e-4);
    expect(ksAsymptoticPValue(0, 100)).toBe(1);
    expect(ksAsymptoticPValue(1, 100)).toBeLessThan(1e-12);
  });

  it('flags a negligible difference as significant in large windows, which is why drift is judged on D', () => {
    expect(ksAsymptoticPValue(0.005, 1_000_000, 1_000_000)).toBeLessThan(0.001);
    expect(ksAsymptoticPValue(0.005, 1_000, 1_000)).toBeGreaterThan(0.99);
  });

  it('fails on a statistic outside [0, 1] or a bad sample size', () => {
    expect(() => ksAsymptoticPValue(1.5, 10)).toThrow(/d must be/);
    expect(() => ksAsymptoticPValue(0.1, 0)).toThrow(/n must be/);
    expect(() => ksAsymptoticPValue(0.1, 10, 2.5)).toThrow(/m must be/);
  });
});
