import { describe, expect, it } from 'vitest';
import { splitTrainTest } from '../../../../../functions/lib/training/split.ts';

describe('splitTrainTest', () => {
  it('partitions the rows: every index once, each side ascending', () => {
    const { train, test } = splitTrainTest(1000);
    const all = [...train, ...test].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect([...train]).toEqual([...train].sort((a, b) => a - b));
    expect([...test]).toEqual([...test].sort((a, b) => a - b));
  });

  it('holds out about testFraction of the rows', () => {
    expect(splitTrainTest(20_000).test.length / 20_000).toBeCloseTo(0.2, 2);
    expect(splitTrainTest(20_000, { testFraction: 0.5 }).test.length / 20_000).toBeCloseTo(0.5, 1);
  });

  it('gives the same split for the same seed and a different one for another seed', () => {
    expect(splitTrainTest(500, { seed: 3 })).toEqual(splitTrainTest(500, { seed: 3 }));
    expect(splitTrainTest(500, { seed: 3 }).test).not.toEqual(splitTrainTest(500, { seed: 4 }).test);
    expect(splitTrainTest(500, { seed: 1 }).test).not.toEqual(
      splitTrainTest(500, { seed: 2 ** 32 + 1 }).test,
    );
  });

  it('keeps existing rows on their side when rows are appended', () => {
    const small = splitTrainTest(300, { seed: 9 });
    const large = splitTrainTest(600, { seed: 9 });
    expect([...large.test].filter((i) => i < 300)).toEqual([...small.test]);
  });

  it.each([
    [-1, {}],
    [1.5, {}],
    [10, { testFraction: 0 }],
    [10, { testFraction: 1 }],
    [10, { seed: 0.5 }],
  ])('fails on rowCount %s with %o', (rowCount, options) => {
    expect(() => splitTrainTest(rowCount, options)).toThrow(RangeError);
  });
});
