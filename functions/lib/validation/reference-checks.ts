// Which expectations compare a dataset with the reference data they were written from, and an
// expectation set without them: what a retraining run checks its recent, labelled window against.
import type { ExpectationSet } from './expectations.ts';

/**
 * How a training run checks its data:
 * - `full`: every expectation of the recipe;
 * - `drift-tolerant`: without the reference comparisons (see `withoutReferenceChecks`), for a
 *   retraining run whose data is a recent window that is expected to differ from the reference.
 */
export const DATA_VALIDATION_MODES = ['full', 'drift-tolerant'] as const;
export type DataValidationMode = (typeof DATA_VALIDATION_MODES)[number];

/**
 * `expectations` without the checks that compare the data with the reference data the set was
 * written from: the mean and quantile bands of numeric columns and the unseen and vanished
 * categories. Those are what drift moves, so they would refuse exactly the window a retraining
 * must learn from. Everything intrinsic to the data stays: the row schema and the share of
 * invalid rows, the minimum row count, null rates, per-value ranges, the label balance and
 * duplicate records.
 */
export function withoutReferenceChecks<Row>(expectations: ExpectationSet<Row>): ExpectationSet<Row> {
  const { categories: _categories, ranges, ...intrinsic } = expectations;
  return {
    ...intrinsic,
    ...(ranges
      ? { ranges: ranges.map(({ mean: _mean, quantiles: _quantiles, ...perValue }) => perValue) }
      : {}),
  };
}

/** The expectations a run in `mode` checks its data against. */
export function expectationsFor<Row>(
  expectations: ExpectationSet<Row>,
  mode: DataValidationMode,
): ExpectationSet<Row> {
  return mode === 'drift-tolerant' ? withoutReferenceChecks(expectations) : expectations;
}
