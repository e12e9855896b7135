import { describe, expect, it } from 'vitest';
import { ModelUnavailable } from '../../../../../functions/lib/errors.ts';
import { exportLogisticRegression } from '../../../../../functions/lib/onnx/export-logistic-regression.ts';
import type { ModelVersion } from '../../../../../functions/lib/registry/model-version.ts';
import { createOnnxModelLoader } from '../../../../../functions/lib/serving/onnx-model-loader.ts';
import { sha256Hex } from '../../../../support/trained-model.ts';

const model = { mean: [0], scale: [1], weights: [2], intercept: -1, iterations: 1, converged: true };

function artifact(metadata: Record<string, string>): { bytes: Uint8Array; version: ModelVersion } {
  const bytes = exportLogisticRegression(model, { featureNames: ['x'], metadata });
  return {
    bytes,
    version: {
      model: 'm',
      version: 1,
      artifactUri: 's3://a/m.onnx',
      artifactSha256: sha256Hex(bytes),
      featureSet: 'flights-v1',
    } as ModelVersion,
  };
}

describe('createOnnxModelLoader', () => {
  it('answers ModelUnavailable when the artifact cannot be fetched', async () => {
    const { version } = artifact({});
    const load = createOnnxModelLoader(async () => {
      throw new Error('NoSuchKey');
    });
    await expect(load(version)).rejects.toThrow(ModelUnavailable);
  });

  it('answers ModelUnavailable when the bytes do not match the registered sha256', async () => {
    const { bytes, version } = artifact({ 'mlops.featureSet': 'flights-v1' });
    const load = createOnnxModelLoader(async () => bytes);
    await expect(load({ ...version, artifactSha256: '0'.repeat(64) })).rejects.toThrow(
      /does not match its registered sha256/,
    );
  });

  it('answers ModelUnavailable for bytes that are not an ONNX model', async () => {
    const bytes = new TextEncoder().encode('not a model at all');
    const load = createOnnxModelLoader(async () => bytes);
    await expect(load({ ...artifact({}).version, artifactSha256: sha256Hex(bytes) })).rejects.toThrow(
      ModelUnavailable,
    );
  });

  it('answers ModelUnavailable for an artifact whose encoding metadata is unusable', async () => {
    const { bytes, version } = artifact({
      'mlops.featureSet': 'flights-v1',
      'mlops.encoding': '{"origins": 5',
    });
    await expect(createOnnxModelLoader(async () => bytes)(version)).rejects.toThrow(
      /unusable flights-v1 encoding/,
    );
  });

  it('answers ModelUnavailable for an unknown feature set', async () => {
    const { bytes, version } = artifact({ 'mlops.featureSet': 'no-such-set' });
    await expect(
      createOnnxModelLoader(async () => bytes)({ ...version, featureSet: 'no-such-set' }),
    ).rejects.toThrow(/unknown to this build/);
  });
});
