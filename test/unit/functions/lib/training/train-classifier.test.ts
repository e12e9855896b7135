import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidRequest } from '../../../../../functions/lib/errors.ts';
import type { FeatureSet } from '../../../../../functions/lib/features/feature-set.ts';
import {
  type FlightEncoding,
  type FlightInstance,
  flights,
} from '../../../../../functions/lib/features/flights.ts';
import { MODEL_METADATA_KEYS, readModelMetadata } from '../../../../../functions/lib/onnx/model-metadata.ts';
import { DEFAULT_LOGISTIC_REGRESSION_PARAMS } from '../../../../../functions/lib/training/logistic-regression.ts';
import { splitTrainTest } from '../../../../../functions/lib/training/split.ts';
import { type TrainResult, trainClassifier } from '../../../../../functions/lib/training/train-classifier.ts';
import { loadFlights } from '../../../../support/flights-dataset.ts';

/** Log loss of always predicting the positive rate `p`: what any useful model must beat. */
const constantModelLogLoss = (p: number) => -(p * Math.log(p) + (1 - p) * Math.log(1 - p));

describe('trainClassifier on flights-20k', () => {
  const { instances, labels } = loadFlights();
  let result: TrainResult;
  let rowsSeenByFit = 0;
  /** flights-v1, recording how many rows its encoding was fitted on. */
  const observedFlights: FeatureSet<FlightInstance, FlightEncoding> = {
    ...flights,
    fit(rows) {
      rowsSeenByFit = rows.length;
      return flights.fit(rows);
    },
  };

  beforeAll(() => {
    result = trainClassifier({
      rows: instances,
      labels,
      featureSet: observedFlights,
      modelName: 'flight-delay',
    });
  });

  it('ranks held-out flights better than chance (test AUC > 0.6)', () => {
    expect(result.metrics.test.auc).toBeGreaterThan(0.6);
    expect(result.metrics.test.logLoss).toBeLessThan(constantModelLogLoss(result.metrics.train.positiveRate));
  });

  it('holds out about a fifth of the rows and reports metrics for both sides', () => {
    expect(result.metrics.train.rows + result.metrics.test.rows).toBe(20_000);
    expect(result.metrics.test.rows).toBe(splitTrainTest(20_000).test.length);
    expect(result.metrics.test.positiveRate).toBeGreaterThan(0.15);
  });

  it('fits the feature encoding on the train split only', () => {
    expect(rowsSeenByFit).toBe(result.metrics.train.rows);
  });

  it('describes the result: feature set, encoding, names and the params used', () => {
    expect(result.featureSet).toBe('flights-v1');
    expect(result.featureNames).toEqual(flights.featureNames(result.encoding as FlightEncoding));
    expect(result.params).toEqual(DEFAULT_LOGISTIC_REGRESSION_PARAMS);
  });

  it('writes an artifact that describes itself in its metadata', () => {
    expect(readModelMetadata(result.modelBytes)).toEqual({
      [MODEL_METADATA_KEYS.featureSet]: 'flights-v1',
      [MODEL_METADATA_KEYS.encoding]: JSON.stringify(result.encoding),
      [MODEL_METADATA_KEYS.featureNames]: JSON.stringify(result.featureNames),
      [MODEL_METADATA_KEYS.threshold]: '0.5',
      [MODEL_METADATA_KEYS.modelName]: 'flight-delay',
    });
  });

  it('is deterministic: the same seed gives identical bytes, another seed a different model', () => {
    const again = trainClassifier({
      rows: instances,
      labels,
      featureSet: flights,
      modelName: 'flight-delay',
    });
    expect(again.modelBytes).toEqual(result.modelBytes);
    const reseeded = trainClassifier({
      rows: instances,
      labels,
      featureSet: flights,
      modelName: 'flight-delay',
      seed: 1,
    });
    expect(reseeded.modelBytes).not.toEqual(result.modelBytes);
  });

  it('applies the params it is given', () => {
    const strong = trainClassifier({
      rows: instances.slice(0, 2000),
      labels: labels.slice(0, 2000),
      featureSet: flights,
      modelName: 'm',
      params: { l2: 10 },
    });
    expect(strong.params).toMatchObject({ l2: 10 });
  });

  it('fails with InvalidRequest when the training rows have a single class', () => {
    const allOnTime = new Uint8Array(instances.length);
    expect(() =>
      trainClassifier({ rows: instances, labels: allOnTime, featureSet: flights, modelName: 'm' }),
    ).toThrow(InvalidRequest);
  });

  it('fails when rows and labels disagree in length', () => {
    expect(() =>
      trainClassifier({ rows: instances, labels: labels.subarray(1), featureSet: flights, modelName: 'm' }),
    ).toThrow(/20000 rows but 19999 labels/);
  });
});

describe('trainClassifier with gradient-boosted trees', () => {
  const { instances, labels } = loadFlights();
  const train = (seed = 0) =>
    trainClassifier({
      rows: instances,
      labels,
      featureSet: flights,
      modelName: 'm',
      trainer: 'gbdt',
      params: { nTrees: 120 },
      seed,
    });

  it('beats logistic regression on held-out AUC with the same split and features', () => {
    const trees = train();
    const linear = trainClassifier({ rows: instances, labels, featureSet: flights, modelName: 'm' });
    expect(trees.trainer).toBe('gbdt');
    expect(trees.metrics.test.auc).toBeGreaterThan(linear.metrics.test.auc);
  });

  it('writes an artifact onnxruntime loads and scores', async () => {
    const ort = await import('onnxruntime-node');
    const trees = train();
    const rows = instances.slice(0, 200);
    const encoding = JSON.parse(
      readModelMetadata(trees.modelBytes)[MODEL_METADATA_KEYS.encoding] ?? 'null',
    ) as FlightEncoding;
    const width = trees.featureNames.length;
    const session = await ort.InferenceSession.create(trees.modelBytes);
    const out = await session.run({
      features: new ort.Tensor('float32', flights.encode(rows, encoding), [rows.length, width]),
    });
    const probabilities = out.probabilities?.data as Float32Array;
    for (let i = 0; i < rows.length; i++) expect(probabilities[2 * i + 1]).toBeGreaterThan(0);
    expect(Array.from(probabilities).every(Number.isFinite)).toBe(true);
  });

  it('refuses parameters of the other trainer', () => {
    expect(() =>
      trainClassifier({
        rows: instances,
        labels,
        featureSet: flights,
        modelName: 'm',
        trainer: 'gbdt',
        params: { l2: 1 },
      }),
    ).toThrow(InvalidRequest);
  });
});
