import { describe, expect, it } from 'vitest';
import { accuracy, evaluateBinary, logLoss, rocAuc } from '../../../../../functions/lib/training/metrics.ts';
import { seededRandom } from './seeded-random.ts';

/** AUC by definition: over all (positive, negative) pairs, 1 when the positive scores higher, ½ on a tie. */
function pairwiseAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let k = 0; k < scores.length; k++) {
      if (labels[k] !== 0) continue;
      pairs++;
      const [p, n] = [scores[i] ?? 0, scores[k] ?? 0];
      wins += p > n ? 1 : p === n ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

describe('rocAuc', () => {
  it('is 1 for a perfect ranking and 0 for an inverted one', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
  });

  it('matches a hand-computed case', () => {
    // 3 of the 4 (positive, negative) pairs are ordered correctly
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
  });

  it('counts a tie between a positive and a negative as one half', () => {
    // pairs: (0.5, 0.5) tie = ½, (0.5, 0.2) = 1, (0.9, 0.5) = 1, (0.9, 0.2) = 1 → 3.5 / 4
    expect(rocAuc([0.5, 0.5, 0.2, 0.9], [1, 0, 0, 1])).toBe(0.875);
    expect(rocAuc([0.3, 0.3, 0.3, 0.3], [1, 0, 1, 0])).toBe(0.5);
  });

  it('agrees with the pairwise definition on data full of ties', () => {
    const random = seededRandom(7);
    const labels = Array.from({ length: 400 }, () => (random() < 0.3 ? 1 : 0));
    const scores = labels.map((y) => Math.round((random() + 0.3 * y) * 10) / 10); // 14 distinct values
    expect(rocAuc(scores, labels)).toBeCloseTo(pairwiseAuc(scores, labels), 12);
  });

  it('is NaN when only one class is present', () => {
    expect(rocAuc([0.1, 0.9], [1, 1])).toBeNaN();
    expect(rocAuc([], [])).toBeNaN();
  });

  it('fails on NaN scores and on length mismatches', () => {
    expect(() => rocAuc([0.1, Number.NaN], [0, 1])).toThrow(/NaN/);
    expect(() => rocAuc([0.1], [0, 1])).toThrow(/1 scores but 2 labels/);
  });
});

describe('logLoss', () => {
  it('is the mean negative log-likelihood', () => {
    expect(logLoss([0.9, 0.2], [1, 0])).toBeCloseTo(-(Math.log(0.9) + Math.log(0.8)) / 2, 12);
  });

  it('stays finite for a certain and wrong prediction', () => {
    const loss = logLoss([0, 1], [1, 0]);
    expect(loss).toBeCloseTo(-Math.log(1e-15), 1);
  });
});

describe('accuracy', () => {
  it('predicts positive at or above the threshold', () => {
    expect(accuracy([0.5, 0.49], [1, 0])).toBe(1);
    expect(accuracy([0.5, 0.49], [1, 0], 0.6)).toBe(0.5);
  });
});

describe('evaluateBinary', () => {
  it('summarises a split', () => {
    const scores = [0.9, 0.8, 0.3, 0.6, 0.1];
    const labels = [1, 0, 1, 0, 0];
    expect(evaluateBinary(scores, labels, 0.5)).toEqual({
      rows: 5,
      positiveRate: 0.4,
      auc: rocAuc(scores, labels),
      logLoss: logLoss(scores, labels),
      accuracy: 0.4,
      precision: 1 / 3,
      recall: 0.5,
    });
  });

  it('reports precision as NaN when nothing is predicted positive', () => {
    expect(evaluateBinary([0.1, 0.2], [1, 0]).precision).toBeNaN();
  });
});
