import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { flights } from '../../../../../functions/lib/features/flights.ts';
import {
  exportLogisticRegression,
  ONNX_GRAPH_NAMES,
} from '../../../../../functions/lib/onnx/export-logistic-regression.ts';
import {
  fitLogisticRegression,
  type LogisticRegressionModel,
  predictProbabilities,
} from '../../../../../functions/lib/training/logistic-regression.ts';
import { loadFlights } from '../../../../support/flights-dataset.ts';

const { onnx } = onnxProto;

/** Run an exported model on `rows` × `width` features; returns onnxruntime's outputs as arrays. */
async function runOnnx(bytes: Uint8Array, features: Float32Array, width: number) {
  const session = await ort.InferenceSession.create(bytes);
  const rows = features.length / width;
  const out = await session.run({ features: new ort.Tensor('float32', features, [rows, width]) });
  return {
    session,
    labels: Array.from(out.label?.data as BigInt64Array, Number),
    probabilities: out.probabilities?.data as Float32Array,
    dims: out.probabilities?.dims,
  };
}

describe('exportLogisticRegression', () => {
  // A model fitted on real flights: 16k rows to fit, 4k different rows to compare on.
  const { instances, labels } = loadFlights();
  const encoding = flights.fit(instances.slice(0, 16_000));
  const featureNames = flights.featureNames(encoding);
  const width = featureNames.length;
  let model: LogisticRegressionModel;
  let bytes: Uint8Array;
  let holdout: Float32Array;

  beforeAll(() => {
    model = fitLogisticRegression(
      flights.encode(instances.slice(0, 16_000), encoding),
      labels.slice(0, 16_000),
      width,
    );
    bytes = exportLogisticRegression(model, { featureNames, metadata: { 'mlops.featureSet': 'flights-v1' } });
    holdout = flights.encode(instances.slice(16_000), encoding);
  });

  it('serves in onnxruntime with the same probabilities as the trainer, to 1e-5', async () => {
    const expected = predictProbabilities(model, holdout, width);
    const { probabilities, dims } = await runOnnx(bytes, holdout, width);
    expect(dims).toEqual([4000, 2]);
    let worst = 0;
    expected.forEach((p, i) => {
      worst = Math.max(worst, Math.abs((probabilities[2 * i + 1] ?? Number.NaN) - p));
    });
    expect(worst).toBeLessThan(1e-5);
  });

  it('puts P(negative) in column 0 and labels 1 exactly when P(positive) > 0.5', async () => {
    const { probabilities, labels: predicted } = await runOnnx(bytes, holdout, width);
    const positive = Array.from({ length: 4000 }, (_, i) => probabilities[2 * i + 1] ?? Number.NaN);
    const sums = positive.map((p, i) => (probabilities[2 * i] ?? 0) + p);
    expect(Math.max(...sums.map((sum) => Math.abs(sum - 1)))).toBeLessThan(1e-6);
    expect(predicted).toEqual(positive.map((p) => (p > 0.5 ? 1 : 0)));
    expect(predicted.some((label) => label === 1)).toBe(true);
  });

  it('scores a single instance with an airport it has never seen', async () => {
    const unseen = flights.encode(
      [{ date: '2001/02/14 18:30', distance: 500, origin: 'ZZZ', destination: 'LAX' }],
      encoding,
    );
    const { probabilities } = await runOnnx(bytes, unseen, width);
    expect(probabilities[1]).toBeCloseTo(predictProbabilities(model, unseen, width)[0] ?? Number.NaN, 5);
  });

  it('follows the graph contract serving depends on', async () => {
    const { session } = await runOnnx(bytes, holdout.subarray(0, width), width);
    expect(session.inputNames).toEqual([ONNX_GRAPH_NAMES.input]);
    expect([...session.outputNames].sort()).toEqual([ONNX_GRAPH_NAMES.label, ONNX_GRAPH_NAMES.probabilities]);

    const proto = onnx.ModelProto.decode(bytes);
    const [input] = proto.graph?.input ?? [];
    expect(input?.type?.tensorType?.elemType).toBe(onnx.TensorProto.DataType.FLOAT);
    expect(input?.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue))).toEqual([
      'N',
      width,
    ]);
    const outputs = Object.fromEntries(
      (proto.graph?.output ?? []).map((o) => [o.name, o.type?.tensorType?.elemType]),
    );
    expect(outputs).toEqual({
      label: onnx.TensorProto.DataType.INT64,
      probabilities: onnx.TensorProto.DataType.FLOAT,
    });
    expect(proto.opsetImport.map((o) => o.domain).sort()).toEqual(['', 'ai.onnx.ml']);
  });

  it('writes identical bytes for the same model', () => {
    expect(
      exportLogisticRegression(model, { featureNames, metadata: { 'mlops.featureSet': 'flights-v1' } }),
    ).toEqual(bytes);
  });

  it('fails when the feature names do not match the model width', () => {
    expect(() => exportLogisticRegression(model, { featureNames: featureNames.slice(1) })).toThrow(
      /model.mean has \d+ values but there are \d+ feature names/,
    );
  });

  it('fails on a model with non-finite weights rather than export one that scores NaN', () => {
    const broken = { ...model, weights: model.weights.map((w, j) => (j === 0 ? Number.NaN : w)) };
    expect(() => exportLogisticRegression(broken, { featureNames })).toThrow(/weights holds non-finite/);
  });
});
