// ValidateData, the training pipeline's data gate, on the real flights-20k data and on the three
// ways real datasets break unnoticed: a column turned to nulls, a unit change, and categories
// that vanished or appeared. Each must stop the run with a report that says what broke.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidRequest } from '../../../../functions/lib/errors.ts';
import { ValidationResult } from '../../../../functions/lib/runs/step-results.ts';
import type { ValidationReport } from '../../../../functions/lib/validation/expectations.ts';
import { DataValidationFailed } from '../../../../functions/lib/validation/validate-dataset.ts';
import { preprocess } from '../../../../functions/preprocess/core.ts';
import { validateData } from '../../../../functions/validate-data/core.ts';
import {
  datasetFile,
  flightsFile,
  flightsRawRows,
  keysWrittenBy,
  type RawFlightRow,
  snapshot,
  startRun,
} from '../../../support/training-run.ts';

const reportKey = (runId: string) => `runs/${runId}/validate/report.json`;

function readReport(run: ReturnType<typeof startRun>): ValidationReport & { datasetSha256: string } {
  const body = run.artifacts.objects.get(reportKey(run.state.runId))?.body;
  if (!body) throw new Error('no report written');
  return JSON.parse(Buffer.from(body).toString('utf8'));
}

describe('validateData on flights-20k', () => {
  it('passes the dataset, writes its report under runs/{runId}/validate/ and returns the validation result', async () => {
    // Prepare
    const run = startRun({ runId: 'valid' });

    // Act
    let result: ValidationResult | undefined;
    const written = await keysWrittenBy(run.artifacts, async () => {
      result = await validateData(run.state, run.ports);
    });

    // Assess
    expect(written).toEqual([reportKey('valid')]);
    expect(result).toEqual(ValidationResult.parse(result));
    expect(result).toEqual({
      datasetSha256: createHash('sha256').update(flightsFile()).digest('hex'),
      rows: 20_000,
      validRows: 20_000,
      output: `s3://artifacts/${reportKey('valid')}`,
      settings: { trainer: 'logreg', params: {}, seed: 0 },
    });
    expect(readReport(run)).toMatchObject({
      datasetUri: run.state.datasetUri,
      datasetSha256: result?.datasetSha256,
      passed: true,
      rows: 20_000,
      violations: [],
    });
  });

  it('hands the state machine the run settings with defaults applied', async () => {
    // Prepare
    const run = startRun({ runId: 'settings', trainer: 'gbdt', params: { nTrees: 50 }, seed: 7 });

    // Act
    const result = await validateData(run.state, run.ports);

    // Assess
    expect(result.settings).toEqual({ trainer: 'gbdt', params: { nTrees: 50 }, seed: 7 });
  });

  it("hands on a container run's container with its defaults, which the SageMaker task reads", async () => {
    // Prepare: the input names the image only.
    const image = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/trainer:1';
    const run = startRun({ runId: 'container', trainer: 'container', container: { image } });

    // Act
    const result = await validateData(run.state, run.ports);

    // Assess
    expect(result.settings).toEqual({
      trainer: 'container',
      params: {},
      seed: 0,
      container: { image, instanceType: 'ml.m5.xlarge', maxRuntimeSeconds: 3600 },
    });
  });

  it('writes a byte-identical report when it runs again', async () => {
    // Prepare
    const run = startRun({ runId: 'again' });
    await validateData(run.state, run.ports);
    const first = snapshot(run.artifacts, 'runs/again/');

    // Act
    await validateData(run.state, run.ports);

    // Assess
    expect(snapshot(run.artifacts, 'runs/again/')).toEqual(first);
  });
});

/** flights-20k altered into a dataset that must not be trained on. */
const brokenDatasets: Array<{
  what: string;
  alter: (rows: RawFlightRow[]) => RawFlightRow[];
  expectation: string;
  column: string;
  message: RegExp;
  count: number;
  examples: unknown[];
}> = [
  {
    what: 'a column that silently turned to nulls (distance null on 30% of rows)',
    alter: (rows) => rows.map((row, i) => (i % 10 < 3 ? { ...row, distance: null } : row)),
    expectation: 'maxNullRate',
    column: 'distance',
    message:
      /maxNullRate \(distance\): 30\.0% of values are null or missing \(6,000 rows\), at most 0\.0% allowed/,
    count: 6000,
    examples: [
      { row: 0, value: null },
      { row: 1, value: null },
      { row: 2, value: null },
      { row: 10, value: null },
      { row: 11, value: null },
    ],
  },
  {
    what: 'a unit change (distance in km: miles × 1.609)',
    alter: (rows) => rows.map((row) => ({ ...row, distance: Math.round((row.distance ?? 0) * 1.609) })),
    expectation: 'mean',
    column: 'distance',
    message:
      /mean \(distance\): mean is 1,16\d\.\d+, expected within \[600, 860\] \(a unit or scale change\?\)/,
    count: 20_000,
    examples: [],
  },
  {
    what: 'a category that vanished (every DFW departure dropped)',
    alter: (rows) => rows.filter((row) => row.origin !== 'DFW'),
    expectation: 'vanishedCategories',
    column: 'origin',
    message:
      /vanishedCategories \(origin\): 1 category with at least 1\.0% of reference rows vanished: DFW \(5\.5% of reference rows\)/,
    count: 1,
    examples: [{ category: 'DFW', referenceShare: expect.closeTo(0.055, 3) }],
  },
  {
    what: 'a category that appeared (5% of origins renamed to an unseen code)',
    alter: (rows) => rows.map((row, i) => (i % 20 === 0 ? { ...row, origin: 'QQQ' } : row)),
    expectation: 'unseenCategories',
    column: 'origin',
    message:
      /unseenCategories \(origin\): 5\.0% of rows \(1,000\) hold 1 categories never seen in reference data \(most common: QQQ\), at most 2\.0% allowed/,
    count: 1000,
    examples: [{ category: 'QQQ', count: 1000, share: 0.05 }],
  },
];

describe('the data gate', () => {
  it.each(brokenDatasets)('fails the run on $what, naming the column and the expectation', async (broken) => {
    // Prepare
    const runId = `broken-${broken.expectation}`;
    const run = startRun({ runId }, { dataset: datasetFile(broken.alter(flightsRawRows())) });

    // Act
    const outcome = validateData(run.state, run.ports);

    // Assess: the error names what broke and where the report is.
    await expect(outcome).rejects.toBeInstanceOf(DataValidationFailed);
    const error = (await outcome.catch((e: unknown) => e)) as DataValidationFailed;
    expect(error.name).toBe('DataValidationFailed');
    expect(error.message).toMatch(broken.message);
    expect(error.message).toMatch(new RegExp(`full report: s3://artifacts/${reportKey(runId)}$`));
    // The report has the counts and examples.
    const report = readReport(run);
    expect(report.passed).toBe(false);
    expect(report.violations).toContainEqual({
      expectation: broken.expectation,
      column: broken.column,
      message: expect.any(String),
      count: broken.count,
      examples: broken.examples,
    });
    // The run goes no further: nothing but the report was written, and Preprocess has no validation result.
    expect(run.artifacts.keys(`runs/${runId}/`)).toEqual([reportKey(runId)]);
    await expect(preprocess(run.state, run.ports)).rejects.toThrow(/no valid validation result/);
  });

  it('reports the mean, the median and the out-of-range share of a unit change together', async () => {
    // Prepare
    const km = brokenDatasets[1]?.alter(flightsRawRows()) ?? [];
    const run = startRun({ runId: 'km' }, { dataset: datasetFile(km) });

    // Act
    await expect(validateData(run.state, run.ports)).rejects.toBeInstanceOf(DataValidationFailed);

    // Assess
    expect(readReport(run).violations.map((v) => [v.expectation, v.column])).toEqual([
      ['range', 'distance'],
      ['mean', 'distance'],
      ['quantile', 'distance'],
    ]);
  });
});

describe('run settings checked before any data is read', () => {
  it.each([
    [
      'an unknown feature set',
      { featureSet: 'flights-v9' },
      /unknown feature set "flights-v9" \(known: flights-v1\)/,
    ],
    [
      'an unknown trainer param',
      { params: { learningRate: 0.1 } },
      /unknown logistic regression params learningRate/,
    ],
    [
      'a trainer param out of range',
      { trainer: 'gbdt' as const, params: { maxDepth: 40 } },
      /maxDepth must be an integer in 1…16, got 40/,
    ],
    [
      'an unknown subgroup column',
      { subgroupColumn: 'carrier' },
      /unknown subgroup column "carrier" \(known: origin_region, distance_band, day_part\)/,
    ],
    [
      'the container trainer without a container',
      { trainer: 'container' as const },
      /trainer "container" needs container.image/,
    ],
  ])('fails with InvalidRequest on %s', async (_, settings, message) => {
    // Prepare
    const run = startRun({ runId: 'bad-settings', ...settings });
    let reads = 0;
    const ports = {
      ...run.ports,
      readObject: (uri: string) => {
        reads++;
        return run.ports.readObject(uri);
      },
    };

    // Act
    const outcome = validateData(run.state, ports);

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(InvalidRequest);
    await expect(outcome).rejects.toThrow(message);
    expect(reads).toBe(0);
    expect(run.artifacts.writes).toEqual([]);
  });
});
