import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type {
  ExpectationKind,
  ValidationReport,
} from '../../../../../functions/lib/validation/expectations.ts';
import {
  type FlightTrainingRow,
  flightsExpectations,
} from '../../../../../functions/lib/validation/flights-expectations.ts';
import {
  assertDatasetValid,
  DataValidationFailed,
  summarizeViolations,
  validateDataset,
} from '../../../../../functions/lib/validation/validate-dataset.ts';

/** flights-20k as received by training: raw rows, delay included (loadFlights splits it off). */
const flights20k: readonly FlightTrainingRow[] = (() => {
  const entry = createRequire(import.meta.url).resolve('vega-datasets');
  return JSON.parse(readFileSync(join(dirname(entry), '..', 'data', 'flights-20k.json'), 'utf8'));
})();

/** A fresh copy of flights-20k a test may change (its values are primitives, so a shallow copy suffices). */
const rows = (): Record<string, unknown>[] => flights20k.map((row) => ({ ...row }));

const violation = (report: ValidationReport, expectation: ExpectationKind, column?: string) =>
  report.violations.find((v) => v.expectation === expectation && v.column === column);

describe('validateDataset on flights', () => {
  it('passes flights-20k as is', () => {
    const report = validateDataset(flights20k, flightsExpectations);

    expect(report.violations).toEqual([]);
    expect(report).toMatchObject({ dataset: 'flights', passed: true, rows: 20_000, validRows: 20_000 });
    expect(summarizeViolations(report)).toBe('flights: all expectations passed on 20,000 rows');
  });

  it('fails when a column silently turned to nulls', () => {
    const data = rows();
    data.forEach((row, i) => {
      if (i % 5 < 2) row.distance = null;
    });

    const report = validateDataset(data, flightsExpectations);

    expect(report.passed).toBe(false);
    expect(violation(report, 'maxNullRate', 'distance')).toMatchObject({
      count: 8_000,
      message: expect.stringContaining(
        '40.0% of values are null or missing (8,000 rows), at most 0.0% allowed',
      ),
      examples: [
        { row: 0, value: null },
        { row: 1, value: null },
        { row: 5, value: null },
        { row: 6, value: null },
        { row: 10, value: null },
      ],
    });
    // The nulls are the null-rate expectation's to report, not the schema's a second time.
    expect(violation(report, 'rowSchema', 'distance')).toBeUndefined();
  });

  it('fails when distance changed unit (miles to km) although every value stays plausible', () => {
    const data = rows();
    for (const row of data) row.distance = Math.round((row.distance as number) * 1.609);

    const report = validateDataset(data, flightsExpectations);

    expect(violation(report, 'rowSchema', 'distance')).toBeUndefined();
    expect(violation(report, 'mean', 'distance')?.message).toMatch(
      /^mean is 1,16\d(\.\d+)?, expected within \[600, 860\] \(a unit or scale change\?\)$/,
    );
    expect(violation(report, 'quantile', 'distance')?.message).toMatch(
      /^median is 90\d, expected within \[470, 660\]/,
    );
    // The longest flights now exceed the longest plausible distance in miles, though only just.
    expect(violation(report, 'range', 'distance')?.message).toBe(
      '21 values (0.105%) outside [20, 5,100], at most 0.1% allowed',
    );
  });

  it('fails when a top origin vanished and an unknown one appeared in bulk', () => {
    const data = rows()
      .filter((row) => row.origin !== 'ORD')
      .map((row, i) => (i % 10 === 0 ? { ...row, origin: 'XYZ' } : row));

    const report = validateDataset(data, flightsExpectations);

    expect(violation(report, 'vanishedCategories', 'origin')).toMatchObject({
      count: 1,
      message: '1 category with at least 1.0% of reference rows vanished: ORD (5.5% of reference rows)',
      examples: [{ category: 'ORD', referenceShare: expect.closeTo(0.0547, 3) }],
    });
    const unseen = violation(report, 'unseenCategories', 'origin');
    expect(unseen?.message).toMatch(
      /^10\.0% of rows \(1,891\) hold 1 categories never seen in reference data \(most common: XYZ\), at most 2\.0% allowed$/,
    );
    expect(unseen?.examples).toEqual([{ category: 'XYZ', count: 1_891, share: expect.closeTo(0.1, 3) }]);
    expect(violation(report, 'unseenCategories', 'destination')).toBeUndefined();
  });

  it('fails when there are too few rows', () => {
    const report = validateDataset(flights20k.slice(0, 4_000), flightsExpectations);

    expect(report.violations.map((v) => v.expectation)).toEqual(['minRows']);
    expect(report.violations[0]?.message).toBe('4,000 rows, expected at least 5,000');
  });

  it('fails when records are loaded twice', () => {
    const data = [...rows(), ...rows().slice(0, 300)];

    const report = validateDataset(data, flightsExpectations);

    expect(violation(report, 'uniqueKey')).toMatchObject({
      count: 300,
      message: '300 rows repeat the key (date, origin, destination, distance, delay) of an earlier row',
      examples: [0, 1, 2, 3, 4].map((i) => ({ key: expect.any(String), rows: [i, 20_000 + i] })),
    });
  });

  it('fails when the label positive rate leaves its band', () => {
    const data = rows().map((row) => ({ ...row, delay: Math.min(row.delay as number, 15) }));

    const report = validateDataset(data, flightsExpectations);

    expect(violation(report, 'labelBalance')?.message).toBe(
      'positive rate of "delayed more than 15 minutes" is 0.0% (0 of 20,000 rows), expected within 10.0%..40.0%',
    );
  });

  it('lists every violation at once, with counts and at most 5 examples each', () => {
    const data = rows().map((row, i) => {
      if (i % 100 === 0) return { ...row, origin: 'not an airport!' };
      if (i % 100 === 1) return { ...row, distance: -5 };
      if (i % 100 === 2) return { ...row, delay: null };
      return row;
    });

    const report = validateDataset(data, flightsExpectations);

    expect(report.passed).toBe(false);
    expect(report.validRows).toBe(19_400);
    expect(report.violations.map((v) => [v.expectation, v.column, v.count])).toEqual([
      ['maxNullRate', 'delay', 200],
      ['rowSchema', 'origin', 200],
      ['rowSchema', 'distance', 200],
    ]);
    expect(violation(report, 'rowSchema', 'distance')).toMatchObject({
      message: '200 rows (1.0%) fail the row schema: expected a distance in miles greater than 0',
      examples: [
        { row: 1, value: -5, message: 'expected a distance in miles greater than 0' },
        { row: 101, value: -5, message: expect.any(String) },
        { row: 201, value: -5, message: expect.any(String) },
        { row: 301, value: -5, message: expect.any(String) },
        { row: 401, value: -5, message: expect.any(String) },
      ],
    });
    for (const v of report.violations) expect(v.examples.length).toBeLessThanOrEqual(5);
  });

  it('reports rows that are not objects against the row itself', () => {
    const report = validateDataset([...flights20k, 'garbage', 42], flightsExpectations);

    expect(violation(report, 'rowSchema')).toMatchObject({
      count: 2,
      examples: [
        { row: 20_000, value: 'garbage' },
        { row: 20_001, value: 42 },
      ],
    });
  });
});

describe('summarizeViolations', () => {
  it('gives one line per violation with examples, suitable as an error cause', () => {
    const data = rows()
      .filter((row) => row.origin !== 'DFW')
      .map((row) => ({ ...row, distance: Math.round((row.distance as number) * 1.609) }));
    const report = validateDataset(data, flightsExpectations);

    const lines = summarizeViolations(report).split('\n');

    expect(lines[0]).toBe(
      `flights: ${report.violations.length} expectations failed on ${data.length.toLocaleString('en-US')} rows`,
    );
    expect(lines).toContain(
      '- vanishedCategories (origin): 1 category with at least 1.0% of reference rows vanished: DFW (5.5% of reference rows); e.g. {"category":"DFW","referenceShare":0.05515}',
    );
    expect(lines.some((line) => line.startsWith('- mean (distance): mean is'))).toBe(true);
    expect(lines.some((line) => line.startsWith('- quantile (distance): median is'))).toBe(true);
  });

  it('stays short when there are very many violations', () => {
    const violations = Array.from({ length: 500 }, (_, i) => ({
      expectation: 'range' as const,
      column: `c${i}`,
      message: 'x'.repeat(100),
      count: 1,
      examples: [],
    }));
    const summary = summarizeViolations({ dataset: 'd', passed: false, rows: 1, validRows: 1, violations });

    expect(summary.length).toBeLessThanOrEqual(4_100);
    expect(summary).toMatch(/\n… and \d+ more$/);
  });
});

describe('assertDatasetValid', () => {
  it('throws DataValidationFailed carrying the summary and the violations', () => {
    const report = validateDataset(flights20k.slice(0, 10), flightsExpectations);

    expect(() => assertDatasetValid(report)).toThrow(DataValidationFailed);
    try {
      assertDatasetValid(report);
    } catch (error) {
      expect(error).toMatchObject({
        name: 'DataValidationFailed',
        message: summarizeViolations(report),
        details: { violations: report.violations },
      });
    }
  });

  it('does nothing when the report passed', () => {
    expect(() => assertDatasetValid(validateDataset(flights20k, flightsExpectations))).not.toThrow();
  });
});
