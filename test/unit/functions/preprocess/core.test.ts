// Preprocess on flights-20k after a real ValidateData: the split, the train-side encoding and
// profile under runs/{runId}/preprocess/, the same bytes on a re-run, and no training on a
// dataset that changed after it passed the gate.
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConflictError } from '../../../../functions/lib/errors.ts';
import { type FittedEncoding, type LabelledRow, runFiles } from '../../../../functions/lib/runs/run-files.ts';
import { PreprocessResult } from '../../../../functions/lib/runs/step-results.ts';
import { parseDataset } from '../../../../functions/lib/training/dataset-file.ts';
import { preprocess } from '../../../../functions/preprocess/core.ts';
import {
  datasetFile,
  flightsRawRows,
  keysWrittenBy,
  runThrough,
  snapshot,
  startRun,
  type TestRun,
} from '../../../support/training-run.ts';

const files = runFiles('pre');

let run: TestRun;
let result: PreprocessResult;
let written: string[];

const text = (key: string) => Buffer.from(run.artifacts.objects.get(key)?.body ?? []).toString('utf8');

beforeAll(async () => {
  run = startRun({ runId: 'pre' });
  await runThrough(run, 'validate');
  written = await keysWrittenBy(run.artifacts, async () => {
    result = await preprocess(run.state, run.ports);
  });
});

describe('preprocess', () => {
  it('writes the split, the encoding and the profile under runs/{runId}/preprocess/', () => {
    expect([...written].sort()).toEqual(
      [files.encoding, files.inputProfile, files.testRows, files.trainRows].sort(),
    );
    for (const key of written) expect(key.startsWith('runs/pre/preprocess/'), key).toBe(true);
    expect(result).toEqual(PreprocessResult.parse(result));
    expect(result).toEqual({
      trainRows: expect.any(Number),
      testRows: expect.any(Number),
      rejectedRows: 0,
      output: 's3://artifacts/runs/pre/preprocess/',
    });
  });

  it('splits every labelled flight into train and test, about 80/20', () => {
    // Act
    const train = parseDataset(
      run.artifacts.objects.get(files.trainRows)?.body ?? new Uint8Array(),
    ) as LabelledRow[];
    const test = parseDataset(
      run.artifacts.objects.get(files.testRows)?.body ?? new Uint8Array(),
    ) as LabelledRow[];

    // Assess
    expect(train).toHaveLength(result.trainRows);
    expect(test).toHaveLength(result.testRows);
    expect(result.trainRows + result.testRows).toBe(20_000);
    expect(result.testRows / 20_000).toBeCloseTo(0.2, 1);
    expect(train[0]).toEqual({
      instance: {
        date: expect.any(String),
        distance: expect.any(Number),
        origin: expect.any(String),
        destination: expect.any(String),
      },
      label: expect.toBeOneOf([0, 1]),
    });
    // No label column leaks into the instances.
    expect(text(files.trainRows)).not.toContain('"delay"');
  });

  it('fits the encoding on the train side and profiles the fields drift is checked on', () => {
    // Act
    const encoding = JSON.parse(text(files.encoding)) as FittedEncoding;
    const profile = JSON.parse(text(files.inputProfile)) as {
      rows: number;
      fields: Record<string, { kind: string }>;
    };

    // Assess
    expect(encoding.featureSet).toBe('flights-v1');
    expect(encoding.featureNames.length).toBeGreaterThan(10);
    expect(profile.rows).toBe(result.trainRows);
    expect(Object.keys(profile.fields)).toEqual([
      'departure_hour',
      'destination',
      'distance',
      'origin',
      'weekday',
    ]);
  });

  it('writes byte-identical files when it runs again', async () => {
    // Prepare
    const first = snapshot(run.artifacts, 'runs/pre/preprocess/');

    // Act
    const again = await preprocess(run.state, run.ports);

    // Assess
    expect(again).toEqual(result);
    expect(snapshot(run.artifacts, 'runs/pre/preprocess/')).toEqual(first);
  });

  it('counts rows it cannot label or encode as rejected', async () => {
    // Prepare: rows that pass nothing, in a dataset whose sha256 the state vouches for.
    const rows = [...flightsRawRows(), 'not a row', { ...flightsRawRows()[0], delay: 'late' }];
    const other = startRun({ runId: 'rejects' }, { dataset: datasetFile(rows) });
    other.state = {
      ...other.state,
      validation: {
        ...(run.state.validation as object),
        datasetSha256: createHash('sha256').update(datasetFile(rows)).digest('hex'),
      },
    };

    // Act
    const outcome = await preprocess(other.state, other.ports);

    // Assess
    expect(outcome.rejectedRows).toBe(2);
    expect(outcome.trainRows + outcome.testRows).toBe(20_000);
  });

  it('fails with ConflictError, writing nothing, when the dataset changed after validation', async () => {
    // Prepare: the same URI now holds other bytes (one flight fewer).
    const changed = startRun({ runId: 'changed' });
    await runThrough(changed, 'validate');
    changed.data.objects.set('datasets/flights/flights-20k.json', {
      body: datasetFile(flightsRawRows().slice(1)),
      contentType: 'application/json',
    });

    // Act
    const outcome = preprocess(changed.state, changed.ports);

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(ConflictError);
    await expect(outcome).rejects.toThrow(/changed after validation .*start a new run/);
    expect(changed.artifacts.keys('runs/changed/preprocess/')).toEqual([]);
  });

  it('refuses to run without a validation result', async () => {
    // Prepare
    const unvalidated = startRun({ runId: 'unvalidated' });

    // Act, Assess
    await expect(preprocess(unvalidated.state, unvalidated.ports)).rejects.toThrow(
      /no valid validation result/,
    );
  });
});
