// Gradient-boosted decision trees for binary classification in pure TypeScript: logistic loss,
// histogram splits over quantile bins, Newton leaf values, optional early stopping.
import { InvalidRequest } from '../errors.ts';
import { seededRandom } from '../random.ts';
import { binRows, MAX_BINS } from './gbdt-binning.ts';
import { type GbdtTree, growTree, treeValue } from './gbdt-tree.ts';
import { logLoss } from './metrics.ts';
import { sigmoid } from './sigmoid.ts';

export type { GbdtLeaf, GbdtNode, GbdtSplit, GbdtTree } from './gbdt-tree.ts';
export { isLeaf } from './gbdt-tree.ts';

/** Hyperparameters of `fitGradientBoostedTrees`. All numbers, so they travel as `Record<string, number>`. */
export interface GbdtParams {
  /** Most trees to grow (fewer are kept when early stopping ends the fit). @default 300 */
  readonly nTrees: number;
  /** Shrinkage η applied to every leaf value. @default 0.1 */
  readonly learningRate: number;
  /** Splits from root to leaf; depth d allows interactions of d features. @default 4 */
  readonly maxDepth: number;
  /** L2 penalty on leaf values: a leaf is −η · G/(H + λ). @default 1 */
  readonly lambda: number;
  /** Least hessian sum (≈ rows · p(1 − p)) a child may have. @default 1 */
  readonly minChildWeight: number;
  /** Least training rows a child may have. @default 20 */
  readonly minSamplesLeaf: number;
  /** Least loss reduction (γ) for a split to be made. @default 0 */
  readonly minSplitGain: number;
  /** Most bins per feature (2…256); the bin edges are computed once, from the training rows. @default 64 */
  readonly maxBins: number;
  /** Share of rows drawn (without replacement, per tree) to grow each tree; 1 uses all. @default 1 */
  readonly subsample: number;
  /** Seed of the row subsampling. @default 0 */
  readonly seed: number;
  /**
   * With a validation set: stop when its log loss has not improved for this many trees, and keep
   * the trees up to its best round. 0 disables early stopping. @default 20
   */
  readonly earlyStoppingRounds: number;
}

/** Defaults applied to any parameter a caller leaves out. */
export const DEFAULT_GBDT_PARAMS: GbdtParams = Object.freeze({
  nTrees: 300,
  learningRate: 0.1,
  maxDepth: 4,
  lambda: 1,
  minChildWeight: 1,
  minSamplesLeaf: 20,
  minSplitGain: 0,
  maxBins: 64,
  subsample: 1,
  seed: 0,
  earlyStoppingRounds: 20,
});

/**
 * A fitted ensemble as plain data (JSON-serialisable):
 * P(positive | x) = σ(baseScore + Σ over trees of the leaf value x reaches).
 */
export interface GbdtModel {
  /** Width of the input rows. */
  readonly nFeatures: number;
  /** Log-odds of the training positive rate: the score before any tree. */
  readonly baseScore: number;
  readonly trees: readonly GbdtTree[];
  /** Number of trees kept (`trees.length`); below `params.nTrees` when early stopping cut the fit. */
  readonly treeCount: number;
  /** Parameters actually used, defaults included. */
  readonly params: GbdtParams;
  /** Validation log loss before any tree and after each grown tree; empty without a validation set. */
  readonly validationLogLoss: readonly number[];
}

const isInteger = (v: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  Number.isInteger(v) && v >= min && v <= max;
const isAtLeast = (v: number, min: number) => Number.isFinite(v) && v >= min;

/** Each param's check and the message naming its range. */
const CHECKS: Record<keyof GbdtParams, [(v: number) => boolean, string]> = {
  nTrees: [(v) => isInteger(v, 1), 'a positive integer'],
  learningRate: [(v) => isAtLeast(v, 0) && v > 0 && v <= 1, 'a number in (0, 1]'],
  maxDepth: [(v) => isInteger(v, 1, 16), 'an integer in 1…16'],
  lambda: [(v) => isAtLeast(v, 0), 'a finite number ≥ 0'],
  minChildWeight: [(v) => isAtLeast(v, 0), 'a finite number ≥ 0'],
  minSamplesLeaf: [(v) => isInteger(v, 1), 'a positive integer'],
  minSplitGain: [(v) => isAtLeast(v, 0), 'a finite number ≥ 0'],
  maxBins: [(v) => isInteger(v, 2, MAX_BINS), `an integer in 2…${MAX_BINS}`],
  subsample: [(v) => isAtLeast(v, 0) && v > 0 && v <= 1, 'a number in (0, 1]'],
  seed: [(v) => isInteger(v, 0, 2 ** 32 - 1), 'an integer in 0…2³²−1'],
  earlyStoppingRounds: [(v) => isInteger(v, 0), 'an integer ≥ 0'],
};

/**
 * Merge `params` over the defaults, rejecting unknown names and out-of-range values, since
 * they come from training requests and a silently ignored typo would train a different model.
 */
export function resolveGbdtParams(params: Readonly<Partial<GbdtParams>> = {}): GbdtParams {
  const known = Object.keys(DEFAULT_GBDT_PARAMS);
  const unknown = Object.keys(params).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new InvalidRequest(`unknown gbdt params ${unknown.join(', ')}; known: ${known.join(', ')}`);
  }
  const given = Object.fromEntries(Object.entries(params).filter(([, value]) => value !== undefined));
  const resolved: GbdtParams = { ...DEFAULT_GBDT_PARAMS, ...given };
  for (const [name, [ok, range]] of Object.entries(CHECKS)) {
    const value = resolved[name as keyof GbdtParams];
    if (!ok(value)) throw new InvalidRequest(`${name} must be ${range}, got ${value}`);
  }
  return resolved;
}

/** Rows of `x` and `y`, failing when the shapes disagree or a value is not finite or not 0/1. */
function checkRows(x: Float32Array, y: Uint8Array, nFeatures: number, what: string): number {
  if (!(Number.isInteger(nFeatures) && nFeatures > 0)) {
    throw new RangeError(`nFeatures must be ≥ 1, got ${nFeatures}`);
  }
  if (x.length % nFeatures !== 0) {
    throw new RangeError(`${what} x has ${x.length} values, not a multiple of nFeatures = ${nFeatures}`);
  }
  const n = x.length / nFeatures;
  if (y.length !== n) throw new RangeError(`${what} x has ${n} rows but y has ${y.length} labels`);
  const bad = x.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new RangeError(
      `${what} x[row ${Math.floor(bad / nFeatures)}, feature ${bad % nFeatures}] is ${x[bad]}`,
    );
  }
  const badLabel = y.findIndex((v) => v > 1);
  if (badLabel >= 0) throw new RangeError(`${what} y[${badLabel}] is ${y[badLabel]}; labels must be 0 or 1`);
  return n;
}

/** `size` of the indices 0…n−1, drawn without replacement (partial Fisher–Yates), ascending. */
function sampleRows(n: number, size: number, uniform: () => number): Uint32Array {
  const all = Uint32Array.from({ length: n }, (_, i) => i);
  for (let k = 0; k < size; k++) {
    const pick = k + Math.floor(uniform() * (n - k));
    const chosen = all[pick] ?? 0;
    all[pick] = all[k] ?? 0;
    all[k] = chosen;
  }
  return all.slice(0, size).sort();
}

/**
 * Fit P(y = 1 | x) by gradient boosting on the logistic loss. `x` is row-major, `y` holds 0/1
 * labels. With `validation`, the fit stops once the validation log loss has not improved for
 * `earlyStoppingRounds` trees and keeps the best prefix. Deterministic for the same inputs.
 */
export function fitGradientBoostedTrees(
  x: Float32Array,
  y: Uint8Array,
  nFeatures: number,
  params: Partial<GbdtParams> = {},
  validation?: { readonly x: Float32Array; readonly y: Uint8Array },
): GbdtModel {
  const resolved = resolveGbdtParams(params);
  const n = checkRows(x, y, nFeatures, 'training');
  const positives = y.reduce((sum, label) => sum + label, 0);
  if (positives === 0 || positives === n) {
    throw new RangeError(`training rows hold ${positives} positives of ${n}; both classes are needed`);
  }
  const nValidation = validation ? checkRows(validation.x, validation.y, nFeatures, 'validation') : 0;

  const baseScore = Math.log(positives / (n - positives));
  const data = binRows(x, n, nFeatures, resolved.maxBins);
  const allRows = Uint32Array.from({ length: n }, (_, i) => i);
  const sampleSize = Math.max(1, Math.round(resolved.subsample * n));
  const uniform = seededRandom(resolved.seed);

  const score = new Float64Array(n).fill(baseScore);
  const gradient = new Float64Array(n);
  const hessian = new Float64Array(n);
  const validationScore = new Float64Array(nValidation).fill(baseScore);
  const validationLoss = (): number => logLoss(validationScore.map(sigmoid), validation?.y ?? []);
  const losses = validation ? [validationLoss()] : [];
  let bestTrees = 0;
  const trees: GbdtTree[] = [];

  for (let t = 0; t < resolved.nTrees; t++) {
    for (let i = 0; i < n; i++) {
      const p = sigmoid(score[i] ?? 0);
      gradient[i] = p - (y[i] ?? 0);
      hessian[i] = Math.max(p * (1 - p), 1e-16);
    }
    const rows = sampleSize < n ? sampleRows(n, sampleSize, uniform) : allRows;
    const tree = growTree(data, nFeatures, rows, gradient, hessian, resolved);
    trees.push(tree);
    for (let i = 0; i < n; i++) score[i] = (score[i] ?? 0) + treeValue(tree, x, i * nFeatures);
    if (!validation) continue;
    for (let i = 0; i < nValidation; i++) {
      validationScore[i] = (validationScore[i] ?? 0) + treeValue(tree, validation.x, i * nFeatures);
    }
    losses.push(validationLoss());
    if ((losses[t + 1] ?? Number.POSITIVE_INFINITY) < (losses[bestTrees] ?? 0)) bestTrees = t + 1;
    if (resolved.earlyStoppingRounds > 0 && t + 1 - bestTrees >= resolved.earlyStoppingRounds) break;
  }

  const kept = validation && resolved.earlyStoppingRounds > 0 ? trees.slice(0, bestTrees) : trees;
  return {
    nFeatures,
    baseScore,
    trees: kept,
    treeCount: kept.length,
    params: resolved,
    validationLogLoss: losses,
  };
}

/** P(positive) for each row of the row-major `x`; splits compare float32 values as ONNX does. */
export function predictGbdtProbabilities(model: GbdtModel, x: Float32Array, nFeatures: number): Float64Array {
  if (model.nFeatures !== nFeatures) {
    throw new RangeError(`model has ${model.nFeatures} features, x has ${nFeatures}`);
  }
  if (x.length % nFeatures !== 0) {
    throw new RangeError(`x has ${x.length} values, not a multiple of nFeatures = ${nFeatures}`);
  }
  const n = x.length / nFeatures;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let z = model.baseScore;
    for (const tree of model.trees) z += treeValue(tree, x, i * nFeatures);
    out[i] = sigmoid(z);
  }
  return out;
}
