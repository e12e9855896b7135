import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidRequest } from '../../../../../functions/lib/errors.ts';
import { flights } from '../../../../../functions/lib/features/flights.ts';
import {
  DEFAULT_GBDT_PARAMS,
  fitGradientBoostedTrees,
  type GbdtModel,
  isLeaf,
  predictGbdtProbabilities,
} from '../../../../../functions/lib/training/gbdt.ts';
import {
  fitLogisticRegression,
  predictProbabilities,
} from '../../../../../functions/lib/training/logistic-regression.ts';
import { rocAuc } from '../../../../../functions/lib/training/metrics.ts';
import { splitTrainTest } from '../../../../../functions/lib/training/split.ts';
import { loadFlights } from '../../../../support/flights-dataset.ts';
import { seededRandom } from './seeded-random.ts';

/** Two uniform features in [−1, 1]; the label is 1 when exactly one is positive (XOR). */
function xorData(n: number, seed: number) {
  const uniform = seededRandom(seed);
  const x = new Float32Array(n * 2);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x[2 * i] = 2 * uniform() - 1;
    x[2 * i + 1] = 2 * uniform() - 1;
    y[i] = (x[2 * i] ?? 0) > 0 !== (x[2 * i + 1] ?? 0) > 0 ? 1 : 0;
  }
  return { x, y };
}

/** `nFeatures` uniform features and labels that are coin flips: anything learned is overfitting. */
function noiseData(n: number, nFeatures: number, seed: number) {
  const uniform = seededRandom(seed);
  const x = Float32Array.from({ length: n * nFeatures }, uniform);
  const y = Uint8Array.from({ length: n }, () => (uniform() < 0.3 ? 1 : 0));
  return { x, y };
}

/** Rows of the row-major `x` at `indices`. */
function rowsAt(x: Float32Array, width: number, indices: Uint32Array): Float32Array {
  const out = new Float32Array(indices.length * width);
  indices.forEach((i, k) => {
    out.set(x.subarray(i * width, (i + 1) * width), k * width);
  });
  return out;
}

describe('fitGradientBoostedTrees', () => {
  it('learns an XOR interaction that logistic regression cannot', () => {
    const train = xorData(2000, 1);
    const test = xorData(1000, 2);

    const gbdt = fitGradientBoostedTrees(train.x, train.y, 2, { nTrees: 50, maxDepth: 2 });
    const logistic = fitLogisticRegression(train.x, train.y, 2);

    expect(rocAuc(predictGbdtProbabilities(gbdt, test.x, 2), test.y)).toBeGreaterThan(0.97);
    expect(rocAuc(predictProbabilities(logistic, test.x, 2), test.y)).toBeLessThan(0.6);
  });

  it('starts from the log-odds of the training positive rate', () => {
    const { x, y } = noiseData(500, 3, 3);
    const positives = y.reduce((sum, label) => sum + label, 0);
    const model = fitGradientBoostedTrees(x, y, 3, { nTrees: 1 });
    expect(model.baseScore).toBeCloseTo(Math.log(positives / (500 - positives)), 12);
  });

  it('sends x <= threshold to the left child, with the threshold a training value', () => {
    const x = Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
    const y = Uint8Array.from([0, 0, 0, 0, 1, 1, 1, 1]);
    const model = fitGradientBoostedTrees(x, y, 1, { nTrees: 1, maxDepth: 1, minSamplesLeaf: 1, lambda: 0 });
    const root = model.trees[0]?.[0];
    expect(root && !isLeaf(root) ? root.threshold : undefined).toBe(Math.fround(0.4));
    const [atThreshold, justAbove] = predictGbdtProbabilities(
      model,
      Float32Array.from([0.4, Math.fround(0.4) + 1e-7]),
      1,
    );
    expect(atThreshold).toBeLessThan(0.5);
    expect(justAbove).toBeGreaterThan(0.5);
  });

  it('is deterministic: the same inputs and seed give the same trees, even when subsampling', () => {
    const { x, y } = xorData(1000, 4);
    const params = { nTrees: 20, subsample: 0.7, seed: 7 };
    const first = fitGradientBoostedTrees(x, y, 2, params);
    expect(fitGradientBoostedTrees(x, y, 2, params)).toEqual(first);
    expect(fitGradientBoostedTrees(x, y, 2, { ...params, seed: 8 }).trees).not.toEqual(first.trees);
  });

  it('keeps only the trees up to the best validation log loss once it starts rising', () => {
    const train = noiseData(1000, 5, 5);
    const validation = noiseData(1000, 5, 6);
    const params = { nTrees: 100, maxDepth: 6, minSamplesLeaf: 1, learningRate: 0.3, earlyStoppingRounds: 5 };

    const stopped = fitGradientBoostedTrees(train.x, train.y, 5, params, validation);
    const full = fitGradientBoostedTrees(train.x, train.y, 5, params);

    expect(full.treeCount).toBe(100);
    expect(stopped.treeCount).toBeLessThan(10);
    expect(stopped.trees).toHaveLength(stopped.treeCount);
    expect(stopped.trees).toEqual(full.trees.slice(0, stopped.treeCount));
    const losses = stopped.validationLogLoss;
    expect(losses).toHaveLength(stopped.treeCount + 6);
    expect(Math.min(...losses)).toBe(losses[stopped.treeCount]);
    expect(losses.at(-1)).toBeGreaterThan(losses[stopped.treeCount] ?? Number.NaN);
  });

  it('records the params actually used, defaults included', () => {
    const { x, y } = xorData(200, 8);
    const model = fitGradientBoostedTrees(x, y, 2, { nTrees: 3 });
    expect(model.params).toEqual({ ...DEFAULT_GBDT_PARAMS, nTrees: 3 });
    expect(model.treeCount).toBe(3);
  });

  it('fails on an unknown or out-of-range param, naming it', () => {
    const { x, y } = xorData(50, 9);
    expect(() => fitGradientBoostedTrees(x, y, 2, { nTree: 3 } as never)).toThrow(InvalidRequest);
    expect(() => fitGradientBoostedTrees(x, y, 2, { maxBins: 300 })).toThrow(
      /maxBins must be an integer in 2…256/,
    );
    expect(() => fitGradientBoostedTrees(x, y, 2, { learningRate: 0 })).toThrow(/learningRate must be/);
  });

  it('fails when the training rows hold one class only', () => {
    expect(() => fitGradientBoostedTrees(new Float32Array(4), new Uint8Array(4), 1)).toThrow(/both classes/);
  });

  it('fails on non-finite features', () => {
    const x = Float32Array.from([1, Number.NaN]);
    expect(() => fitGradientBoostedTrees(x, Uint8Array.from([0, 1]), 1)).toThrow(
      /x\[row 1, feature 0\] is NaN/,
    );
  });
});

describe('fitGradientBoostedTrees on flights-20k', () => {
  // The split and features of trainClassifier; early stopping validates on a slice of the train side.
  const { instances, labels } = loadFlights();
  const split = splitTrainTest(instances.length, { seed: 0 });
  const trainRows = Array.from(split.train, (i) => instances[i] as (typeof instances)[number]);
  const encoding = flights.fit(trainRows);
  const width = flights.featureNames(encoding).length;
  const xTrain = flights.encode(trainRows, encoding);
  const yTrain = Uint8Array.from(split.train, (i) => labels[i] ?? 0);
  const xTest = flights.encode(
    Array.from(split.test, (i) => instances[i] as (typeof instances)[number]),
    encoding,
  );
  const yTest = Uint8Array.from(split.test, (i) => labels[i] ?? 0);
  let gbdt: GbdtModel;

  beforeAll(() => {
    const inner = splitTrainTest(yTrain.length, { seed: 1, testFraction: 0.15 });
    gbdt = fitGradientBoostedTrees(
      rowsAt(xTrain, width, inner.train),
      Uint8Array.from(inner.train, (i) => yTrain[i] ?? 0),
      width,
      {},
      { x: rowsAt(xTrain, width, inner.test), y: Uint8Array.from(inner.test, (i) => yTrain[i] ?? 0) },
    );
  });

  it('ranks held-out flights better than logistic regression does', () => {
    const gbdtAuc = rocAuc(predictGbdtProbabilities(gbdt, xTest, width), yTest);
    const logisticAuc = rocAuc(
      predictProbabilities(fitLogisticRegression(xTrain, yTrain, width), xTest, width),
      yTest,
    );
    console.info(
      `held-out AUC: gbdt ${gbdtAuc.toFixed(4)} (${gbdt.treeCount} trees), logistic ${logisticAuc.toFixed(4)}`,
    );
    expect(logisticAuc).toBeGreaterThan(0.64);
    expect(gbdtAuc).toBeGreaterThan(logisticAuc + 0.005);
  });
});
