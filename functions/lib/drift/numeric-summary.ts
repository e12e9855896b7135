// One numeric column of a capture window against its reference, in a few linear passes and without
// sorting the column: values per reference bin, the KS statistic D against the reference
// percentiles, mean and standard deviation. The drift check's hot path (a million rows × 20 fields
// per window), so it works on typed arrays and gives results that do not depend on the row order.
import { assignBin, type BinTable, binTable } from '../binning.ts';
import type { NumericFieldProfile } from './profile.ts';

/** What the drift report needs of one numeric column. */
export interface NumericSummary {
  /** Finite values in the column; the rest (NaN, ±Infinity) are nulls. */
  readonly values: number;
  /** Null without values. Sums are order-independent, so the same values in any order give the same bits. */
  readonly mean: number | null;
  /** Population standard deviation; null without values. */
  readonly std: number | null;
  /** Values per reference bin (`assignBin` on `binEdges`); null when either side has no values. */
  readonly binCounts: readonly number[] | null;
  /**
   * `ksStatisticFromPercentiles(reference.quantiles, values)`, the same number to the last bit,
   * computed without sorting the column; null when either side has no values.
   */
  readonly ks: number | null;
}

/**
 * Summarise the first `length` entries of `column` (non-finite entries are nulls) against
 * `reference`. Linear in the rows: binning goes through a lookup table (`binTable`), and KS D is
 * bounded cell by cell so that only the few cells where the largest gap can lie are ever sorted.
 *
 * @throws RangeError when `length` exceeds the column, or the reference percentiles are not
 * finite and ascending (as `ksStatisticFromPercentiles` would).
 */
export function summarizeNumericColumn(
  reference: NumericFieldProfile,
  column: Float64Array,
  length: number = column.length,
): NumericSummary {
  if (!(Number.isInteger(length) && length >= 0 && length <= column.length)) {
    throw new RangeError(`length must be an integer in [0, ${column.length}], got ${length}`);
  }
  const plan = reference.count > 0 ? ksPlan(reference.quantiles) : null;
  const pass = plan ? binAndLocate(reference.binEdges, plan, column, length) : countFinite(column, length);
  const n = pass.values;
  if (n === 0) return { values: 0, mean: null, std: null, binCounts: null, ks: null };
  const mean = orderFreeSum(column, length, n, Math.max(Math.abs(pass.min), Math.abs(pass.max)), null) / n;
  const spread = Math.max(pass.max - mean, mean - pass.min);
  const std = Math.sqrt(orderFreeSum(column, length, n, spread * spread, mean) / n);
  return {
    values: n,
    mean,
    std,
    binCounts: pass.binCounts ? Array.from(pass.binCounts) : null,
    ks: plan && pass.cells ? ksStatistic(plan, pass.cells, column, length, n) : null,
  };
}

interface FirstPass {
  readonly values: number;
  /** Bounds on the values (not always the extremes themselves): min ≤ every value ≤ max. */
  readonly min: number;
  readonly max: number;
  readonly binCounts: Int32Array | null;
  readonly cells: KsCells | null;
}

function countFinite(column: Float64Array, length: number): FirstPass {
  let n = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < length; i++) {
    const v = column[i] as number;
    if (v - v !== 0) continue;
    n++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { values: n, min, max, binCounts: null, cells: null };
}

// ---- KS D against the reference percentiles, bit for bit as ks.ts computes it -------------------
//
// ks.ts walks the sorted sample and the percentiles together and takes the largest gap between the
// live CDF and the reference CDF (linear between distinct percentiles) at every sample value and
// every percentile. Here the same terms are bounded instead of enumerated:
// - a sample below the 0th percentile or above the 100th never gives the largest gap (the term at
//   that percentile is at least as large), so those are only counted;
// - the terms at the percentiles need only counts (values below, equal to, above each one);
// - between two distinct percentiles each interval is cut into `S` cells; a cell's count and the
//   range of the reference CDF across it bound every term inside it, and only cells whose bound
//   beats the largest term found so far are sorted and walked, largest bound first.
// Every term that is computed is computed with the same floating-point operations as in ks.ts, and
// the maximum of a set does not depend on its order, so the result is the same number.
//
// The cells also give the reference bin of most values: a cell rarely straddles a bin edge, so
// the bin of its midpoint, checked against the bin's edges, spares a second lookup.

interface KsPlan {
  /** The distinct percentile values, ascending, and a lookup table over them. */
  readonly distinct: Float64Array;
  readonly table: BinTable;
  /** Per distinct value: the reference CDF there (from the right) and its limit from the left. */
  readonly cdfAt: Float64Array;
  readonly cdfBefore: Float64Array;
  /** Per interval between distinct values j and j + 1: the index of the last percentile equal to value j, its width, and S ÷ width. */
  readonly lastIndex: Int32Array;
  readonly width: Float64Array;
  readonly cellsPerUnit: Float64Array;
  /** Percentiles − 1: the reference CDF between them is (i + t) / m. */
  readonly m: number;
  /** Cells per interval. */
  readonly S: number;
}

/** Cells per interval at most; with 101 percentiles that is 6,400 cells, each about 1/6,400 of the reference. */
const MAX_CELLS_PER_INTERVAL = 64;
/** Cell ids fit a Uint16Array; the largest id marks values in no cell. */
const MAX_CELLS = 0xffff;
/**
 * Slack for the cell bounds, far above their rounding (a cell is found by multiplying, the terms
 * divide): the bounds only decide which cells to look into, never the result.
 */
const BOUND_SLACK = 1e-12;

function ksPlan(percentiles: readonly number[]): KsPlan {
  if (percentiles.length < 2) throw new RangeError(`need at least 2 percentiles, got ${percentiles.length}`);
  percentiles.forEach((v, i) => {
    if (!Number.isFinite(v) || (i > 0 && v < (percentiles[i - 1] ?? v))) {
      throw new RangeError(`percentiles must be finite and ascending; [${i}] is ${v}`);
    }
  });
  const m = percentiles.length - 1;
  const values: number[] = [];
  const first: number[] = [];
  const last: number[] = [];
  percentiles.forEach((v, i) => {
    if (values.length === 0 || v !== values[values.length - 1]) {
      values.push(v);
      first.push(i);
      last.push(i);
    } else last[last.length - 1] = i;
  });
  const distinct = Float64Array.from(values);
  const intervals = distinct.length - 1;
  let S = MAX_CELLS_PER_INTERVAL;
  while (S > 1 && intervals * S >= MAX_CELLS) S /= 2;
  if (intervals * S >= MAX_CELLS) throw new RangeError(`too many distinct percentiles: ${distinct.length}`);
  const width = new Float64Array(intervals);
  for (let j = 0; j < intervals; j++) width[j] = (distinct[j + 1] as number) - (distinct[j] as number);
  return {
    distinct,
    table: binTable(distinct),
    // ks.ts's reference CDF at a percentile value: (i + 0 / w) / m = i / m from the right with i
    // the last percentile equal to it (1 from the last on), (i + w / w) / m from the left with i
    // the one before the first equal to it (0 before the first).
    cdfAt: Float64Array.from(last, (i) => (i >= m ? 1 : i / m)),
    cdfBefore: Float64Array.from(first, (i) => (i === 0 ? 0 : i / m)),
    lastIndex: Int32Array.from(last.slice(0, intervals)),
    width,
    cellsPerUnit: width.map((w) => S / w),
    m,
    S,
  };
}

/** Where each value fell, for the KS statistic. */
interface KsCells {
  /** Per value: its cell, or `none`. */
  readonly cellOf: Uint16Array;
  readonly none: number;
  /** Values below the first distinct percentile, equal to each, and in each cell. */
  readonly below: number;
  readonly equal: Int32Array;
  readonly cellCounts: Int32Array;
}

/**
 * Reused across calls (the functions here are synchronous, so never shared by two at once): a
 * window of a million rows would otherwise allocate 2 MB per field.
 */
let cellScratch = new Uint16Array(0);

/** The first pass: nulls, bounds, counts per reference bin, and each value's place among the percentiles. */
function binAndLocate(
  edges: readonly number[],
  plan: KsPlan,
  column: Float64Array,
  length: number,
): FirstPass {
  const { distinct, S } = plan;
  const J = distinct.length;
  const none = (J - 1) * S;
  if (cellScratch.length < length) cellScratch = new Uint16Array(length);
  const cells = {
    cellOf: cellScratch,
    none,
    below: 0,
    equal: new Int32Array(J),
    cellCounts: new Int32Array(none),
  };
  // The bin of each percentile value, and of most of each cell (its midpoint's).
  const equalBin = Int32Array.from(distinct, (v) => assignBin(edges, v));
  const cellBin = new Int32Array(none);
  for (let cell = 0; cell < none; cell++) {
    const j = Math.floor(cell / S);
    const lo = distinct[j] as number;
    cellBin[cell] = assignBin(edges, lo + (((cell % S) + 0.5) / S) * (plan.width[j] as number));
  }
  const bins = binTable(edges);
  const binCounts = new Int32Array(edges.length + 1);
  const stats = new Float64Array([0, 0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
  locateValues(column, length, plan, cells, edges, bins, equalBin, cellBin, binCounts, stats);
  const [n = 0, below = 0, minOutside = 0, maxOutside = 0] = stats;
  return {
    values: n,
    // Values not below the first percentile are at least that, and likewise above.
    min: Math.min(minOutside, distinct[0] as number),
    max: Math.max(maxOutside, distinct[J - 1] as number),
    binCounts,
    cells: { ...cells, below },
  };
}

/**
 * The loop of the first pass, alone in its function so that it is optimised as one piece; results
 * go to the arrays passed in (`stats`: values, values below the percentiles, smallest and largest
 * value outside them). The percentile lookup is `lookupBin` inlined by hand: this runs once per
 * value and field, and a call into another module is not always inlined (under tsx it doubled the
 * loop's time).
 */
function locateValues(
  column: Float64Array,
  length: number,
  plan: KsPlan,
  cells: KsCells,
  edges: readonly number[],
  bins: BinTable,
  equalBin: Int32Array,
  cellBin: Int32Array,
  binCounts: Int32Array,
  stats: Float64Array,
): void {
  const { origin, scale, top, table, lower, upper } = plan.table;
  const { distinct, cellsPerUnit, S } = plan;
  const { cellOf, none, equal, cellCounts } = cells;
  const binLower = bins.lower;
  const binUpper = bins.upper;
  const J = distinct.length;
  let n = 0;
  let below = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < length; i++) {
    const v = column[i] as number;
    let cell = none;
    if (v - v === 0) {
      n++;
      // j: the first distinct percentile ≥ v (upper[j] is that percentile, +∞ past the last).
      const g = Math.min(Math.max((v - origin) * scale + 1, 0), top);
      let j = table[g | 0] as number;
      if (!(v > (lower[j] as number) && v <= (upper[j] as number))) j = assignBin(distinct, v);
      let bin: number;
      if (v === upper[j]) {
        equal[j] = (equal[j] as number) + 1;
        bin = equalBin[j] as number;
      } else if (j > 0 && j < J) {
        const s = ((v - (distinct[j - 1] as number)) * (cellsPerUnit[j - 1] as number)) | 0;
        cell = (j - 1) * S + (s < S ? s : S - 1);
        cellCounts[cell] = (cellCounts[cell] as number) + 1;
        bin = cellBin[cell] as number;
        if (!(v > (binLower[bin] as number) && v <= (binUpper[bin] as number))) bin = assignBin(edges, v);
      } else {
        if (j === 0) {
          below++;
          if (v < min) min = v;
        } else if (v > max) max = v;
        bin = assignBin(edges, v);
      }
      binCounts[bin] = (binCounts[bin] as number) + 1;
    }
    cellOf[i] = cell;
  }
  stats[0] = n;
  stats[1] = below;
  stats[2] = min;
  stats[3] = max;
}

function ksStatistic(plan: KsPlan, cells: KsCells, column: Float64Array, length: number, n: number): number {
  const { distinct, cdfAt, cdfBefore, lastIndex, width, m, S } = plan;
  const { cellOf, none, equal, cellCounts } = cells;
  const J = distinct.length;
  // Terms at the percentiles, and how many values lie before each cell.
  const before = new Float64Array(none);
  let d = 0;
  let c = cells.below;
  for (let j = 0; j < J; j++) {
    const after = c + (equal[j] as number);
    d = Math.max(d, Math.abs(after / n - (cdfAt[j] as number)), Math.abs(c / n - (cdfBefore[j] as number)));
    c = after;
    if (j < J - 1) {
      for (let s = 0; s < S; s++) {
        before[j * S + s] = c;
        c += cellCounts[j * S + s] as number;
      }
    }
  }
  // Inside cell s of interval j the reference CDF runs from (i + s/S)/m to (i + (s+1)/S)/m and the
  // live one from before/n to (before + count)/n: no term there exceeds the larger of the two gaps.
  // (Cells are ordered like their values, so `before` counts exactly the values below the cell.)
  const bound = new Float64Array(none);
  const candidates: number[] = [];
  for (let cell = 0; cell < none; cell++) {
    const count = cellCounts[cell] as number;
    if (count === 0) continue;
    const i = lastIndex[(cell / S) | 0] as number;
    const s = cell % S;
    const b = before[cell] as number;
    const ub = Math.max((b + count) / n - (i + s / S) / m, (i + (s + 1) / S) / m - b / n) + BOUND_SLACK;
    bound[cell] = ub;
    if (ub > d) candidates.push(cell);
  }
  if (candidates.length === 0) return d;
  // Gather the candidates' values, grouped by cell (a counting sort on the cell id).
  const cursor = new Int32Array(none + 1).fill(-1);
  const start = new Int32Array(candidates.length);
  let total = 0;
  candidates.forEach((cell, k) => {
    start[k] = total;
    cursor[cell] = total;
    total += cellCounts[cell] as number;
  });
  const gathered = new Float64Array(total);
  for (let r = 0; r < length; r++) {
    const cell = cellOf[r] as number;
    const at = cursor[cell] as number;
    if (at >= 0) {
      gathered[at] = column[r] as number;
      cursor[cell] = at + 1;
    }
  }
  const order = candidates
    .map((_, k) => k)
    .sort((a, b) => (bound[candidates[b] as number] as number) - (bound[candidates[a] as number] as number));
  for (const k of order) {
    const cell = candidates[k] as number;
    if ((bound[cell] as number) <= d) break;
    const from = start[k] as number;
    const values = gathered.subarray(from, from + (cellCounts[cell] as number)).sort();
    const j = (cell / S) | 0;
    const i = lastIndex[j] as number;
    const lo = distinct[j] as number;
    const w = width[j] as number;
    let below = before[cell] as number;
    let r = 0;
    while (r < values.length) {
      const x = values[r] as number;
      let after = below;
      while (r < values.length && values[r] === x) {
        r++;
        after++;
      }
      const cdf = (i + (x - lo) / w) / m;
      d = Math.max(d, Math.abs(after / n - cdf), Math.abs(below / n - cdf));
      below = after;
    }
  }
  return d;
}

// ---- Sums that do not depend on the order of the terms ------------------------------------------
//
// A floating-point sum depends on the order of its terms, and a report must not depend on the order
// of the rows. Each term is split on two fixed grids chosen from the largest term and the count
// (Demmel & Nguyen's pre-rounding): the parts on each grid add up exactly, in any order, and the
// two totals are added last. What falls below the second grid is dropped: at most about
// count · 2⁻⁶² · the largest term, far below a naive sum's rounding error.

/**
 * Σ vᵢ over the finite values (`center` null), or Σ (vᵢ − center)² (`center` a number), where
 * `largest` bounds every term's magnitude and `count` their number.
 */
function orderFreeSum(
  column: Float64Array,
  length: number,
  count: number,
  largest: number,
  center: number | null,
): number {
  if (!(largest > 0)) return 0;
  // Squares beyond the double range: the sum is as infinite as a naive one would be.
  if (largest === Number.POSITIVE_INFINITY) return largest;
  // Scale terms into [−1, 1] by a power of two (exact, unless a term ends up subnormal).
  let e = Math.ceil(Math.log2(largest));
  while (2 ** e < largest) e++;
  const scale = 2 ** Math.min(1000, -e);
  let bits = 0;
  while (2 ** bits <= count) bits++;
  // Level 1 keeps the multiples of 2^(bits − 51): |term| ≤ 1 = 2^(E1 − 1 − bits) and σ1 = 1.5 · 2^E1
  // put every σ1 + term in one binade, and count such parts sum exactly. Level 2 the same for the
  // remainders, |r| ≤ 2^(E1 − 53).
  const e1 = 1 + bits;
  const e2 = e1 - 53 + 1 + bits;
  const sigma1 = 1.5 * 2 ** e1;
  const sigma2 = 1.5 * 2 ** e2;
  let a1 = 0;
  let a2 = 0;
  if (center === null) {
    for (let i = 0; i < length; i++) {
      const v = column[i] as number;
      if (v - v !== 0) continue;
      const x = v * scale;
      const q = sigma1 + x - sigma1;
      a1 += q;
      a2 += sigma2 + (x - q) - sigma2;
    }
  } else {
    for (let i = 0; i < length; i++) {
      const v = column[i] as number;
      if (v - v !== 0) continue;
      const dev = v - center;
      const x = dev * dev * scale;
      const q = sigma1 + x - sigma1;
      a1 += q;
      a2 += sigma2 + (x - q) - sigma2;
    }
  }
  return (a1 + a2) / scale;
}
