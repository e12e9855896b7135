// The drift-tolerant data gate a retraining run uses: a recent window that moved away from the
// reference data (a longer-haul mix, new airports, the old hubs gone) passes it, while data that
// is broken in itself (nulls, impossible values, duplicates) is still refused.
import { describe, expect, it } from 'vitest';
import { TrainingRunInput } from '../../../../../functions/lib/runs/training-run.ts';
import { flightsExpectations } from '../../../../../functions/lib/validation/flights-expectations.ts';
import {
  expectationsFor,
  withoutReferenceChecks,
} from '../../../../../functions/lib/validation/reference-checks.ts';
import {
  DataValidationFailed,
  validateDataset,
} from '../../../../../functions/lib/validation/validate-dataset.ts';
import { validateData } from '../../../../../functions/validate-data/core.ts';
import { datasetFile, flightsRawRows, startRun } from '../../../../support/training-run.ts';

/** flights-20k as a drifted window: longer flights, and DFW/ORD flights rerouted from new hubs. */
function driftedRows() {
  return flightsRawRows().map((row) => ({
    ...row,
    distance: row.distance === null ? null : Math.round(row.distance * 1.5),
    origin: row.origin === 'DFW' || row.origin === 'ORD' ? `X${row.origin.slice(1)}` : row.origin,
  }));
}

describe('withoutReferenceChecks', () => {
  it('drops the mean and quantile bands and the category checks, and keeps everything intrinsic', () => {
    const tolerant = withoutReferenceChecks(flightsExpectations);

    expect(tolerant.categories).toBeUndefined();
    expect(tolerant.ranges).toEqual([
      { column: 'distance', min: 20, max: 5_100, maxOutOfRangeShare: 0.001 },
      { column: 'delay', min: -120, max: 1_440, maxOutOfRangeShare: 0.001 },
    ]);
    const { categories: _c, ranges: _r, ...intrinsic } = flightsExpectations;
    expect(tolerant).toMatchObject(intrinsic);
    expect(expectationsFor(flightsExpectations, 'full')).toBe(flightsExpectations);
  });

  it('passes a drifted window that the full gate refuses for its distance mix and vanished hubs', () => {
    const rows = driftedRows();

    const full = validateDataset(rows, flightsExpectations);
    const tolerant = validateDataset(rows, withoutReferenceChecks(flightsExpectations));

    expect(full.violations.map((v) => [v.expectation, v.column])).toEqual(
      expect.arrayContaining([
        ['mean', 'distance'],
        ['unseenCategories', 'origin'],
        ['vanishedCategories', 'origin'],
      ]),
    );
    expect(tolerant.violations).toEqual([]);
  });

  it('still refuses nulls and duplicated records', () => {
    const rows = driftedRows().map((row, i) => (i % 4 === 0 ? { ...row, distance: null } : row));
    rows.push(...rows.slice(1, 50));

    const report = validateDataset(rows, withoutReferenceChecks(flightsExpectations));

    expect(report.violations.map((v) => [v.expectation, v.column])).toEqual([
      ['maxNullRate', 'distance'],
      ['uniqueKey', undefined],
    ]);
  });
});

describe('ValidateData with dataValidation', () => {
  it('defaults to the full gate', () => {
    expect(
      TrainingRunInput.parse({ runId: 'r', model: 'm', datasetUri: 's3://b/k', featureSet: 'f' })
        .dataValidation,
    ).toBe('full');
  });

  it('lets a drift-tolerant run through on a drifted window and records the mode in its report', async () => {
    const run = startRun(
      { runId: 'tolerant', dataValidation: 'drift-tolerant' },
      { dataset: datasetFile(driftedRows()) },
    );

    const result = await validateData(run.state, run.ports);

    expect(result.validRows).toBe(20_000);
    const report = JSON.parse(
      Buffer.from(run.artifacts.objects.get('runs/tolerant/validate/report.json')?.body ?? []).toString(
        'utf8',
      ),
    );
    expect(report).toMatchObject({ dataValidation: 'drift-tolerant', passed: true });
  });

  it('refuses the same window in a full run', async () => {
    const run = startRun({ runId: 'strict' }, { dataset: datasetFile(driftedRows()) });

    await expect(validateData(run.state, run.ports)).rejects.toThrow(DataValidationFailed);
  });
});
