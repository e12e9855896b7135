import { describe, expect, it } from 'vitest';
import {
  calibrationBins,
  expectedCalibrationError,
} from '../../../../../functions/lib/evaluation/calibration.ts';

describe('calibrationBins', () => {
  // 4 bins: [0, .25) holds 0.1 and 0.2, [.25, .5) holds 0.3, [.5, .75) is empty, [.75, 1] holds 0.8, 0.9, 1
  const scores = [0.1, 0.2, 0.3, 0.8, 0.9, 1];
  const labels = [0, 1, 0, 1, 1, 0];

  it('bins scores into equal-width bins with their mean score and observed rate', () => {
    const bins = calibrationBins(scores, labels, 4);
    expect(bins).toHaveLength(4);
    expect(bins[0]).toEqual({
      lower: 0,
      upper: 0.25,
      rows: 2,
      meanScore: expect.closeTo(0.15, 12),
      observedRate: 0.5,
    });
    expect(bins[1]).toEqual({ lower: 0.25, upper: 0.5, rows: 1, meanScore: 0.3, observedRate: 0 });
    expect(bins[3]).toEqual({
      lower: 0.75,
      upper: 1,
      rows: 3,
      meanScore: expect.closeTo(0.9, 12),
      observedRate: 2 / 3,
    });
  });

  it('keeps empty bins with 0 rows and null means', () => {
    expect(calibrationBins(scores, labels, 4)[2]).toEqual({
      lower: 0.5,
      upper: 0.75,
      rows: 0,
      meanScore: null,
      observedRate: null,
    });
  });

  it('puts a score on a bin boundary in the upper bin, and 1 in the last bin', () => {
    const bins = calibrationBins([0.25, 0.5, 1], [0, 0, 1], 4);
    expect(bins.map((b) => b.rows)).toEqual([0, 1, 1, 1]);
  });

  it('agrees with the bounds it reports where score × bins rounds below an integer', () => {
    // 0.29 × 100 = 28.999999999999996, yet 0.29 is the lower bound of bin 29
    const bins = calibrationBins([0.29], [1], 100);
    expect(bins[29]).toMatchObject({ lower: 0.29, rows: 1 });
  });

  it('defaults to 10 bins', () => {
    expect(calibrationBins([0.5], [1])).toHaveLength(10);
  });

  it('fails on scores outside [0, 1] and on a bad bin count', () => {
    expect(() => calibrationBins([1.5], [1], 4)).toThrow(/scores\[0\] is 1.5/);
    expect(() => calibrationBins([Number.NaN], [1], 4)).toThrow(/scores\[0\] is NaN/);
    expect(() => calibrationBins([0.5], [1], 0)).toThrow(/bins must be an integer ≥ 1/);
  });
});

describe('expectedCalibrationError', () => {
  it('is the row-weighted mean gap between mean score and observed rate', () => {
    // (2 · |0.15 − 0.5| + 1 · |0.3 − 0| + 3 · |0.9 − 2/3|) / 6 = (0.7 + 0.3 + 0.7) / 6
    const bins = calibrationBins([0.1, 0.2, 0.3, 0.8, 0.9, 1], [0, 1, 0, 1, 1, 0], 4);
    expect(expectedCalibrationError(bins)).toBeCloseTo(1.7 / 6, 12);
  });

  it('is 0 when every bin scores as often as it turns out positive', () => {
    const bins = calibrationBins([0.5, 0.5, 0, 1], [1, 0, 0, 1], 10);
    expect(expectedCalibrationError(bins)).toBe(0);
  });

  it('fails when the bins hold no rows', () => {
    expect(() => expectedCalibrationError(calibrationBins([], [], 4))).toThrow(/no rows/);
  });
});
