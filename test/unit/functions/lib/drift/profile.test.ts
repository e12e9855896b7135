import { describe, expect, it } from 'vitest';
import {
  assignBin,
  assignCategory,
  buildProfile,
  type CategoricalFieldProfile,
  categoryValue,
  type NumericFieldProfile,
  numericValue,
  ProfileSchema,
  profilePredictions,
} from '../../../../../functions/lib/drift/profile.ts';
import { seededRandom } from '../../../../../functions/lib/random.ts';

const numeric = (values: unknown[], bins?: number) =>
  buildProfile({ fields: { x: 'numeric' }, rows: values.map((x) => ({ x })), bins }).fields
    .x as NumericFieldProfile;

const categorical = (values: unknown[], maxCategories?: number) =>
  buildProfile({ fields: { c: 'categorical' }, rows: values.map((c) => ({ c })), maxCategories }).fields
    .c as CategoricalFieldProfile;

/** Rows of a numeric and a categorical field, with a few nulls. */
function sampleRows(n: number, seed = 1) {
  const random = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => ({
    distance: i % 17 === 0 ? null : Math.round(random() * 3000),
    origin: ['SFO', 'LAX', 'JFK', 'ORD', 'SEA'][Math.floor(random() ** 2 * 5)],
  }));
}

describe('buildProfile: numeric fields', () => {
  it('cuts a uniform sample into 20 bins of equal shares at about the true quantiles', () => {
    const random = seededRandom(42);
    const field = numeric(Array.from({ length: 10_000 }, () => random()));
    expect(field.binEdges).toHaveLength(19);
    field.binEdges.forEach((edge, k) => {
      expect(edge).toBeCloseTo((k + 1) / 20, 1);
    });
    expect(field.binShares).toEqual(Array(20).fill(0.05));
    expect(field.binShares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('dedupes edges when values repeat and never cuts at the maximum', () => {
    // candidate edges at ranks 1…9 are 1, 1, 1, 1, 1, 1, 2, 2, 3; 3 is the maximum
    const field = numeric([1, 1, 1, 1, 1, 1, 2, 2, 3, 3]);
    expect(field.binEdges).toEqual([1, 2]);
    expect(field.binShares).toEqual([0.6, 0.2, 0.2]);
  });

  it('has a single bin when every value is the same', () => {
    const field = numeric([7, 7, 7]);
    expect(field.binEdges).toEqual([]);
    expect(field.binShares).toEqual([1]);
    expect(field.quantiles).toEqual(Array(101).fill(7));
  });

  it('honours the number of bins', () => {
    const field = numeric([1, 2, 3, 4, 5, 6, 7, 8], 4);
    expect(field.binEdges).toEqual([2, 4, 6]);
    expect(field.binShares).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  it('counts null, undefined, NaN, infinities, non-numbers and missing values as nulls', () => {
    const rows = [
      { x: 1 },
      { x: null },
      { x: undefined },
      { x: Number.NaN },
      { x: Number.POSITIVE_INFINITY },
    ];
    const field = buildProfile({ fields: { x: 'numeric' }, rows: [...rows, { x: '3' }, { x: 3 }, {}] }).fields
      .x as NumericFieldProfile;
    expect(field).toMatchObject({ count: 2, nullRate: 6 / 8, min: 1, max: 3, mean: 2 });
  });

  it('computes moments and percentiles of the values', () => {
    const field = numeric([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(field).toMatchObject({ count: 8, nullRate: 0, min: 2, max: 9, mean: 5, std: 2 });
    const five = numeric([5, 3, 1, 4, 2]);
    expect(five.quantiles).toHaveLength(101);
    // linear interpolation between order statistics: percentile p sits at rank (n − 1) · p
    expect([
      five.quantiles[0],
      five.quantiles[10],
      five.quantiles[25],
      five.quantiles[50],
      five.quantiles[100],
    ]).toEqual([1, 1.4, 2, 3, 5]);
  });

  it('reports a field with no values with null statistics and no bins', () => {
    expect(numeric([null, 'a'])).toEqual({
      kind: 'numeric',
      count: 0,
      nullRate: 1,
      min: null,
      max: null,
      mean: null,
      std: null,
      binEdges: [],
      binShares: [],
      quantiles: [],
    });
  });
});

describe('buildProfile: categorical fields', () => {
  it('keeps the top categories by count, ties broken by name, and pools the rest', () => {
    const values = [...'aaaaabbbcccdde'.split(''), null, undefined];
    const field = categorical(values, 2);
    expect(field).toEqual({
      kind: 'categorical',
      count: 14,
      nullRate: 2 / 16,
      shares: { a: 5 / 14, b: 3 / 14 },
      otherShare: 6 / 14,
    });
  });

  it('keys shares in name order, with an other share of 0 when all categories fit', () => {
    const field = categorical(['b', 'c', 'a', 'c']);
    expect(Object.keys(field.shares)).toEqual(['a', 'b', 'c']);
    expect(field.shares).toEqual({ a: 0.25, b: 0.25, c: 0.5 });
    expect(field.otherShare).toBe(0);
  });

  it('reads numbers and booleans as text and other values as nulls', () => {
    const field = categorical([1, true, 'x', { a: 1 }, Number.NaN]);
    expect(field).toMatchObject({ count: 3, nullRate: 2 / 5, shares: { '1': 1 / 3, true: 1 / 3, x: 1 / 3 } });
  });
});

describe('buildProfile', () => {
  it('gives byte-identical JSON for the same rows, in any order', () => {
    const rows = sampleRows(2_000);
    const fields = { origin: 'categorical', distance: 'numeric' } as const;
    const reference = JSON.stringify(buildProfile({ fields, rows }));
    expect(JSON.stringify(buildProfile({ fields, rows }))).toBe(reference);
    const random = seededRandom(9);
    const shuffled = rows
      .map((row) => ({ row, key: random() }))
      .sort((a, b) => a.key - b.key)
      .map(({ row }) => row);
    expect(JSON.stringify(buildProfile({ fields, rows: shuffled }))).toBe(reference);
  });

  it('orders fields by name and counts every row', () => {
    const profile = buildProfile({
      fields: { origin: 'categorical', distance: 'numeric' },
      rows: sampleRows(100),
    });
    expect(profile.formatVersion).toBe(1);
    expect(profile.rows).toBe(100);
    expect(Object.keys(profile.fields)).toEqual(['distance', 'origin']);
  });

  it('reads the rows once, from any iterable', () => {
    function* rows() {
      yield { x: 1 };
      yield { x: 2 };
    }
    expect(buildProfile({ fields: { x: 'numeric' }, rows: rows() }).rows).toBe(2);
  });

  it('fails on no rows, a bad bin or category count, and an unknown kind', () => {
    expect(() => buildProfile({ fields: { x: 'numeric' }, rows: [] })).toThrow(/0 rows/);
    expect(() => buildProfile({ fields: { x: 'numeric' }, rows: [{ x: 1 }], bins: 0 })).toThrow(/bins/);
    expect(() => buildProfile({ fields: { x: 'numeric' }, rows: [{ x: 1 }], maxCategories: 1.5 })).toThrow(
      /maxCategories/,
    );
    expect(() => buildProfile({ fields: { x: 'ordinal' as never }, rows: [{ x: 1 }] })).toThrow(
      /kind ordinal/,
    );
  });
});

describe('profilePredictions', () => {
  it('profiles scores as a numeric field, counting non-finite scores as nulls', () => {
    const field = profilePredictions(Float64Array.from([0.1, 0.2, Number.NaN, 0.4]), 3);
    expect(field).toMatchObject({ kind: 'numeric', count: 3, nullRate: 0.25, min: 0.1, max: 0.4 });
    expect(field.binEdges).toEqual([0.1, 0.2]);
    expect(field.quantiles).toHaveLength(101);
  });

  it('fails on no scores', () => {
    expect(() => profilePredictions([])).toThrow(/0 scores/);
  });
});

describe('assignBin', () => {
  const edges = [1, 2, 3];

  it('puts a value equal to an edge in the lower bin', () => {
    expect([1, 2, 3].map((v) => assignBin(edges, v))).toEqual([0, 1, 2]);
  });

  it('puts values between edges in the bin above the lower edge, and beyond the edges in the end bins', () => {
    expect([-100, 0.5, 1.0001, 2.5, 3.0001, 1e9].map((v) => assignBin(edges, v))).toEqual([0, 0, 1, 2, 3, 3]);
  });

  it('has a single bin without edges', () => {
    expect(assignBin([], 42)).toBe(0);
  });

  it('bins the reference values into the shares the profile reports', () => {
    const values = sampleRows(1_000).map((row) => row.distance);
    const field = numeric(values);
    const counts = new Array(field.binShares.length).fill(0);
    for (const v of values) if (v !== null) counts[assignBin(field.binEdges, v)]++;
    expect(counts.map((c) => c / field.count)).toEqual(field.binShares);
  });
});

describe('assignCategory', () => {
  it('returns a kept category, and null for one pooled in the other share', () => {
    const field = categorical(['a', 'a', 'b'], 1);
    expect(assignCategory(field, 'a')).toBe('a');
    expect(assignCategory(field, 'b')).toBeNull();
    expect(assignCategory(field, 'constructor')).toBeNull();
  });
});

describe('numericValue and categoryValue', () => {
  it('read live values as the profile read the training values', () => {
    expect([3, '3', null, Number.NaN].map(numericValue)).toEqual([3, null, null, null]);
    expect(['x', 2, false, null, undefined, []].map(categoryValue)).toEqual([
      'x',
      '2',
      'false',
      null,
      null,
      null,
    ]);
  });
});

describe('ProfileSchema', () => {
  const profile = buildProfile({
    fields: { origin: 'categorical', distance: 'numeric' },
    rows: sampleRows(500),
  });

  it('parses a stored profile back to the same profile, byte for byte', () => {
    const stored = JSON.stringify(profile);
    const parsed = ProfileSchema.parse(JSON.parse(stored));
    expect(parsed).toEqual(profile);
    expect(JSON.stringify(parsed)).toBe(stored);
  });

  it('parses the prediction reference stored beside the input fields', () => {
    const stored = JSON.stringify({ ...profile, prediction: profilePredictions([0.2, 0.4, 0.9]) });
    const parsed = ProfileSchema.parse(JSON.parse(stored));
    expect(parsed.prediction).toMatchObject({ kind: 'numeric', count: 3, max: 0.9 });
    expect(JSON.stringify(parsed)).toBe(stored);
  });

  it('keeps a category whatever its name', () => {
    const odd = buildProfile({
      fields: { c: 'categorical' },
      rows: [{ c: '__proto__' }, { c: '10' }, { c: '2' }],
    });
    const parsed = ProfileSchema.parse(JSON.parse(JSON.stringify(odd)));
    expect(Object.keys((parsed.fields.c as CategoricalFieldProfile).shares)).toEqual([
      '2',
      '10',
      '__proto__',
    ]);
  });

  it('accepts a numeric field with no values', () => {
    const empty = buildProfile({ fields: { x: 'numeric' }, rows: [{ x: null }] });
    expect(ProfileSchema.parse(JSON.parse(JSON.stringify(empty)))).toEqual(empty);
  });

  it('fails on a profile whose bins do not add up', () => {
    const stored = JSON.parse(JSON.stringify(profile));
    stored.fields.distance.binShares.pop();
    expect(ProfileSchema.safeParse(stored).error?.issues[0]).toMatchObject({
      path: ['fields', 'distance', 'binShares'],
    });
    const unsorted = JSON.parse(JSON.stringify(profile));
    unsorted.fields.distance.binEdges.reverse();
    expect(ProfileSchema.safeParse(unsorted).success).toBe(false);
  });

  it('fails on another format version and on shares that do not sum to 1', () => {
    expect(ProfileSchema.safeParse({ ...profile, formatVersion: 2 }).success).toBe(false);
    const stored = JSON.parse(JSON.stringify(profile));
    stored.fields.origin.otherShare = 0.5;
    expect(ProfileSchema.safeParse(stored).success).toBe(false);
  });
});
