import { describe, expect, it } from 'vitest';
import {
  assignBin,
  buildProfile,
  type NumericFieldProfile,
} from '../../../../../functions/lib/drift/profile.ts';
import { DEFAULT_PSI_EPSILON, populationStabilityIndex } from '../../../../../functions/lib/drift/psi.ts';
import { seededNormal, seededRandom } from '../training/seeded-random.ts';

/** `n` draws of N(mean, sd) from `seed`. */
function normalSample(n: number, mean: number, sd: number, seed: number): number[] {
  const normal = seededNormal(seededRandom(seed));
  return Array.from({ length: n }, () => mean + sd * normal());
}

/** PSI of `live` against the quantile-bin profile of `reference`, as the drift check bins them. */
function psiAgainstProfile(reference: number[], live: number[], bins?: number): number {
  const field = buildProfile({ fields: { x: 'numeric' }, rows: reference.map((x) => ({ x })), bins }).fields
    .x as NumericFieldProfile;
  const counts = new Array<number>(field.binShares.length).fill(0);
  for (const v of live) counts[assignBin(field.binEdges, v)]! += 1;
  return populationStabilityIndex(
    field.binShares,
    counts.map((c) => c / live.length),
  ).psi;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('populationStabilityIndex', () => {
  it('gives a bin going from 20% to 35% a contribution of (0.35 − 0.20)·ln(0.35/0.20) ≈ 0.084', () => {
    const { psi, contributions } = populationStabilityIndex([0.2, 0.3, 0.5], [0.35, 0.15, 0.5]);
    expect(contributions[0]).toBeCloseTo(0.15 * Math.log(0.35 / 0.2), 12);
    expect(contributions[0]).toBeCloseTo(0.084, 3);
    expect(contributions[1]).toBeCloseTo(-0.15 * Math.log(0.15 / 0.3), 12);
    expect(contributions[2]).toBe(0);
    expect(psi).toBeCloseTo(
      contributions.reduce((a, b) => a + b, 0),
      15,
    );
  });

  it('is 0 for identical shares and positive, term by term, otherwise', () => {
    expect(populationStabilityIndex([0.25, 0.25, 0.5], [0.25, 0.25, 0.5]).psi).toBe(0);
    const { contributions } = populationStabilityIndex([0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]);
    for (const c of contributions) expect(c).toBeGreaterThan(0);
  });

  it('clips an empty bin to epsilon: large but finite', () => {
    const { psi, contributions } = populationStabilityIndex([0.1, 0.9], [0, 1]);
    const emptied = (DEFAULT_PSI_EPSILON - 0.1) * Math.log(DEFAULT_PSI_EPSILON / 0.1);
    expect(contributions[0]).toBeCloseTo(emptied, 12);
    expect(contributions[0]).toBeCloseTo(0.69, 2);
    expect(Number.isFinite(psi)).toBe(true);
    // a bin the reference never had (an unseen category) is clipped the same way
    expect(populationStabilityIndex([0, 1], [0.01, 0.99]).contributions[0]).toBeCloseTo(
      (0.01 - 1e-4) * Math.log(0.01 / 1e-4),
      12,
    );
  });

  it('honours another epsilon', () => {
    const { contributions } = populationStabilityIndex([0.1, 0.9], [0, 1], { epsilon: 0.01 });
    expect(contributions[0]).toBeCloseTo((0.01 - 0.1) * Math.log(0.01 / 0.1), 12);
  });

  it('has a single bin of 0 (a constant feature)', () => {
    expect(populationStabilityIndex([1], [1])).toEqual({ psi: 0, contributions: [0] });
  });

  it('fails on mismatched bins, shares outside [0, 1] or not summing to 1, and a bad epsilon', () => {
    expect(() => populationStabilityIndex([0.5, 0.5], [1])).toThrow(/2 bins but actual has 1/);
    expect(() => populationStabilityIndex([], [])).toThrow(/at least one bin/);
    expect(() => populationStabilityIndex([1.5, -0.5], [0.5, 0.5])).toThrow(/expected\[0\]/);
    expect(() => populationStabilityIndex([0.5, 0.5], [0.5, Number.NaN])).toThrow(/actual\[1\]/);
    expect(() => populationStabilityIndex([0.5, 0.5], [0.2, 0.2])).toThrow(/sum to/);
    expect(() => populationStabilityIndex([0.5, 0.5], [0, 0])).toThrow(/sum to 0/);
    expect(() => populationStabilityIndex([1], [1], { epsilon: 0 })).toThrow(/epsilon/);
  });
});

describe('populationStabilityIndex on quantile bins of the reference profile', () => {
  const seeds = Array.from({ length: 20 }, (_, i) => i + 1);

  it('gives 0.001–0.01 for 10,000 draws of N(0, 1) against another 10,000', () => {
    const psis = seeds.map((seed) =>
      psiAgainstProfile(normalSample(10_000, 0, 1, seed), normalSample(10_000, 0, 1, seed + 1000)),
    );
    // about (bins − 1)·(1/10,000 + 1/10,000) = 0.0038 on average on 20 bins
    expect(Math.max(...psis)).toBeLessThan(0.01);
    expect(median(psis)).toBeGreaterThan(0.001);
    expect(median(psis)).toBeLessThan(0.01);
  });

  it('gives more than 0.25 for N(0.5, 1.3) against N(0, 1) on the default 20 bins, and about 0.25 on 10', () => {
    const on20 = seeds.map((seed) =>
      psiAgainstProfile(normalSample(10_000, 0, 1, seed), normalSample(10_000, 0.5, 1.3, seed + 1000)),
    );
    expect(Math.min(...on20)).toBeGreaterThan(0.25);
    // Deciles lose some of the tails: the population value is 0.249, right on the threshold, so
    // the worked value holds with 20 bins (the profile's default) but not reliably with 10.
    const on10 = seeds.map((seed) =>
      psiAgainstProfile(normalSample(10_000, 0, 1, seed), normalSample(10_000, 0.5, 1.3, seed + 1000), 10),
    );
    expect(median(on10)).toBeGreaterThan(0.22);
    expect(median(on10)).toBeLessThan(0.28);
  });
});
