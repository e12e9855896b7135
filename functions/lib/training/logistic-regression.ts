// L2-regularised logistic regression in pure TypeScript: standardise, then minimise with L-BFGS.
import { InvalidRequest } from '../errors.ts';
import { minimiseLbfgs } from './lbfgs.ts';
import { sigmoid } from './sigmoid.ts';

/** Hyperparameters of `fitLogisticRegression`. All numbers, so they travel as `Record<string, number>`. */
export interface LogisticRegressionParams {
  /**
   * L2 penalty on the standardised weights, per training row: the fit minimises
   * mean log loss + l2/2 · ‖w‖². The intercept is not penalised.
   * @default 1e-3
   */
  readonly l2: number;
  /** @default 1000 */
  readonly maxIterations: number;
  /** Converged when no gradient component (standardised scale) exceeds this. @default 1e-7 */
  readonly tolerance: number;
}

/** Defaults applied to any parameter a caller leaves out. */
export const DEFAULT_LOGISTIC_REGRESSION_PARAMS: LogisticRegressionParams = Object.freeze({
  l2: 1e-3,
  maxIterations: 1000,
  tolerance: 1e-7,
});

/**
 * A fitted model as plain data. Standardisation is part of the model:
 * P(positive | x) = σ(intercept + Σⱼ weights[j] · (x[j] − mean[j]) / scale[j]).
 */
export interface LogisticRegressionModel {
  /** Training mean of each feature. */
  readonly mean: readonly number[];
  /** Training standard deviation of each feature; 1 for constant features, whose weight is 0. */
  readonly scale: readonly number[];
  /** Weight of each standardised feature. */
  readonly weights: readonly number[];
  readonly intercept: number;
  /** L-BFGS iterations used. */
  readonly iterations: number;
  /** Whether the gradient tolerance was reached (false: stopped at maxIterations or by precision). */
  readonly converged: boolean;
}

/**
 * Merge `params` over the defaults, rejecting unknown names and out-of-range values, since
 * they come from training requests and a silently ignored typo would train a different model.
 */
export function resolveLogisticRegressionParams(
  params: Readonly<Partial<LogisticRegressionParams>> = {},
): LogisticRegressionParams {
  const known = Object.keys(DEFAULT_LOGISTIC_REGRESSION_PARAMS);
  const unknown = Object.keys(params).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new InvalidRequest(
      `unknown logistic regression params ${unknown.join(', ')}; known: ${known.join(', ')}`,
    );
  }
  const given = Object.fromEntries(Object.entries(params).filter(([, value]) => value !== undefined));
  const { l2, maxIterations, tolerance } = { ...DEFAULT_LOGISTIC_REGRESSION_PARAMS, ...given };
  if (!(Number.isFinite(l2) && l2 >= 0)) {
    throw new InvalidRequest(`l2 must be a finite number ≥ 0, got ${l2}`);
  }
  if (!(Number.isInteger(maxIterations) && maxIterations > 0)) {
    throw new InvalidRequest(`maxIterations must be a positive integer, got ${maxIterations}`);
  }
  if (!(Number.isFinite(tolerance) && tolerance > 0)) {
    throw new InvalidRequest(`tolerance must be a finite number > 0, got ${tolerance}`);
  }
  return { l2, maxIterations, tolerance };
}

/** Number of rows in a row-major `x`, failing when the shapes disagree or a value is not finite. */
function rowCount(x: Float32Array, nFeatures: number): number {
  if (!(Number.isInteger(nFeatures) && nFeatures > 0)) {
    throw new RangeError(`nFeatures must be ≥ 1, got ${nFeatures}`);
  }
  if (x.length % nFeatures !== 0) {
    throw new RangeError(`x has ${x.length} values, not a multiple of nFeatures = ${nFeatures}`);
  }
  const bad = x.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new RangeError(`x[row ${Math.floor(bad / nFeatures)}, feature ${bad % nFeatures}] is ${x[bad]}`);
  }
  return x.length / nFeatures;
}

/** Column means and standard deviations; constant columns get scale 1 and are left out of the fit. */
function standardisation(x: Float32Array, n: number, p: number) {
  const mean = new Float64Array(p);
  const scale = new Float64Array(p).fill(1);
  const varying = new Uint8Array(p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) mean[j] = (mean[j] ?? 0) + (x[i * p + j] ?? 0);
  for (let j = 0; j < p; j++) mean[j] = (mean[j] ?? 0) / n;
  const sumSquares = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) {
      const v = x[i * p + j] ?? 0;
      if (v !== x[j]) varying[j] = 1;
      const d = v - (mean[j] ?? 0);
      sumSquares[j] = (sumSquares[j] ?? 0) + d * d;
    }
  }
  for (let j = 0; j < p; j++) {
    // Checked exactly (value differs from row 0) rather than std > ε, so constant means constant.
    if (varying[j]) scale[j] = Math.sqrt((sumSquares[j] ?? 0) / n);
    else mean[j] = x[j] ?? 0;
  }
  return { mean, scale, varying };
}

/** Non-zero entries by row (CSR): one-hot features are mostly zero, so the fit touches only these. */
function sparseRows(x: Float32Array, n: number, p: number) {
  const rowStart = new Uint32Array(n + 1);
  const columns: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) {
      const v = x[i * p + j] ?? 0;
      if (v !== 0) {
        columns.push(j);
        values.push(v);
      }
    }
    rowStart[i + 1] = columns.length;
  }
  return { rowStart, columns: Uint32Array.from(columns), values: Float64Array.from(values) };
}

/** log(1 + eᶻ) without overflow. */
const softplus = (z: number) => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));

/**
 * Fit P(y = 1 | x) by L2-regularised maximum likelihood. `x` is row-major, `y` holds 0/1 labels.
 * Features are standardised with training statistics so one `l2` suits all feature scales; the
 * result is deterministic for the same inputs.
 */
export function fitLogisticRegression(
  x: Float32Array,
  y: Uint8Array,
  nFeatures: number,
  params: Partial<LogisticRegressionParams> = {},
): LogisticRegressionModel {
  const { l2, maxIterations, tolerance } = resolveLogisticRegressionParams(params);
  const n = rowCount(x, nFeatures);
  const p = nFeatures;
  if (y.length !== n) throw new RangeError(`x has ${n} rows but y has ${y.length} labels`);
  if (n === 0) throw new RangeError('cannot fit on 0 rows');
  const badLabel = y.findIndex((v) => v > 1);
  if (badLabel >= 0) throw new RangeError(`y[${badLabel}] is ${y[badLabel]}; labels must be 0 or 1`);

  const { mean, scale, varying } = standardisation(x, n, p);
  const { rowStart, columns, values } = sparseRows(x, n, p);
  // θ = [w₀ … w_{p−1}, b] on the standardised scale. Rows are scored as c + Σ vⱼ·xᵢⱼ with
  // vⱼ = wⱼ/sⱼ and c = b − Σ vⱼ·mⱼ: the same value, but only non-zero xᵢⱼ are visited.
  const v = new Float64Array(p);
  const sumResidualX = new Float64Array(p);
  const objective = (theta: Float64Array, gradient: Float64Array): number => {
    let c = theta[p] ?? 0;
    for (let j = 0; j < p; j++) {
      v[j] = varying[j] ? (theta[j] ?? 0) / (scale[j] ?? 1) : 0;
      c -= (v[j] ?? 0) * (mean[j] ?? 0);
    }
    sumResidualX.fill(0);
    let loss = 0;
    let sumResidual = 0;
    for (let i = 0; i < n; i++) {
      let z = c;
      const end = rowStart[i + 1] ?? 0;
      for (let k = rowStart[i] ?? 0; k < end; k++) z += (v[columns[k] ?? 0] ?? 0) * (values[k] ?? 0);
      const label = y[i] ?? 0;
      loss += softplus(z) - label * z;
      const residual = sigmoid(z) - label;
      sumResidual += residual;
      for (let k = rowStart[i] ?? 0; k < end; k++) {
        const j = columns[k] ?? 0;
        sumResidualX[j] = (sumResidualX[j] ?? 0) + residual * (values[k] ?? 0);
      }
    }
    let penalty = 0;
    for (let j = 0; j < p; j++) {
      const w = theta[j] ?? 0;
      penalty += w * w;
      gradient[j] = varying[j]
        ? ((sumResidualX[j] ?? 0) / n - ((mean[j] ?? 0) * sumResidual) / n) / (scale[j] ?? 1) + l2 * w
        : 0;
    }
    gradient[p] = sumResidual / n;
    return loss / n + (l2 / 2) * penalty;
  };

  const fit = minimiseLbfgs(objective, new Float64Array(p + 1), { maxIterations, tolerance });
  return {
    mean: Array.from(mean),
    scale: Array.from(scale),
    weights: Array.from(fit.solution.subarray(0, p)),
    intercept: fit.solution[p] ?? 0,
    iterations: fit.iterations,
    converged: fit.converged,
  };
}

/** P(positive) for each row of the row-major `x`, computed as the model's formula says (float64). */
export function predictProbabilities(
  model: LogisticRegressionModel,
  x: Float32Array,
  nFeatures: number,
): Float64Array {
  if (model.weights.length !== nFeatures) {
    throw new RangeError(`model has ${model.weights.length} features, x has ${nFeatures}`);
  }
  if (x.length % nFeatures !== 0) {
    throw new RangeError(`x has ${x.length} values, not a multiple of nFeatures = ${nFeatures}`);
  }
  const n = x.length / nFeatures;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let z = model.intercept;
    for (let j = 0; j < nFeatures; j++) {
      z +=
        ((model.weights[j] ?? 0) * ((x[i * nFeatures + j] ?? 0) - (model.mean[j] ?? 0))) /
        (model.scale[j] ?? 1);
    }
    out[i] = sigmoid(z);
  }
  return out;
}
