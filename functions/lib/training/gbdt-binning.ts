// Quantile binning for histogram-based tree growing: each feature's values are cut once, before
// boosting, at a few edges taken from the training data, and rows are stored as bin numbers.

import { assignBin } from '../binning.ts';

/** Edges of one feature, ascending; bin b holds values v with edges[b − 1] < v ≤ edges[b]. */
export type BinEdges = Float32Array;

/** Training rows as bin numbers, with the edges that define them. */
export interface BinnedRows {
  /** Row-major bin numbers: `bins[i · nFeatures + j]` is row i's bin of feature j. */
  readonly bins: Uint8Array;
  /** Edges per feature; feature j has `edges[j].length + 1` bins. */
  readonly edges: readonly BinEdges[];
  /** Where feature j's bins start in a flat histogram holding every feature's bins. */
  readonly offsets: Uint32Array;
  /** Number of bins over all features: the length of a flat histogram. */
  readonly totalBins: number;
  /** Each feature's most common bin (0 for a one-hot column), left out of `sparse`. */
  readonly commonBins: Uint8Array;
  /**
   * Per row, the flat histogram positions (`offsets[j] + bin`) of its features not in their
   * common bin, CSR-style: row i's are `sparse.positions[sparse.rowStart[i] … rowStart[i + 1])`.
   * One-hot columns are mostly in their common bin, so histograms visit a fraction of the values.
   */
  readonly sparse: { readonly rowStart: Uint32Array; readonly positions: Uint32Array };
}

/** Bin numbers are stored in a byte, so a feature can have at most this many bins. */
export const MAX_BINS = 256;

/**
 * Cut points of one feature. Edges are values that occur in the data (float32, so a split's
 * threshold is exact in ONNX too): every distinct value but the largest when there are at most
 * `maxBins` of them, otherwise the values at evenly spaced ranks, duplicates dropped.
 */
export function quantileEdges(column: Float32Array, maxBins: number): BinEdges {
  const sorted = Float32Array.from(column).sort();
  const n = sorted.length;
  const edges: number[] = [];
  const largest = sorted[n - 1] ?? 0;
  let distinct = 0;
  for (let i = 0; i < n && distinct <= maxBins; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct++;
  if (distinct <= maxBins) {
    for (let i = 0; i < n; i++) {
      const v = sorted[i] ?? 0;
      if (v !== largest && (i === 0 || v !== sorted[i - 1])) edges.push(v);
    }
  } else {
    for (let k = 1; k < maxBins; k++) {
      const v = sorted[Math.ceil((k * n) / maxBins) - 1] ?? largest;
      if (v !== largest && (edges.length === 0 || v > (edges[edges.length - 1] ?? 0))) edges.push(v);
    }
  }
  return Float32Array.from(edges);
}

/** Compute each feature's edges from the row-major `x` and store every value as its bin. */
export function binRows(x: Float32Array, nRows: number, nFeatures: number, maxBins: number): BinnedRows {
  const bins = new Uint8Array(nRows * nFeatures);
  const edges: BinEdges[] = [];
  const offsets = new Uint32Array(nFeatures);
  const column = new Float32Array(nRows);
  const commonBins = new Uint8Array(nFeatures);
  let totalBins = 0;
  for (let j = 0; j < nFeatures; j++) {
    for (let i = 0; i < nRows; i++) column[i] = x[i * nFeatures + j] ?? 0;
    const featureEdges = quantileEdges(column, maxBins);
    edges.push(featureEdges);
    offsets[j] = totalBins;
    totalBins += featureEdges.length + 1;
    const counts = new Uint32Array(featureEdges.length + 1);
    for (let i = 0; i < nRows; i++) {
      const bin = assignBin(featureEdges, column[i] ?? 0);
      bins[i * nFeatures + j] = bin;
      counts[bin] = (counts[bin] ?? 0) + 1;
    }
    commonBins[j] = counts.indexOf(Math.max(...counts));
  }
  const rowStart = new Uint32Array(nRows + 1);
  const positions: number[] = [];
  for (let i = 0; i < nRows; i++) {
    for (let j = 0; j < nFeatures; j++) {
      const bin = bins[i * nFeatures + j] ?? 0;
      if (bin !== commonBins[j]) positions.push((offsets[j] ?? 0) + bin);
    }
    rowStart[i + 1] = positions.length;
  }
  return {
    bins,
    edges,
    offsets,
    totalBins,
    commonBins,
    sparse: { rowStart, positions: Uint32Array.from(positions) },
  };
}
