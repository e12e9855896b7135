// Evaluation of a binary classifier on its test set (overall metrics with calibration, and the same
// per subgroup of one column, as recorded in metrics.json) and the quality gates applied to it.
import { type BinaryMetrics, evaluateBinary } from '../training/metrics.ts';
import { type CalibrationBin, calibrationBins, expectedCalibrationError } from './calibration.ts';

/**
 * BinaryMetrics as reported: a ratio the data leaves undefined (NaN in BinaryMetrics, such as the
 * AUC of a group holding one class only, or precision when no row is predicted positive) is null,
 * so the report is valid JSON and a missing value cannot be read as a number.
 */
export type ReportedMetrics = { readonly rows: number } & {
  readonly [K in Exclude<keyof BinaryMetrics, 'rows'>]: number | null;
};

/** The overall metrics of a test set, with how well its scores are calibrated. */
export type OverallEvaluation = ReportedMetrics & {
  /** Reliability diagram: equal-width score bins over [0, 1], empty bins included. */
  readonly calibration: readonly CalibrationBin[];
  /** Row-weighted mean |meanScore − observedRate| over the calibration bins. */
  readonly expectedCalibrationError: number;
};

/** Metrics of the rows sharing one value of the subgroup column. */
export interface SubgroupEvaluation {
  readonly value: string;
  readonly rows: number;
  /** Rows labelled positive; 0 or `rows` means one class only, and a null AUC. */
  readonly positives: number;
  readonly metrics: ReportedMetrics;
}

/** Per-subgroup metrics of one column, sorted by value (code-unit order, independent of locale). */
export interface SubgroupBreakdown {
  readonly column: string;
  readonly groups: readonly SubgroupEvaluation[];
}

/** What `evaluateClassifier` reports; JSON-serialisable, with no NaN anywhere. */
export interface ClassifierEvaluation {
  /** Scores at or above this were predicted positive. */
  readonly threshold: number;
  readonly overall: OverallEvaluation;
  /** Present when subgroups were asked for. */
  readonly subgroups?: SubgroupBreakdown;
}

export interface EvaluateClassifierInput {
  /** P(positive) of each test row, in [0, 1]. */
  readonly scores: ArrayLike<number>;
  /** 0/1 label of each test row. */
  readonly labels: ArrayLike<number>;
  /** Rows scoring at or above this are predicted positive. */
  readonly threshold: number;
  /** A column to break the metrics down by: `values[i]` is row i's value of `column`. */
  readonly subgroups?: { readonly column: string; readonly values: readonly string[] };
  /** Number of equal-width calibration bins. @default 10 */
  readonly calibrationBins?: number;
}

/** `metrics` with every non-finite ratio replaced by null (see ReportedMetrics). */
export function toReportedMetrics(metrics: BinaryMetrics): ReportedMetrics {
  const finite = (v: number) => (Number.isFinite(v) ? v : null);
  return {
    rows: metrics.rows,
    positiveRate: finite(metrics.positiveRate),
    auc: finite(metrics.auc),
    logLoss: finite(metrics.logLoss),
    accuracy: finite(metrics.accuracy),
    precision: finite(metrics.precision),
    recall: finite(metrics.recall),
  };
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function checkLabels(labels: ArrayLike<number>): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1)
      throw new RangeError(`labels[${i}] is ${labels[i]}; labels must be 0 or 1`);
  }
}

function breakDown(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold: number,
  { column, values }: NonNullable<EvaluateClassifierInput['subgroups']>,
): SubgroupBreakdown {
  if (values.length !== scores.length) {
    throw new RangeError(`${scores.length} scores but ${values.length} values of subgroup column ${column}`);
  }
  const rowsByValue = new Map<string, number[]>();
  values.forEach((value, i) => {
    const rows = rowsByValue.get(value);
    if (rows) rows.push(i);
    else rowsByValue.set(value, [i]);
  });
  const groups = [...rowsByValue.keys()].sort(byCodeUnit).map((value): SubgroupEvaluation => {
    const rows = rowsByValue.get(value) ?? [];
    const groupScores = Float64Array.from(rows, (i) => scores[i] ?? Number.NaN);
    const groupLabels = Uint8Array.from(rows, (i) => labels[i] ?? 0);
    return {
      value,
      rows: rows.length,
      positives: groupLabels.reduce((sum, label) => sum + label, 0),
      metrics: toReportedMetrics(evaluateBinary(groupScores, groupLabels, threshold)),
    };
  });
  return { column, groups };
}

/**
 * Evaluate test-set `scores` against `labels`: the overall BinaryMetrics (undefined ratios as
 * null), a reliability diagram and its expected calibration error, and, when `subgroups` is given,
 * the metrics of each value of that column. Fails on an empty test set, scores outside [0, 1]
 * and labels other than 0 or 1.
 */
export function evaluateClassifier(input: EvaluateClassifierInput): ClassifierEvaluation {
  const { scores, labels, threshold, subgroups } = input;
  if (scores.length !== labels.length) {
    throw new RangeError(`${scores.length} scores but ${labels.length} labels`);
  }
  if (scores.length === 0) throw new RangeError('cannot evaluate a classifier on 0 rows');
  if (!Number.isFinite(threshold))
    throw new RangeError(`threshold must be a finite number, got ${threshold}`);
  checkLabels(labels);
  const calibration = calibrationBins(scores, labels, input.calibrationBins ?? 10);
  return {
    threshold,
    overall: {
      ...toReportedMetrics(evaluateBinary(scores, labels, threshold)),
      calibration,
      expectedCalibrationError: expectedCalibrationError(calibration),
    },
    ...(subgroups && { subgroups: breakDown(scores, labels, threshold, subgroups) }),
  };
}

/** Limits a model must meet on its test set to be registered. */
export interface QualityGates {
  /** Least overall AUC. */
  readonly minAuc: number;
  /** Most a subgroup's AUC may fall below the overall AUC. */
  readonly maxSubgroupAucGap: number;
  /** Least rows a subgroup needs for its AUC to be gated on; smaller groups are skipped as too noisy. */
  readonly minSubgroupRows: number;
}

/** The gates a check can come from. */
export type QualityGate = 'min-auc' | 'subgroup-auc-gap';

/** One gate applied to one subject. */
export interface GateCheck {
  readonly gate: QualityGate;
  /** `overall`, or a subgroup as `column=value`. */
  readonly subject: string;
  readonly passed: boolean;
  /**
   * What was measured: the AUC for `min-auc` (must be ≥ limit); for `subgroup-auc-gap`, overall AUC
   * minus the subgroup's (must be ≤ limit; negative when the subgroup does better). Null when undefined.
   */
  readonly value: number | null;
  readonly limit: number;
  /** One line for a CLI, naming the subject, the value and the limit. */
  readonly message: string;
}

/** A subject no gate was applied to, and why. */
export interface SkippedGateCheck {
  readonly subject: string;
  readonly reason: string;
}

export interface QualityGateReport {
  /** Whether every check passed; skipped subjects do not fail the gates. */
  readonly passed: boolean;
  readonly checks: readonly GateCheck[];
  readonly skipped: readonly SkippedGateCheck[];
}

/** Slack for float rounding, so a value equal to its limit to the printed digits passes. */
const TOLERANCE = 1e-12;

const f = (v: number) => v.toFixed(3);

function checkGates({ minAuc, maxSubgroupAucGap, minSubgroupRows }: QualityGates): void {
  if (!(minAuc >= 0 && minAuc <= 1)) throw new RangeError(`minAuc must be in [0, 1], got ${minAuc}`);
  if (!(maxSubgroupAucGap >= 0 && Number.isFinite(maxSubgroupAucGap))) {
    throw new RangeError(`maxSubgroupAucGap must be a finite number ≥ 0, got ${maxSubgroupAucGap}`);
  }
  if (!(Number.isInteger(minSubgroupRows) && minSubgroupRows >= 1)) {
    throw new RangeError(`minSubgroupRows must be a positive integer, got ${minSubgroupRows}`);
  }
}

function minAucCheck(auc: number | null, minAuc: number): GateCheck {
  const base = { gate: 'min-auc', subject: 'overall', value: auc, limit: minAuc } as const;
  if (auc === null) {
    return {
      ...base,
      passed: false,
      message: `overall: AUC is undefined (the test set holds one class only); minimum ${f(minAuc)}`,
    };
  }
  const passed = auc >= minAuc - TOLERANCE;
  const verdict = passed ? 'meets' : 'is below';
  return { ...base, passed, message: `overall: AUC ${f(auc)} ${verdict} the minimum ${f(minAuc)}` };
}

/**
 * Apply `gates` to `evaluation`: the overall AUC against `minAuc`, then each subgroup's AUC
 * against the overall AUC less `maxSubgroupAucGap`. Subgroups with fewer than `minSubgroupRows`
 * rows or a single class are not gated but listed in `skipped` with the reason.
 */
export function checkQualityGates(evaluation: ClassifierEvaluation, gates: QualityGates): QualityGateReport {
  checkGates(gates);
  const overallAuc = evaluation.overall.auc;
  const checks: GateCheck[] = [minAucCheck(overallAuc, gates.minAuc)];
  const skipped: SkippedGateCheck[] = [];
  const { column, groups } = evaluation.subgroups ?? { column: '', groups: [] };
  for (const group of groups) {
    const subject = `${column}=${group.value}`;
    const auc = group.metrics.auc;
    if (group.rows < gates.minSubgroupRows) {
      skipped.push({
        subject,
        reason: `${group.rows} rows, fewer than the ${gates.minSubgroupRows} needed to gate on its AUC`,
      });
    } else if (auc === null || overallAuc === null) {
      // A subgroup with both classes implies an overall AUC: groups partition the test rows.
      skipped.push({
        subject,
        reason: `one class only (${group.positives} positive of ${group.rows} rows): AUC is undefined`,
      });
    } else {
      const gap = overallAuc - auc;
      const passed = gap <= gates.maxSubgroupAucGap + TOLERANCE;
      const direction = gap >= 0 ? 'below' : 'above';
      checks.push({
        gate: 'subgroup-auc-gap',
        subject,
        passed,
        value: gap,
        limit: gates.maxSubgroupAucGap,
        message: `subgroup ${subject}: AUC ${f(auc)} is ${f(Math.abs(gap))} ${direction} overall ${f(overallAuc)} (allowed gap ${f(gates.maxSubgroupAucGap)})`,
      });
    }
  }
  return { passed: checks.every((check) => check.passed), checks, skipped };
}
