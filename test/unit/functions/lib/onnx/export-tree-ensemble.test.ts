import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { flights } from '../../../../../functions/lib/features/flights.ts';
import { ONNX_GRAPH_NAMES } from '../../../../../functions/lib/onnx/export-logistic-regression.ts';
import { exportGradientBoostedTrees } from '../../../../../functions/lib/onnx/export-tree-ensemble.ts';
import {
  fitGradientBoostedTrees,
  type GbdtModel,
  predictGbdtProbabilities,
} from '../../../../../functions/lib/training/gbdt.ts';
import { splitTrainTest } from '../../../../../functions/lib/training/split.ts';
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

describe('exportGradientBoostedTrees', () => {
  // A model fitted on the train side of trainClassifier's split of real flights; compared on the test side.
  const { instances, labels } = loadFlights();
  const split = splitTrainTest(instances.length, { seed: 0 });
  const trainRows = Array.from(split.train, (i) => instances[i] as (typeof instances)[number]);
  const encoding = flights.fit(trainRows);
  const featureNames = flights.featureNames(encoding);
  const width = featureNames.length;
  let model: GbdtModel;
  let bytes: Uint8Array;
  let holdout: Float32Array;

  beforeAll(() => {
    const y = Uint8Array.from(split.train, (i) => labels[i] ?? 0);
    model = fitGradientBoostedTrees(flights.encode(trainRows, encoding), y, width, {
      nTrees: 60,
      maxDepth: 5,
    });
    bytes = exportGradientBoostedTrees(model, {
      featureNames,
      metadata: { 'mlops.featureSet': 'flights-v1' },
    });
    holdout = flights.encode(
      Array.from(split.test, (i) => instances[i] as (typeof instances)[number]),
      encoding,
    );
  });

  it('serves in onnxruntime with the same probabilities as the trainer, to 1e-5', async () => {
    const expected = predictGbdtProbabilities(model, holdout, width);
    const { probabilities, dims } = await runOnnx(bytes, holdout, width);
    expect(dims).toEqual([split.test.length, 2]);
    let worst = 0;
    expected.forEach((p, i) => {
      worst = Math.max(worst, Math.abs((probabilities[2 * i + 1] ?? Number.NaN) - p));
    });
    expect(worst).toBeLessThan(1e-5);
  });

  it('agrees with the trainer on rows sitting exactly on a split threshold', async () => {
    const rows = new Float32Array(holdout.subarray(0, 50 * width));
    // Move each row's value of the root's split feature onto the threshold, then just past it.
    const root = model.trees[0]?.[0];
    if (!root || !('feature' in root)) throw new Error('expected the first tree to split at its root');
    for (let i = 0; i < 50; i++) {
      rows[i * width + root.feature] = i % 2 === 0 ? root.threshold : Math.fround(root.threshold + 1e-6);
    }
    const expected = predictGbdtProbabilities(model, rows, width);
    const { probabilities } = await runOnnx(bytes, rows, width);
    expected.forEach((p, i) => {
      expect(probabilities[2 * i + 1]).toBeCloseTo(p, 5);
    });
  });

  it('puts P(negative) in column 0 and labels 1 exactly when P(positive) > 0.5', async () => {
    const { probabilities, labels: predicted } = await runOnnx(bytes, holdout, width);
    const n = split.test.length;
    const positive = Array.from({ length: n }, (_, i) => probabilities[2 * i + 1] ?? Number.NaN);
    const sums = positive.map((p, i) => (probabilities[2 * i] ?? 0) + p);
    expect(Math.max(...sums.map((sum) => Math.abs(sum - 1)))).toBeLessThan(1e-6);
    expect(predicted).toEqual(positive.map((p) => (p > 0.5 ? 1 : 0)));
    expect(predicted.some((label) => label === 1)).toBe(true);
  });

  it('labels 1 exactly when P(positive) > 0.5 even when no leaf weight is negative', async () => {
    // onnxruntime's binary classifier thresholds the raw score at 0.5 when all weights are ≥ 0.
    const positive: GbdtModel = {
      ...model,
      nFeatures: 1,
      baseScore: 0.2,
      trees: [[{ feature: 0, threshold: 0.5, left: 1, right: 2 }, { value: 0.3 }, { value: 0.1 }]],
      treeCount: 1,
    };
    const x = Float32Array.from([0, 1]);
    const { probabilities, labels: predicted } = await runOnnx(
      exportGradientBoostedTrees(positive, { featureNames: ['a'] }),
      x,
      1,
    );
    const expected = predictGbdtProbabilities(positive, x, 1);
    expect(probabilities[1]).toBeCloseTo(expected[0] ?? Number.NaN, 6);
    expect(probabilities[3]).toBeCloseTo(expected[1] ?? Number.NaN, 6);
    expect(predicted).toEqual([1, 1]);
  });

  it('serves a model early stopping cut to zero trees as the base rate', async () => {
    const empty: GbdtModel = { ...model, trees: [], treeCount: 0 };
    const { probabilities } = await runOnnx(
      exportGradientBoostedTrees(empty, { featureNames }),
      holdout.subarray(0, width),
      width,
    );
    expect(probabilities[1]).toBeCloseTo(1 / (1 + Math.exp(-model.baseScore)), 6);
  });

  it('labels by P(positive) > 0.5 when zero trees are kept and the base rate is above one half', async () => {
    const empty: GbdtModel = { ...model, baseScore: 0.2, trees: [], treeCount: 0 };
    const { labels: predicted } = await runOnnx(
      exportGradientBoostedTrees(empty, { featureNames }),
      holdout.subarray(0, width),
      width,
    );
    expect(predicted).toEqual([1]);
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
    expect(proto.metadataProps.map((p) => [p.key, p.value])).toEqual([['mlops.featureSet', 'flights-v1']]);
  });

  it('writes identical bytes for the same model', () => {
    expect(
      exportGradientBoostedTrees(model, { featureNames, metadata: { 'mlops.featureSet': 'flights-v1' } }),
    ).toEqual(bytes);
  });

  it('fails when the feature names do not match the model width', () => {
    expect(() => exportGradientBoostedTrees(model, { featureNames: featureNames.slice(1) })).toThrow(
      /model has \d+ features but there are \d+ feature names/,
    );
  });

  it('fails on a threshold float32 cannot hold rather than export a model that splits differently', () => {
    const broken: GbdtModel = {
      ...model,
      trees: [[{ feature: 0, threshold: 0.1, left: 1, right: 2 }, { value: 0 }, { value: 1 }]],
    };
    expect(() => exportGradientBoostedTrees(broken, { featureNames })).toThrow(
      /tree 0 node 0 has threshold 0.1, not a finite float32/,
    );
  });

  it('fails on a non-finite leaf value rather than export one that scores NaN', () => {
    const broken: GbdtModel = { ...model, trees: [[{ value: Number.NaN }]] };
    expect(() => exportGradientBoostedTrees(broken, { featureNames })).toThrow(
      /tree 0 node 0 has leaf value NaN/,
    );
  });
});
