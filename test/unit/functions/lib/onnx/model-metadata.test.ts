import { describe, expect, it } from 'vitest';
import { exportLogisticRegression } from '../../../../../functions/lib/onnx/export-logistic-regression.ts';
import { MODEL_METADATA_KEYS, readModelMetadata } from '../../../../../functions/lib/onnx/model-metadata.ts';
import type { LogisticRegressionModel } from '../../../../../functions/lib/training/logistic-regression.ts';

const model: LogisticRegressionModel = {
  mean: [0.5, 6.2],
  scale: [0.5, 0.8],
  weights: [0.3, -0.1],
  intercept: -1.2,
  iterations: 12,
  converged: true,
};
const featureNames = ['weekday=mon', 'log_distance'];

describe('readModelMetadata', () => {
  it('returns the metadata an artifact was exported with', () => {
    const metadata = {
      [MODEL_METADATA_KEYS.featureSet]: 'flights-v1',
      [MODEL_METADATA_KEYS.encoding]: JSON.stringify({ origins: ['ATL'], destinations: ['LAX'] }),
      [MODEL_METADATA_KEYS.featureNames]: JSON.stringify(featureNames),
      [MODEL_METADATA_KEYS.threshold]: '0.5',
      'note.unicode': 'Zürich → 東京',
    };
    expect(readModelMetadata(exportLogisticRegression(model, { featureNames, metadata }))).toEqual(metadata);
  });

  it('returns an empty object for an artifact without metadata', () => {
    expect(readModelMetadata(exportLogisticRegression(model, { featureNames }))).toEqual({});
  });

  it('fails on bytes that are not an ONNX model', () => {
    expect(() => readModelMetadata(new TextEncoder().encode('{"not":"onnx"}'))).toThrow();
    expect(() => readModelMetadata(new Uint8Array())).toThrow(/not an ONNX model/);
  });
});
