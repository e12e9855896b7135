// BuildTestSet on the real flights-20k test split: the held-out rows encoded with the train-side
// encoding, labelled and tagged by subgroup, under runs/{runId}/build-test-set/.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestSet, type TestSetFile } from '../../../../functions/build-test-set/core.ts';
import { airportRegion } from '../../../../functions/lib/features/airport-regions.ts';
import { type FittedEncoding, type LabelledRow, runFiles } from '../../../../functions/lib/runs/run-files.ts';
import { type PreprocessResult, TestSetResult } from '../../../../functions/lib/runs/step-results.ts';
import { parseDataset } from '../../../../functions/lib/training/dataset-file.ts';
import {
  keysWrittenBy,
  runThrough,
  snapshot,
  startRun,
  type TestRun,
} from '../../../support/training-run.ts';

let run: TestRun;
let preprocessed: PreprocessResult;
let result: TestSetResult;
let written: string[];

const bytesAt = (key: string) => run.artifacts.objects.get(key)?.body ?? new Uint8Array();
const jsonAt = <T>(key: string) => JSON.parse(Buffer.from(bytesAt(key)).toString('utf8')) as T;

beforeAll(async () => {
  run = startRun({ runId: 'test-set' });
  preprocessed = (await runThrough(run, 'preprocess')).preprocess as PreprocessResult;
  written = await keysWrittenBy(run.artifacts, async () => {
    result = await buildTestSet(run.state, run.ports);
  });
});

describe('buildTestSet', () => {
  it('writes the test set and its features under runs/{runId}/build-test-set/ and returns its result', () => {
    expect([...written].sort()).toEqual([
      'runs/test-set/build-test-set/features.f32',
      'runs/test-set/build-test-set/test-set.json',
    ]);
    expect(result).toEqual(TestSetResult.parse(result));
    expect(result).toEqual({
      rows: preprocessed.testRows,
      subgroupColumn: 'origin_region',
      output: 's3://artifacts/runs/test-set/build-test-set/test-set.json',
    });
  });

  it('holds every test row: its label, its origin region and its encoded features', () => {
    // Prepare
    const testRows = parseDataset(bytesAt(runFiles('test-set').testRows)) as LabelledRow[];
    const { featureNames } = jsonAt<FittedEncoding>(runFiles('test-set').encoding);

    // Act
    const testSet = jsonAt<TestSetFile>('runs/test-set/build-test-set/test-set.json');
    const features = bytesAt(testSet.featuresKey);

    // Assess
    expect(testSet).toMatchObject({
      featureNames,
      rows: testRows.length,
      subgroupColumn: 'origin_region',
      featuresKey: 'runs/test-set/build-test-set/features.f32',
    });
    expect(testSet.labels).toEqual(testRows.map((r) => r.label));
    expect(testSet.subgroups).toEqual(
      testRows.map((r) => airportRegion((r.instance as { origin: string }).origin)),
    );
    expect(new Set(testSet.subgroups)).toEqual(new Set(['midwest', 'northeast', 'other', 'south', 'west']));
    expect(features.byteLength).toBe(testRows.length * featureNames.length * 4);
  });

  it('tags rows by the subgroup column the run names', async () => {
    // Prepare
    const banded = { ...run.state, subgroupColumn: 'distance_band' };

    // Act
    const byBand = await buildTestSet(banded, run.ports);

    // Assess
    expect(byBand.subgroupColumn).toBe('distance_band');
    const testSet = jsonAt<TestSetFile>('runs/test-set/build-test-set/test-set.json');
    expect(new Set(testSet.subgroups)).toEqual(
      new Set(['short (<500 mi)', 'medium (500-1500 mi)', 'long (1500+ mi)']),
    );
    await buildTestSet(run.state, run.ports); // back to the run's own test set for the other tests
  });

  it('writes byte-identical files when it runs again', async () => {
    // Prepare
    const first = snapshot(run.artifacts, 'runs/test-set/build-test-set/');

    // Act
    const again = await buildTestSet(run.state, run.ports);

    // Assess
    expect(again).toEqual(result);
    expect(snapshot(run.artifacts, 'runs/test-set/build-test-set/')).toEqual(first);
  });
});
