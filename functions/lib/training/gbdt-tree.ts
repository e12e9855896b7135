// Grows one regression tree of a boosted ensemble from per-row gradients and hessians, choosing
// splits from bin histograms (second-order gain, as in XGBoost and LightGBM).
import type { BinnedRows } from './gbdt-binning.ts';

/** An internal node: rows with `x[feature] <= threshold` go to `left`, the rest (and NaN) to `right`. */
export interface GbdtSplit {
  readonly feature: number;
  /** A float32 value, so the comparison is the same in float32 (ONNX) and float64. */
  readonly threshold: number;
  /** Index of the child node in the same tree's node array. */
  readonly left: number;
  readonly right: number;
}

/** A leaf: its value (already scaled by the learning rate) is added to the log-odds. */
export interface GbdtLeaf {
  readonly value: number;
}

export type GbdtNode = GbdtSplit | GbdtLeaf;

/** One tree as a flat node array; the root is node 0. */
export type GbdtTree = readonly GbdtNode[];

export const isLeaf = (node: GbdtNode): node is GbdtLeaf => !('feature' in node);

/** What growing a tree needs to know about the boosting settings. */
export interface TreeSettings {
  readonly maxDepth: number;
  readonly lambda: number;
  readonly minChildWeight: number;
  readonly minSamplesLeaf: number;
  readonly minSplitGain: number;
  readonly learningRate: number;
}

/** Flat per-bin sums over one node's rows, laid out as `BinnedRows.offsets` says. */
interface Histogram {
  readonly gradient: Float64Array;
  readonly hessian: Float64Array;
  readonly count: Float64Array;
}

interface Totals {
  readonly gradient: number;
  readonly hessian: number;
  readonly count: number;
}

interface BestSplit {
  readonly feature: number;
  readonly bin: number;
  readonly gain: number;
  readonly left: Totals;
}

/**
 * Histogram of `rows`: their sparse (non-common) bins are summed directly, and each feature's
 * common bin gets the node totals minus the feature's other bins.
 */
function buildHistogram(
  data: BinnedRows,
  rows: Uint32Array,
  g: Float64Array,
  h: Float64Array,
  totals: Totals,
) {
  const hist: Histogram = {
    gradient: new Float64Array(data.totalBins),
    hessian: new Float64Array(data.totalBins),
    count: new Float64Array(data.totalBins),
  };
  const { rowStart, positions } = data.sparse;
  for (const i of rows) {
    const gi = g[i] ?? 0;
    const hi = h[i] ?? 0;
    const end = rowStart[i + 1] ?? 0;
    for (let e = rowStart[i] ?? 0; e < end; e++) {
      const k = positions[e] ?? 0;
      hist.gradient[k] = (hist.gradient[k] ?? 0) + gi;
      hist.hessian[k] = (hist.hessian[k] ?? 0) + hi;
      hist.count[k] = (hist.count[k] ?? 0) + 1;
    }
  }
  for (let j = 0; j < data.edges.length; j++) {
    const start = data.offsets[j] ?? 0;
    const end = start + (data.edges[j]?.length ?? 0) + 1;
    let gradient = totals.gradient;
    let hessian = totals.hessian;
    let count = totals.count;
    for (let k = start; k < end; k++) {
      gradient -= hist.gradient[k] ?? 0;
      hessian -= hist.hessian[k] ?? 0;
      count -= hist.count[k] ?? 0;
    }
    const common = start + (data.commonBins[j] ?? 0);
    hist.gradient[common] = gradient;
    hist.hessian[common] = hessian;
    hist.count[common] = count;
  }
  return hist;
}

/** parent − child: the larger child's histogram without another pass over its rows. */
function subtract(parent: Histogram, child: Histogram): Histogram {
  const minus = (a: Float64Array, b: Float64Array) => a.map((v, k) => v - (b[k] ?? 0));
  return {
    gradient: minus(parent.gradient, child.gradient),
    hessian: minus(parent.hessian, child.hessian),
    count: minus(parent.count, child.count),
  };
}

/** G²/(H + λ): the loss reduction of a leaf with gradient sum G and hessian sum H, times two. */
const score = (gradient: number, hessian: number, lambda: number) =>
  (gradient * gradient) / (hessian + lambda);

/** The best split over all features and bins; ties keep the first found, so growing is deterministic. */
function findBestSplit(
  data: BinnedRows,
  hist: Histogram,
  totals: Totals,
  s: TreeSettings,
): BestSplit | undefined {
  const parentScore = score(totals.gradient, totals.hessian, s.lambda);
  let best: BestSplit | undefined;
  for (let j = 0; j < data.edges.length; j++) {
    const start = data.offsets[j] ?? 0;
    const nBins = (data.edges[j]?.length ?? 0) + 1;
    let gl = 0;
    let hl = 0;
    let cl = 0;
    for (let b = 0; b < nBins - 1; b++) {
      gl += hist.gradient[start + b] ?? 0;
      hl += hist.hessian[start + b] ?? 0;
      cl += hist.count[start + b] ?? 0;
      const hr = totals.hessian - hl;
      const cr = totals.count - cl;
      if (cl < s.minSamplesLeaf || hl < s.minChildWeight) continue;
      if (cr < s.minSamplesLeaf || hr < s.minChildWeight) break;
      const gain = (score(gl, hl, s.lambda) + score(totals.gradient - gl, hr, s.lambda) - parentScore) / 2;
      if (gain > s.minSplitGain && gain > (best?.gain ?? 0)) {
        best = { feature: j, bin: b, gain, left: { gradient: gl, hessian: hl, count: cl } };
      }
    }
  }
  return best;
}

/**
 * Grow one tree on `rows` (training row indices) fitting the negative gradient with Newton
 * steps: a leaf's value is −η · G/(H + λ). Splits are chosen depth-first, each as the best
 * histogram split of its node; a node becomes a leaf at `maxDepth` or when no split gains.
 */
export function growTree(
  data: BinnedRows,
  nFeatures: number,
  rows: Uint32Array,
  gradient: Float64Array,
  hessian: Float64Array,
  s: TreeSettings,
): GbdtTree {
  const nodes: GbdtNode[] = [];
  const leaf = (t: Totals) =>
    nodes.push({ value: (-s.learningRate * t.gradient) / (t.hessian + s.lambda) }) - 1;

  const grow = (nodeRows: Uint32Array, hist: Histogram, totals: Totals, depth: number): number => {
    if (depth >= s.maxDepth) return leaf(totals);
    const split = findBestSplit(data, hist, totals, s);
    if (!split) return leaf(totals);
    const index = nodes.push({ value: 0 }) - 1; // placeholder until the children have indices
    const leftRows = new Uint32Array(split.left.count);
    const rightRows = new Uint32Array(nodeRows.length - split.left.count);
    let l = 0;
    let r = 0;
    for (const i of nodeRows) {
      if ((data.bins[i * nFeatures + split.feature] ?? 0) <= split.bin) leftRows[l++] = i;
      else rightRows[r++] = i;
    }
    const right: Totals = {
      gradient: totals.gradient - split.left.gradient,
      hessian: totals.hessian - split.left.hessian,
      count: totals.count - split.left.count,
    };
    const leftIsSmaller = leftRows.length <= rightRows.length;
    const small = leftIsSmaller
      ? buildHistogram(data, leftRows, gradient, hessian, split.left)
      : buildHistogram(data, rightRows, gradient, hessian, right);
    const large = subtract(hist, small);
    const left = grow(leftRows, leftIsSmaller ? small : large, split.left, depth + 1);
    const rightIndex = grow(rightRows, leftIsSmaller ? large : small, right, depth + 1);
    nodes[index] = {
      feature: split.feature,
      threshold: data.edges[split.feature]?.[split.bin] ?? 0,
      left,
      right: rightIndex,
    };
    return index;
  };

  let g = 0;
  let h = 0;
  for (const i of rows) {
    g += gradient[i] ?? 0;
    h += hessian[i] ?? 0;
  }
  const totals: Totals = { gradient: g, hessian: h, count: rows.length };
  grow(rows, buildHistogram(data, rows, gradient, hessian, totals), totals, 0);
  return nodes;
}

/** Leaf value reached by row `row` of the row-major `x`, comparing as ONNX's BRANCH_LEQ does. */
export function treeValue(tree: GbdtTree, x: ArrayLike<number>, offset: number): number {
  let node = tree[0];
  while (node && !isLeaf(node)) {
    const v = x[offset + node.feature] ?? Number.NaN;
    node = tree[v <= node.threshold ? node.left : node.right];
  }
  if (!node) throw new RangeError('tree has a dangling child index');
  return node.value;
}
