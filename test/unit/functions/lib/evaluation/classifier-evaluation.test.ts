import { describe, expect, it } from 'vitest';
import {
  type ClassifierEvaluation,
  checkQualityGates,
  evaluateClassifier,
  type ReportedMetrics,
  toReportedMetrics,
} from '../../../../../functions/lib/evaluation/classifier-evaluation.ts';

describe('evaluateClassifier', () => {
  it('reports perfect scores as AUC 1 with every prediction right', () => {
    const { overall } = evaluateClassifier({
      scores: [0.1, 0.2, 0.8, 0.9],
      labels: [0, 0, 1, 1],
      threshold: 0.5,
    });
    expect(overall).toMatchObject({
      rows: 4,
      positiveRate: 0.5,
      auc: 1,
      accuracy: 1,
      precision: 1,
      recall: 1,
    });
  });

  it('reports reversed scores as AUC 0 with every prediction wrong', () => {
    const { overall } = evaluateClassifier({
      scores: [0.9, 0.8, 0.2, 0.1],
      labels: [0, 0, 1, 1],
      threshold: 0.5,
    });
    expect(overall).toMatchObject({ auc: 0, accuracy: 0, precision: 0, recall: 0 });
  });

  it('reports uninformative scores as AUC 0.5', () => {
    // every row scores 0.5, so every row is predicted positive
    const { overall } = evaluateClassifier({
      scores: [0.5, 0.5, 0.5, 0.5],
      labels: [0, 1, 0, 1],
      threshold: 0.5,
    });
    expect(overall).toMatchObject({ auc: 0.5, accuracy: 0.5, precision: 0.5, recall: 1 });
    expect(overall.logLoss).toBeCloseTo(Math.log(2), 12);
    expect(overall.expectedCalibrationError).toBe(0);
  });

  it('reports undefined ratios as null, never NaN', () => {
    // one class only (AUC undefined), and no row predicted positive (precision undefined)
    const evaluation = evaluateClassifier({ scores: [0.1, 0.2], labels: [0, 0], threshold: 0.5 });
    expect(evaluation.overall).toMatchObject({ auc: null, precision: null, recall: null, positiveRate: 0 });
    expect(JSON.parse(JSON.stringify(evaluation))).toEqual(evaluation);
  });

  it('includes the calibration bins and their expected calibration error', () => {
    const { overall } = evaluateClassifier({
      scores: [0.1, 0.2, 0.3, 0.8, 0.9, 1],
      labels: [0, 1, 0, 1, 1, 0],
      threshold: 0.5,
      calibrationBins: 4,
    });
    expect(overall.calibration.map((b) => b.rows)).toEqual([2, 1, 0, 3]);
    expect(overall.expectedCalibrationError).toBeCloseTo(1.7 / 6, 12);
  });

  it('breaks the metrics down by subgroup, sorted by value', () => {
    const evaluation = evaluateClassifier({
      scores: [0.9, 0.1, 0.3, 0.6, 0.4, 0.7, 0.2, 0.8],
      labels: [1, 0, 0, 0, 1, 1, 0, 1],
      threshold: 0.5,
      subgroups: { column: 'region', values: ['b', 'b', 'a', 'a', 'a', 'a', 'b', 'b'] },
    });
    expect(evaluation.subgroups?.column).toBe('region');
    const groups = evaluation.subgroups?.groups ?? [];
    expect(groups.map((g) => [g.value, g.rows, g.positives])).toEqual([
      ['a', 4, 2],
      ['b', 4, 2],
    ]);
    // a: positives 0.4, 0.7 vs negatives 0.3, 0.6 → 3 of 4 pairs ordered; b is ordered perfectly
    expect(groups[0]?.metrics.auc).toBe(0.75);
    expect(groups[1]?.metrics.auc).toBe(1);
    // overall: of 16 pairs only (0.4, 0.6) is misordered
    expect(evaluation.overall.auc).toBe(15 / 16);
  });

  it('sorts subgroup values by code unit, independent of locale', () => {
    const evaluation = evaluateClassifier({
      scores: [0.1, 0.2, 0.3],
      labels: [0, 1, 0],
      threshold: 0.5,
      subgroups: { column: 'c', values: ['b', 'a', 'B'] },
    });
    expect(evaluation.subgroups?.groups.map((g) => g.value)).toEqual(['B', 'a', 'b']);
  });

  it('leaves subgroups out when none were asked for', () => {
    const evaluation = evaluateClassifier({ scores: [0.2, 0.8], labels: [0, 1], threshold: 0.5 });
    expect(Object.keys(evaluation)).toEqual(['threshold', 'overall']);
  });

  it('fails on an empty test set, mismatched lengths, bad labels and bad scores', () => {
    expect(() => evaluateClassifier({ scores: [], labels: [], threshold: 0.5 })).toThrow(/0 rows/);
    expect(() => evaluateClassifier({ scores: [0.1], labels: [0, 1], threshold: 0.5 })).toThrow(
      /1 scores but 2 labels/,
    );
    expect(() => evaluateClassifier({ scores: [0.1, 0.2], labels: [0, 2], threshold: 0.5 })).toThrow(
      /labels\[1\] is 2/,
    );
    expect(() => evaluateClassifier({ scores: [0.1, 1.2], labels: [0, 1], threshold: 0.5 })).toThrow(
      /scores\[1\] is 1.2/,
    );
    expect(() =>
      evaluateClassifier({
        scores: [0.1, 0.2],
        labels: [0, 1],
        threshold: 0.5,
        subgroups: { column: 'region', values: ['a'] },
      }),
    ).toThrow(/2 scores but 1 values of subgroup column region/);
  });
});

describe('toReportedMetrics', () => {
  it('replaces NaN ratios with null and keeps the rest', () => {
    expect(
      toReportedMetrics({
        rows: 2,
        positiveRate: 0,
        auc: Number.NaN,
        logLoss: 0.1,
        accuracy: 1,
        precision: Number.NaN,
        recall: Number.NaN,
      }),
    ).toEqual({
      rows: 2,
      positiveRate: 0,
      auc: null,
      logLoss: 0.1,
      accuracy: 1,
      precision: null,
      recall: null,
    });
  });
});

const gates = { minAuc: 0.9, maxSubgroupAucGap: 0.1, minSubgroupRows: 4 };

/** Region a is ranked 3/4 right (AUC 0.75), region b perfectly (AUC 1); overall 15/16 = 0.9375. */
const twoRegions = () =>
  evaluateClassifier({
    scores: [0.9, 0.1, 0.3, 0.6, 0.4, 0.7, 0.2, 0.8],
    labels: [1, 0, 0, 0, 1, 1, 0, 1],
    threshold: 0.5,
    subgroups: { column: 'region', values: ['b', 'b', 'a', 'a', 'a', 'a', 'b', 'b'] },
  });

const metrics = (rows: number, auc: number | null): ReportedMetrics => ({
  rows,
  positiveRate: 0.5,
  auc,
  logLoss: 0.5,
  accuracy: 0.7,
  precision: 0.7,
  recall: 0.7,
});

/** An evaluation with the given overall AUC and subgroups of `column`, the rest filler. */
function evaluation(
  overallAuc: number | null,
  groups: Array<{ value: string; rows: number; positives: number; auc: number | null }> = [],
): ClassifierEvaluation {
  return {
    threshold: 0.5,
    overall: { ...metrics(1000, overallAuc), calibration: [], expectedCalibrationError: 0 },
    subgroups: {
      column: 'origin_region',
      groups: groups.map(({ value, rows, positives, auc }) => ({
        value,
        rows,
        positives,
        metrics: metrics(rows, auc),
      })),
    },
  };
}

describe('checkQualityGates', () => {
  it('passes the minimum AUC gate at or above the minimum', () => {
    const report = checkQualityGates(evaluation(0.93), gates);
    expect(report.passed).toBe(true);
    expect(report.checks).toEqual([
      {
        gate: 'min-auc',
        subject: 'overall',
        passed: true,
        value: 0.93,
        limit: 0.9,
        message: 'overall: AUC 0.930 meets the minimum 0.900',
      },
    ]);
  });

  it('fails the minimum AUC gate below the minimum', () => {
    const report = checkQualityGates(evaluation(0.649), { ...gates, minAuc: 0.7 });
    expect(report.passed).toBe(false);
    expect(report.checks[0]?.message).toBe('overall: AUC 0.649 is below the minimum 0.700');
  });

  it('fails the minimum AUC gate when the test set holds one class only', () => {
    const report = checkQualityGates(evaluation(null), gates);
    expect(report.passed).toBe(false);
    expect(report.checks[0]).toMatchObject({ passed: false, value: null });
    expect(report.checks[0]?.message).toMatch(/^overall: AUC is undefined/);
  });

  it('fails when a subgroup AUC is further below the overall AUC than allowed', () => {
    const report = checkQualityGates(twoRegions(), gates);
    expect(report.passed).toBe(false);
    const gap = report.checks.filter((c) => c.gate === 'subgroup-auc-gap');
    expect(gap).toEqual([
      {
        gate: 'subgroup-auc-gap',
        subject: 'region=a',
        passed: false,
        value: 0.1875,
        limit: 0.1,
        message: 'subgroup region=a: AUC 0.750 is 0.188 below overall 0.938 (allowed gap 0.100)',
      },
      {
        gate: 'subgroup-auc-gap',
        subject: 'region=b',
        passed: true,
        value: -0.0625,
        limit: 0.1,
        message: 'subgroup region=b: AUC 1.000 is 0.063 above overall 0.938 (allowed gap 0.100)',
      },
    ]);
    expect(report.skipped).toEqual([]);
  });

  it('words a failing subgroup for a CLI', () => {
    const report = checkQualityGates(
      evaluation(0.649, [{ value: 'West', rows: 500, positives: 100, auc: 0.521 }]),
      { ...gates, minAuc: 0.6 },
    );
    expect(report.checks[1]?.message).toBe(
      'subgroup origin_region=West: AUC 0.521 is 0.128 below overall 0.649 (allowed gap 0.100)',
    );
  });

  it('passes a gap equal to the allowed gap despite float rounding', () => {
    // 0.4 − 0.3 is 0.10000000000000003 in floating point
    const report = checkQualityGates(
      evaluation(0.4, [{ value: 'East', rows: 500, positives: 50, auc: 0.3 }]),
      {
        ...gates,
        minAuc: 0.4,
      },
    );
    expect(report.passed).toBe(true);
  });

  it('skips a subgroup too small to gate on, without failing', () => {
    const report = checkQualityGates(
      evaluation(0.93, [{ value: 'Tiny', rows: 3, positives: 1, auc: 0 }]),
      gates,
    );
    expect(report.passed).toBe(true);
    expect(report.checks.map((c) => c.gate)).toEqual(['min-auc']);
    expect(report.skipped).toEqual([
      { subject: 'origin_region=Tiny', reason: '3 rows, fewer than the 4 needed to gate on its AUC' },
    ]);
  });

  it('skips a subgroup holding one class only, without failing', () => {
    const report = checkQualityGates(
      evaluation(0.93, [{ value: 'Calm', rows: 40, positives: 0, auc: null }]),
      gates,
    );
    expect(report.passed).toBe(true);
    expect(report.skipped).toEqual([
      { subject: 'origin_region=Calm', reason: 'one class only (0 positive of 40 rows): AUC is undefined' },
    ]);
  });

  it('skips a single-class subgroup computed from scores', () => {
    const report = checkQualityGates(
      evaluateClassifier({
        scores: [0.1, 0.9, 0.2, 0.8, 0.3, 0.35, 0.4, 0.45],
        labels: [0, 1, 0, 1, 0, 0, 0, 0],
        threshold: 0.5,
        subgroups: { column: 'region', values: ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b'] },
      }),
      gates,
    );
    expect(report.skipped).toEqual([
      { subject: 'region=b', reason: 'one class only (0 positive of 4 rows): AUC is undefined' },
    ]);
  });

  it('fails on gates out of range', () => {
    expect(() => checkQualityGates(evaluation(0.9), { ...gates, minAuc: 1.5 })).toThrow(/minAuc/);
    expect(() => checkQualityGates(evaluation(0.9), { ...gates, maxSubgroupAucGap: -0.1 })).toThrow(
      /maxSubgroupAucGap/,
    );
    expect(() => checkQualityGates(evaluation(0.9), { ...gates, minSubgroupRows: 0 })).toThrow(
      /minSubgroupRows/,
    );
  });
});
