// TrainModel on the real flights-20k split Preprocess wrote: a self-describing ONNX artifact and
// a training summary under runs/{runId}/train/, the same bytes when a retry trains again.
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidRequest } from '../../../../functions/lib/errors.ts';
import { MODEL_METADATA_KEYS, readModelMetadata } from '../../../../functions/lib/onnx/model-metadata.ts';
import { type FittedEncoding, runFiles } from '../../../../functions/lib/runs/run-files.ts';
import { type PreprocessResult, TrainResult } from '../../../../functions/lib/runs/step-results.ts';
import { trainModel } from '../../../../functions/train/core.ts';
import {
  keysWrittenBy,
  runThrough,
  snapshot,
  startRun,
  type TestRun,
} from '../../../support/training-run.ts';

let run: TestRun;
let preprocessed: PreprocessResult;
let result: TrainResult;
let written: string[];

const bytesAt = (r: TestRun, key: string) => r.artifacts.objects.get(key)?.body ?? new Uint8Array();
const jsonAt = <T>(r: TestRun, key: string) => JSON.parse(Buffer.from(bytesAt(r, key)).toString('utf8')) as T;

beforeAll(async () => {
  run = startRun({ runId: 'trained' });
  preprocessed = (await runThrough(run, 'preprocess')).preprocess as PreprocessResult;
  written = await keysWrittenBy(run.artifacts, async () => {
    result = await trainModel(run.state, run.ports);
  });
});

describe('trainModel', () => {
  it('writes model.onnx and training.json under runs/{runId}/train/ and returns the train result', () => {
    expect([...written].sort()).toEqual([
      'runs/trained/train/model.onnx',
      'runs/trained/train/training.json',
    ]);
    expect(result).toEqual(TrainResult.parse(result));
    expect(result).toEqual({
      modelUri: 's3://artifacts/runs/trained/train/model.onnx',
      modelSha256: createHash('sha256').update(bytesAt(run, 'runs/trained/train/model.onnx')).digest('hex'),
      trainer: 'logreg',
      params: {
        l2: expect.any(Number),
        maxIterations: expect.any(Number),
        tolerance: expect.any(Number),
        splitSeed: 0,
      },
      output: 's3://artifacts/runs/trained/train/model.onnx',
    });
  });

  it('makes the artifact describe its feature set, encoding, inputs, threshold and model', () => {
    // Prepare
    const fitted = jsonAt<FittedEncoding>(run, runFiles('trained').encoding);

    // Act
    const metadata = readModelMetadata(bytesAt(run, 'runs/trained/train/model.onnx'));

    // Assess
    expect(metadata).toEqual({
      [MODEL_METADATA_KEYS.featureSet]: 'flights-v1',
      [MODEL_METADATA_KEYS.encoding]: JSON.stringify(fitted.encoding),
      [MODEL_METADATA_KEYS.featureNames]: JSON.stringify(fitted.featureNames),
      [MODEL_METADATA_KEYS.threshold]: '0.5',
      [MODEL_METADATA_KEYS.modelName]: 'flights',
    });
  });

  it('summarises the fit: trainer, params, rows, inputs and train-split metrics', () => {
    // Act
    const summary = jsonAt<Record<string, unknown>>(run, 'runs/trained/train/training.json');

    // Assess
    expect(summary).toMatchObject({
      trainer: 'logreg',
      params: result.params,
      rows: preprocessed.trainRows,
      featureNames: jsonAt<FittedEncoding>(run, runFiles('trained').encoding).featureNames,
      train: { rows: preprocessed.trainRows, auc: expect.any(Number) },
    });
    expect((summary.train as { auc: number }).auc).toBeGreaterThan(0.6);
  });

  it('writes byte-identical files when it trains again', async () => {
    // Prepare
    const first = snapshot(run.artifacts, 'runs/trained/train/');

    // Act
    const again = await trainModel(run.state, run.ports);

    // Assess
    expect(again).toEqual(result);
    expect(snapshot(run.artifacts, 'runs/trained/train/')).toEqual(first);
  });

  it('fits gradient-boosted trees just as deterministically, recording their params and seed', async () => {
    // Prepare: few trees keep the test fast; the fit and export are the same code at any size.
    const trees = startRun({ runId: 'trees', trainer: 'gbdt', params: { nTrees: 40 }, seed: 3 });
    await runThrough(trees, 'preprocess');
    const first = await trainModel(trees.state, trees.ports);
    const firstFiles = snapshot(trees.artifacts, 'runs/trees/train/');

    // Act
    const again = await trainModel(trees.state, trees.ports);

    // Assess
    expect(again).toEqual(first);
    expect(snapshot(trees.artifacts, 'runs/trees/train/')).toEqual(firstFiles);
    expect(first).toMatchObject({
      trainer: 'gbdt',
      params: { nTrees: 40, maxDepth: 4, seed: 0, splitSeed: 3 },
    });
    expect(first.modelSha256).not.toBe(result.modelSha256);
  });

  it('fails with InvalidRequest, writing nothing, for the container trainer (a SageMaker job trains it)', async () => {
    // Prepare
    const state = {
      ...run.state,
      trainer: 'container' as const,
      container: { image: 'x', instanceType: 'ml.m5.xlarge', maxRuntimeSeconds: 60 },
    };

    // Act
    const writes = await keysWrittenBy(run.artifacts, () =>
      expect(trainModel(state, run.ports)).rejects.toBeInstanceOf(InvalidRequest),
    );

    // Assess
    expect(writes).toEqual([]);
  });
});
