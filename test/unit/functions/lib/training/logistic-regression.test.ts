import { describe, expect, it } from 'vitest';
import { InvalidRequest } from '../../../../../functions/lib/errors.ts';
import {
  DEFAULT_LOGISTIC_REGRESSION_PARAMS,
  fitLogisticRegression,
  type LogisticRegressionModel,
  predictProbabilities,
  resolveLogisticRegressionParams,
} from '../../../../../functions/lib/training/logistic-regression.ts';
import { seededNormal, seededRandom } from './seeded-random.ts';

const TRUE_INTERCEPT = -1;
/** Raw-scale coefficients of three features with very different means and spreads. */
const TRUE_COEFFICIENTS = [1.5, -0.5, 0.2];

/** Rows drawn from a known logistic model: x₀ ~ N(0, 1), x₁ ~ N(5, 2²), x₂ ~ U(0, 10). */
function syntheticData(rows: number, seed: number) {
  const uniform = seededRandom(seed);
  const normal = seededNormal(uniform);
  const x = new Float32Array(rows * 3);
  const y = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    const features = [normal(), 5 + 2 * normal(), 10 * uniform()].map(Math.fround);
    x.set(features, i * 3);
    const z = features.reduce((sum, v, j) => sum + v * (TRUE_COEFFICIENTS[j] ?? 0), TRUE_INTERCEPT);
    y[i] = uniform() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { x, y };
}

/** The model's coefficients on the original feature scale. */
function rawCoefficients(model: LogisticRegressionModel) {
  const coefficients = model.weights.map((w, j) => w / (model.scale[j] ?? 1));
  const intercept = coefficients.reduce((b, c, j) => b - c * (model.mean[j] ?? 0), model.intercept);
  return { coefficients, intercept };
}

const norm = (weights: readonly number[]) => Math.hypot(...weights);

/** Append a column holding `value` in every row. */
function withConstantColumn(x: Float32Array, width: number, value: number): Float32Array {
  const rows = x.length / width;
  const out = new Float32Array(rows * (width + 1));
  for (let i = 0; i < rows; i++) {
    out.set(x.subarray(i * width, (i + 1) * width), i * (width + 1));
    out[i * (width + 1) + width] = value;
  }
  return out;
}

describe('fitLogisticRegression', () => {
  const { x, y } = syntheticData(20_000, 42);

  it('recovers the coefficients of the model that generated the data', () => {
    const model = fitLogisticRegression(x, y, 3, { l2: 0 });
    const fitted = rawCoefficients(model);
    expect(model.converged).toBe(true);
    // within ~4 standard errors at n = 20,000
    const errors = fitted.coefficients.map((c, j) => Math.abs(c - (TRUE_COEFFICIENTS[j] ?? 0)));
    expect(Math.max(...errors)).toBeLessThan(0.08);
    expect(Math.abs(fitted.intercept - TRUE_INTERCEPT)).toBeLessThan(0.1);
  });

  it('stops where the penalised gradient, computed independently here, vanishes', () => {
    const l2 = 0.01;
    const model = fitLogisticRegression(x, y, 3, { l2 });
    const p = predictProbabilities(model, x, 3);
    const gradient = [0, 0, 0, 0]; // three weights, then the intercept
    p.forEach((pi, i) => {
      const residual = pi - (y[i] ?? 0);
      for (let j = 0; j < 3; j++) {
        const standardised = ((x[i * 3 + j] ?? 0) - (model.mean[j] ?? 0)) / (model.scale[j] ?? 1);
        gradient[j] = (gradient[j] ?? 0) + residual * standardised;
      }
      gradient[3] = (gradient[3] ?? 0) + residual;
    });
    const penalised = gradient.map((g, j) => g / y.length + (j < 3 ? l2 * (model.weights[j] ?? 0) : 0));
    expect(Math.max(...penalised.map(Math.abs))).toBeLessThan(1e-6);
  });

  it('stores the training mean and standard deviation of each feature', () => {
    const model = fitLogisticRegression(x, y, 3);
    expect(model.mean[1]).toBeCloseTo(5, 1);
    expect(model.scale[1]).toBeCloseTo(2, 1);
    expect(model.mean[2]).toBeCloseTo(5, 1);
    expect(model.scale[2]).toBeCloseTo(10 / Math.sqrt(12), 1);
  });

  it('shrinks weights as the L2 penalty grows, leaving the intercept free', () => {
    const norms = [0, 0.01, 0.1, 1, 1000].map((l2) => norm(fitLogisticRegression(x, y, 3, { l2 }).weights));
    for (let k = 1; k < norms.length; k++) expect(norms[k]).toBeLessThan(norms[k - 1] ?? 0);
    const flat = fitLogisticRegression(x, y, 3, { l2: 1e6 });
    const positiveRate = y.reduce((sum, v) => sum + v, 0) / y.length;
    expect(norm(flat.weights)).toBeLessThan(1e-5);
    expect(1 / (1 + Math.exp(-flat.intercept))).toBeCloseTo(positiveRate, 5);
  });

  it.each([0, 3])('gives a constant column (all %s) weight 0 and scale 1 instead of NaN', (value) => {
    const withConstant = withConstantColumn(x, 3, value);
    const model = fitLogisticRegression(withConstant, y, 4);
    expect(model.weights[3]).toBe(0);
    expect(model.scale[3]).toBe(1);
    expect(model.mean[3]).toBe(value);
    const p = predictProbabilities(model, withConstant, 4);
    expect(p.every(Number.isFinite)).toBe(true);
    const without = predictProbabilities(fitLogisticRegression(x, y, 3), x, 3);
    expect(Math.max(...p.map((v, i) => Math.abs(v - (without[i] ?? 0))))).toBeLessThan(1e-9);
  });

  it('is deterministic', () => {
    expect(fitLogisticRegression(x, y, 3)).toEqual(fitLogisticRegression(x, y, 3));
  });

  it('reports not converged when stopped by maxIterations', () => {
    const model = fitLogisticRegression(x, y, 3, { maxIterations: 2 });
    expect(model).toMatchObject({ iterations: 2, converged: false });
  });

  it('fails when x and y disagree on the number of rows', () => {
    expect(() => fitLogisticRegression(x, y.subarray(1), 3)).toThrow(/20000 rows but y has 19999/);
    expect(() => fitLogisticRegression(x.subarray(1), y, 3)).toThrow(RangeError);
  });

  it('fails on labels other than 0 and 1, and on non-finite features, locating them', () => {
    expect(() => fitLogisticRegression(new Float32Array([1, 2]), Uint8Array.from([0, 2]), 1)).toThrow(
      /y\[1\] is 2/,
    );
    expect(() =>
      fitLogisticRegression(new Float32Array([1, 2, Number.NaN, 4]), Uint8Array.from([0, 1]), 2),
    ).toThrow(/row 1, feature 0/);
  });
});

describe('resolveLogisticRegressionParams', () => {
  it('fills in defaults', () => {
    expect(resolveLogisticRegressionParams({ l2: 0.5 })).toEqual({
      ...DEFAULT_LOGISTIC_REGRESSION_PARAMS,
      l2: 0.5,
    });
    expect(resolveLogisticRegressionParams({ l2: undefined })).toEqual(DEFAULT_LOGISTIC_REGRESSION_PARAMS);
  });

  it('fails on unknown names, so a typo does not silently train with defaults', () => {
    const typo = { lambda: 0.1 } as Partial<typeof DEFAULT_LOGISTIC_REGRESSION_PARAMS>;
    expect(() => resolveLogisticRegressionParams(typo)).toThrow(InvalidRequest);
    expect(() => resolveLogisticRegressionParams(typo)).toThrow(/lambda/);
  });

  it.each([{ l2: -1 }, { l2: Number.NaN }, { maxIterations: 0 }, { maxIterations: 2.5 }, { tolerance: 0 }])(
    'fails on %o',
    (params) => {
      expect(() => resolveLogisticRegressionParams(params)).toThrow(InvalidRequest);
    },
  );
});

describe('predictProbabilities', () => {
  const model: LogisticRegressionModel = {
    mean: [1, 0],
    scale: [2, 1],
    weights: [2, -1],
    intercept: 0.5,
    iterations: 0,
    converged: true,
  };

  it('applies σ(intercept + Σ w·(x − mean)/scale)', () => {
    const p = predictProbabilities(model, new Float32Array([3, 1, 1, 0]), 2);
    expect(p[0]).toBeCloseTo(1 / (1 + Math.exp(-(0.5 + 2 - 1))), 12);
    expect(p[1]).toBeCloseTo(1 / (1 + Math.exp(-0.5)), 12);
  });

  it('stays finite for extreme scores', () => {
    const p = predictProbabilities(model, new Float32Array([1e30, 0, -1e30, 0]), 2);
    expect(Array.from(p)).toEqual([1, 0]);
  });

  it('fails when x has a different width than the model', () => {
    expect(() => predictProbabilities(model, new Float32Array(6), 3)).toThrow(
      /model has 2 features, x has 3/,
    );
  });
});
