// One numeric column of a capture window against its reference, in two passes over the column and
// without sorting it: values per reference bin, the KS statistic D against the reference
// percentiles, mean and standard deviation. The drift check's hot path (a million rows × 20 fields
// per window), so it works on typed arrays, and its results do not depend on the row order.
import { assignBin } from '../binning.ts';
import type { NumericFieldProfile } from './profile.ts';

/** What the drift report needs of one numeric column. */
export interface NumericSummary {
  /** Finite values in the column; the rest (NaN, ±Infinity) are nulls. */
  readonly values: number;
  /** Null without values. Sums are order-independent: the same values in any order give the same bits. */
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
 * `reference`. Linear in the rows: one pass places each value among the reference percentiles
 * through a lookup grid, which gives its KS cell and, through the cell, its bin; another sums the
 * moments. KS D is then bounded cell by cell, so that only the few cells where the largest gap can
 * lie are gathered (a third pass, when needed) and sorted.
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
  if (reference.count === 0) return withoutReference(column, length);
  const plan = columnPlan(reference, length);
  const scan = scanColumn(column, length, plan);
  const n = scan.values;
  if (n === 0) return { values: 0, mean: null, std: null, binCounts: null, ks: null };
  // Σ(v − c) and Σ(v − c)² about the reference mean c: var = Σ(v − c)²/n − (mean − c)².
  const moments = momentsAbout(column, length, plan);
  const deviation = moments.sum + orderFreeSum(moments.outside, moments.outside.length, plan.center, 1);
  const squares = moments.squares + orderFreeSum(moments.outside, moments.outside.length, plan.center, 2);
  const shift = deviation / n;
  return {
    values: n,
    mean: plan.center + shift,
    std: Math.sqrt(Math.max(0, squares / n - shift * shift)),
    binCounts: Array.from(scan.binCounts),
    ks: ksStatistic(plan, scan, column, length),
  };
}

/** Without a reference there are no bins or percentiles: only the moments. */
function withoutReference(column: Float64Array, length: number): NumericSummary {
  let n = 0;
  let first = Number.NaN;
  for (let i = 0; i < length; i++) {
    const v = column[i] as number;
    if (v - v === 0) {
      if (n === 0) first = v;
      n++;
    }
  }
  if (n === 0) return { values: 0, mean: null, std: null, binCounts: null, ks: null };
  // Any fixed centre will do for exactness; the smallest value keeps the deviations small.
  let center = first;
  for (let i = 0; i < length; i++) {
    const v = column[i] as number;
    if (v - v === 0 && v < center) center = v;
  }
  const shift = orderFreeSum(column, length, center, 1) / n;
  const squares = orderFreeSum(column, length, center, 2);
  return {
    values: n,
    mean: center + shift,
    std: Math.sqrt(Math.max(0, squares / n - shift * shift)),
    binCounts: null,
    ks: null,
  };
}

// ---- The plan: the reference turned into lookup tables -------------------------------------------
//
// KS D against the percentiles, bit for bit as ks.ts computes it: ks.ts walks the sorted sample and
// the percentiles together and takes the largest gap between the live CDF and the reference CDF
// (linear between distinct percentiles) at every sample value and every percentile. Here the same
// terms are bounded instead of enumerated:
// - a sample below the 0th percentile or above the 100th never gives the largest gap (the term at
//   that percentile is at least as large), so those are only counted;
// - the terms at the percentiles need only counts (values below, equal to, above each one);
// - between two distinct percentiles the interval is cut into S cells; a cell's count and the
//   range of the reference CDF across it bound every term inside it, and only cells whose bound
//   beats the largest term found so far are gathered, sorted and walked, largest bound first.
// Every term that is computed is computed with the same floating-point operations as in ks.ts, and
// the maximum of a set does not depend on its order, so the result is the same number.
//
// A value's cell also gives its reference bin (a cell straddles a bin edge only rarely), and a
// uniform grid over the percentiles finds the interval of most values with one table read.

interface ColumnPlan {
  /** The distinct percentile values, ascending (J of them). */
  readonly distinct: Float64Array;
  /** Per distinct value: the reference CDF there (from the right) and its limit from the left. */
  readonly cdfAt: Float64Array;
  readonly cdfBefore: Float64Array;
  /** Per interval t (between distinct t and t + 1): the last percentile index equal to value t, the width, and S ÷ width. */
  readonly lastIndex: Int32Array;
  readonly width: Float64Array;
  readonly cellsPerUnit: Float64Array;
  /** Percentiles − 1: the reference CDF between them is (i + fraction) / m. */
  readonly m: number;
  /** Cells per interval. */
  readonly S: number;
  /** The grid: cell ⌊(v − origin) · scale⌋ (clamped to [0, G − 1]) of `grid` says t + 1 when every value there lies inside interval t, −(k + 1) when the cell holds distinct percentile k alone, 0 otherwise. */
  readonly origin: number;
  readonly scale: number;
  readonly G: number;
  readonly grid: Int32Array;
  readonly edges: readonly number[];
  /** The reference bin of each distinct percentile value, and of each cell (−1: the cell straddles an edge). */
  readonly equalBin: Int32Array;
  readonly cellBin: Int32Array;
  /** Moments are taken about the reference mean, on order-free sums' grids set for 4× the reference's reach from it. */
  readonly center: number;
  readonly sum: SumGrid;
  readonly squares: SumGrid;
}

/** Cells per interval at most; with 101 percentiles that is 6,400 cells, each about 1/6,400 of the reference. */
const MAX_CELLS_PER_INTERVAL = 64;
/** Cells in all (they are counted in an Int32Array). */
const MAX_CELLS = 1 << 20;
/** Grid cells over the percentile range, at most (a 256 kB table) and at least. */
const MAX_GRID_CELLS = 1 << 16;
const MIN_GRID_CELLS = 1 << 10;
/**
 * Slack for the cell bounds, far above their rounding (a cell is found by multiplying, the terms
 * divide): the bounds only decide which cells to look into, never the result.
 */
const BOUND_SLACK = 1e-12;

function columnPlan(reference: NumericFieldProfile, length: number): ColumnPlan {
  const percentiles = reference.quantiles;
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
  const J = distinct.length;
  const intervals = J - 1;
  let S = MAX_CELLS_PER_INTERVAL;
  while (S > 1 && intervals * S > MAX_CELLS) S /= 2;
  if (intervals * S > MAX_CELLS) throw new RangeError(`too many distinct percentiles: ${J}`);
  const width = new Float64Array(intervals);
  for (let t = 0; t < intervals; t++) width[t] = (distinct[t + 1] as number) - (distinct[t] as number);
  const cellsPerUnit = width.map((w) => S / w);
  const origin = distinct[0] as number;
  const span = (distinct[J - 1] as number) - origin;
  // A value lands in a percentile's grid cell (and takes the slow path) with probability about
  // (span / G) × the density there ≈ (span / G) × (1/m) / the gap to the next percentile: Σ span / gap
  // cells make that about 1% in all, however skewed the field. More cells than values would cost
  // more to build than they save.
  let wanted = 0;
  for (let t = 0; t < intervals; t++) wanted += span / (width[t] as number);
  const cap = Math.min(MAX_GRID_CELLS, Math.max(MIN_GRID_CELLS, length));
  const G = J > 1 ? Math.min(cap, Math.max(MIN_GRID_CELLS, 2 ** Math.ceil(Math.log2(wanted)))) : 1;
  const scale = span > 0 && Number.isFinite(G / span) ? G / span : 0;
  const edges = reference.binEdges;
  const lower = Math.min(origin, reference.min ?? origin);
  const upper = Math.max(distinct[J - 1] as number, reference.max ?? origin);
  const center = reference.mean ?? origin;
  // Values within reach of the centre go through the fast sums; a margin of 4× keeps a drifted
  // window there too, at the cost of 2 of the sums' 62 bits.
  const reach = 4 * Math.max(Math.abs(lower - center), Math.abs(upper - center));
  return {
    distinct,
    // ks.ts's reference CDF at a percentile value: (i + 0 / w) / m = i / m from the right with i
    // the last percentile equal to it (1 from the last on), (i + w / w) / m from the left with i
    // the one before the first equal to it (0 before the first).
    cdfAt: Float64Array.from(last, (i) => (i >= m ? 1 : i / m)),
    cdfBefore: Float64Array.from(first, (i) => (i === 0 ? 0 : i / m)),
    lastIndex: Int32Array.from(last.slice(0, intervals)),
    width,
    cellsPerUnit,
    m,
    S,
    origin,
    scale,
    G,
    grid: percentileGrid(distinct, origin, scale, G),
    edges,
    equalBin: Int32Array.from(distinct, (v) => assignBin(edges, v)),
    cellBin: cellBins(distinct, cellsPerUnit, S, edges),
    center,
    sum: sumGrid(reach, length),
    squares: sumGrid(reach * reach, length),
  };
}

/**
 * The grid's entries. A value's grid cell is ⌊(v − origin) · scale⌋, computed exactly so in the
 * scan, and that expression is monotone in v: a cell entirely above percentile t's position and
 * below t + 1's holds only values strictly between them, whatever the rounding.
 */
function percentileGrid(distinct: Float64Array, origin: number, scale: number, G: number): Int32Array {
  const grid = new Int32Array(G);
  const J = distinct.length;
  if (J < 2) return grid;
  const position = Float64Array.from(distinct, (v) => (v - origin) * scale);
  for (let t = 0; t < J - 1; t++) {
    // Cell c is inside when position[t] < c and c + 1 ≤ position[t + 1]. The last cell also takes
    // values clamped from above the grid: never an interior cell.
    const from = Math.floor(position[t] as number) + 1;
    const to = Math.min(Math.floor(position[t + 1] as number) - 1, G - 2);
    for (let c = Math.max(0, from); c <= to; c++) grid[c] = t + 1;
  }
  // Cells holding exactly one percentile: its repeated values are found with one comparison.
  const holders = new Int32Array(G);
  for (let k = 0; k < J; k++) {
    const c = Math.min(G - 1, Math.max(0, Math.floor(position[k] as number)));
    holders[c] = (holders[c] as number) + 1;
  }
  for (let k = 0; k < J; k++) {
    const c = Math.min(G - 1, Math.max(0, Math.floor(position[k] as number)));
    if (holders[c] === 1) grid[c] = -(k + 1);
  }
  return grid;
}

/**
 * Each cell's reference bin (the number of edges below its values), or −1 where an edge falls
 * inside it. A cell is ⌊(v − lo) · cellsPerUnit⌋, monotone in v: values in cells before an edge's
 * own cell are below the edge, values in cells after it above; only the edge's cell holds both.
 */
function cellBins(
  distinct: Float64Array,
  cellsPerUnit: Float64Array,
  S: number,
  edges: readonly number[],
): Int32Array {
  const intervals = distinct.length - 1;
  const bins = new Int32Array(intervals * S);
  let atOrBelow = 0;
  for (let t = 0; t < intervals; t++) {
    const lo = distinct[t] as number;
    const hi = distinct[t + 1] as number;
    // Values of the interval lie strictly between lo and hi.
    while (atOrBelow < edges.length && (edges[atOrBelow] as number) <= lo) atOrBelow++;
    const edgeCells: number[] = [];
    for (let k = atOrBelow; k < edges.length && (edges[k] as number) < hi; k++) {
      edgeCells.push(Math.min(S - 1, ((edges[k] as number) - lo) * (cellsPerUnit[t] as number)) | 0);
    }
    for (let s = 0; s < S; s++) {
      bins[t * S + s] = edgeCells.includes(s) ? -1 : atOrBelow + edgeCells.filter((c) => c < s).length;
    }
  }
  return bins;
}

// ---- The scan ----------------------------------------------------------------------------------

interface Scan {
  readonly values: number;
  readonly binCounts: Int32Array;
  /** Values below the first distinct percentile, equal to each, and in each cell. */
  readonly below: number;
  readonly equal: Int32Array;
  readonly cellCounts: Int32Array;
  /** The values the grid could not place (next to a percentile, or outside the range). */
  readonly slow: Float64Array;
}

/** One pass through the grid for the common values, then a binary search for the few others. */
function scanColumn(column: Float64Array, length: number, plan: ColumnPlan): Scan {
  const { distinct, cellsPerUnit, S, edges, equalBin, cellBin } = plan;
  const J = distinct.length;
  const binCounts = new Int32Array(edges.length + 1);
  const equal = new Int32Array(J);
  const cellCounts = new Int32Array((J - 1) * S);
  const slow: number[] = [];
  const totals = new Float64Array(2);
  // An empty first call runs the code after the loop once, so that optimised code entered
  // mid-loop does not find it unvisited and drop back to the interpreter at every chunk's end.
  scanCommon(column, 0, 0, plan, binCounts, equal, cellCounts, slow, totals);
  for (let from = 0; from < length; from += CHUNK) {
    scanCommon(
      column,
      from,
      Math.min(length, from + CHUNK),
      plan,
      binCounts,
      equal,
      cellCounts,
      slow,
      totals,
    );
  }
  let n = totals[0] ?? 0;
  let below = totals[1] ?? 0;
  for (const v of slow) {
    const j = assignBin(distinct, v);
    let bin: number;
    if (j < J && v === distinct[j]) {
      equal[j] = (equal[j] as number) + 1;
      bin = equalBin[j] as number;
    } else if (j === 0 || j === J) {
      if (j === 0) below++;
      bin = assignBin(edges, v);
    } else {
      const s = ((v - (distinct[j - 1] as number)) * (cellsPerUnit[j - 1] as number)) | 0;
      const cell = (j - 1) * S + (s < S ? s : S - 1);
      cellCounts[cell] = (cellCounts[cell] as number) + 1;
      bin = cellBin[cell] as number;
      if (bin < 0) bin = assignBin(edges, v);
    }
    binCounts[bin] = (binCounts[bin] as number) + 1;
    n++;
  }
  return { values: n, binCounts, below, equal, cellCounts, slow: Float64Array.from(slow) };
}

/**
 * Values per call of the hot loops. Called on chunks, they are optimised as whole functions rather
 * than entered mid-loop (on-stack replacement), whose code a rare branch can send back to the
 * interpreter for the rest of a million-value loop, call after call.
 */
const CHUNK = 1 << 14;

/**
 * The hot loop over values `from` to `to`, adding to the arrays passed in (`totals`: the values
 * placed, and those below the percentiles). Per value: one grid read gives its interval (or a
 * percentile it may equal), the cell comes from one multiplication and the bin from the cell;
 * values the grid cannot place go to `slow`.
 */
function scanCommon(
  column: Float64Array,
  from: number,
  to: number,
  plan: ColumnPlan,
  binCounts: Int32Array,
  equal: Int32Array,
  cellCounts: Int32Array,
  slow: number[],
  totals: Float64Array,
): void {
  const { origin, scale, grid, distinct, cellsPerUnit, S, edges, equalBin, cellBin } = plan;
  const top = plan.G - 1;
  const first = distinct[0] as number;
  const last = distinct[distinct.length - 1] as number;
  const k = edges.length;
  const firstEdge = k > 0 ? (edges[0] as number) : Number.POSITIVE_INFINITY;
  const lastEdge = k > 0 ? (edges[k - 1] as number) : Number.NEGATIVE_INFINITY;
  let n = totals[0] as number;
  let below = totals[1] as number;
  for (let i = from; i < to; i++) {
    const v = column[i] as number;
    if (v - v !== 0) continue;
    const entry = grid[Math.min(Math.max((v - origin) * scale, 0), top) | 0] as number;
    let bin: number;
    if (entry > 0) {
      const t = entry - 1;
      const s = ((v - (distinct[t] as number)) * (cellsPerUnit[t] as number)) | 0;
      const cell = t * S + (s < S ? s : S - 1);
      cellCounts[cell] = (cellCounts[cell] as number) + 1;
      bin = cellBin[cell] as number;
      if (bin < 0) bin = assignBin(edges, v);
    } else if (entry < 0 && v === distinct[-entry - 1]) {
      equal[-entry - 1] = (equal[-entry - 1] as number) + 1;
      bin = equalBin[-entry - 1] as number;
    } else if (v > last) {
      // Beyond the reference (common once a field has drifted): above its edges, as a rule.
      bin = v > lastEdge ? k : assignBin(edges, v);
    } else if (v < first) {
      below++;
      bin = v <= firstEdge ? 0 : assignBin(edges, v);
    } else {
      slow.push(v);
      continue;
    }
    binCounts[bin] = (binCounts[bin] as number) + 1;
    n++;
  }
  totals[0] = n;
  totals[1] = below;
}

/** Σ(v − center) and Σ(v − center)² over the values within the plan's reach, and the values beyond it. */
function momentsAbout(
  column: Float64Array,
  length: number,
  plan: ColumnPlan,
): { sum: number; squares: number; outside: Float64Array } {
  const outside: number[] = [];
  const totals = new Float64Array(4);
  momentsCommon(column, 0, 0, plan, totals, outside); // see scanColumn's empty first call
  for (let from = 0; from < length; from += CHUNK) {
    momentsCommon(column, from, Math.min(length, from + CHUNK), plan, totals, outside);
  }
  const [a1 = 0, a2 = 0, b1 = 0, b2 = 0] = totals;
  return {
    sum: (a1 + a2) / plan.sum.scale,
    squares: (b1 + b2) / plan.squares.scale,
    outside: Float64Array.from(outside),
  };
}

/**
 * The moments' loop over values `from` to `to` (kept apart from the scan: in one loop the
 * registers run out and both slow down). Each term is split on the plan's two fixed grids (see
 * `orderFreeSum`), so `totals` (both levels of both sums) add up exactly, in any order.
 */
function momentsCommon(
  column: Float64Array,
  from: number,
  to: number,
  plan: ColumnPlan,
  totals: Float64Array,
  outside: number[],
): void {
  const { center } = plan;
  const { largest, scale: sumScale, sigma1: sumSigma1, sigma2: sumSigma2 } = plan.sum;
  const { scale: sqScale, sigma1: sqSigma1, sigma2: sqSigma2 } = plan.squares;
  let a1 = totals[0] as number;
  let a2 = totals[1] as number;
  let b1 = totals[2] as number;
  let b2 = totals[3] as number;
  for (let i = from; i < to; i++) {
    const v = column[i] as number;
    if (v - v !== 0) continue;
    const d = v - center;
    if (!(Math.abs(d) <= largest)) {
      outside.push(v);
      continue;
    }
    const x = d * sumScale;
    const q = sumSigma1 + x - sumSigma1;
    a1 += q;
    a2 += sumSigma2 + (x - q) - sumSigma2;
    const y = d * d * sqScale;
    const r = sqSigma1 + y - sqSigma1;
    b1 += r;
    b2 += sqSigma2 + (y - r) - sqSigma2;
  }
  totals[0] = a1;
  totals[1] = a2;
  totals[2] = b1;
  totals[3] = b2;
}

// ---- KS D ----------------------------------------------------------------------------------------

function ksStatistic(plan: ColumnPlan, scan: Scan, column: Float64Array, length: number): number {
  const { distinct, cdfAt, cdfBefore, lastIndex, width, m, S } = plan;
  const { equal, cellCounts } = scan;
  const n = scan.values;
  const J = distinct.length;
  const cells = (J - 1) * S;
  // Terms at the percentiles, and how many values lie before each cell.
  const before = new Float64Array(cells);
  let d = 0;
  let c = scan.below;
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
  // Inside cell s of interval t the reference CDF runs from (i + s/S)/m to (i + (s+1)/S)/m and the
  // live one from before/n to (before + count)/n: no term there exceeds the larger of the two gaps.
  // (Cells are ordered like their values, so `before` counts exactly the values below the cell.)
  const bound = new Float64Array(cells);
  const candidates: number[] = [];
  for (let cell = 0; cell < cells; cell++) {
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
  const { gathered, start } = gatherCells(plan, scan, column, length, candidates);
  const order = candidates
    .map((_, k) => k)
    .sort((a, b) => (bound[candidates[b] as number] as number) - (bound[candidates[a] as number] as number));
  for (const k of order) {
    const cell = candidates[k] as number;
    if ((bound[cell] as number) <= d) break;
    const from = start[k] as number;
    const values = gathered.subarray(from, from + (cellCounts[cell] as number)).sort();
    const t = (cell / S) | 0;
    const i = lastIndex[t] as number;
    const lo = distinct[t] as number;
    const w = width[t] as number;
    let below = before[cell] as number;
    let r = 0;
    while (r < values.length) {
      const x = values[r] as number;
      let after = below;
      while (r < values.length && values[r] === x) {
        r++;
        after++;
      }
      // ks.ts's (i + (x − q[i]) / (q[i + 1] − q[i])) / m, operation for operation.
      const cdf = (i + (x - lo) / w) / m;
      d = Math.max(d, Math.abs(after / n - cdf), Math.abs(below / n - cdf));
      below = after;
    }
  }
  return d;
}

/** The values of the `candidates` cells, grouped by cell in candidate order (a counting sort on the cell). */
function gatherCells(
  plan: ColumnPlan,
  scan: Scan,
  column: Float64Array,
  length: number,
  candidates: readonly number[],
): { gathered: Float64Array; start: Int32Array } {
  const { distinct, cellsPerUnit, S } = plan;
  const J = distinct.length;
  const cursor = new Int32Array((J - 1) * S).fill(-1);
  const wanted = new Uint8Array(J);
  const start = new Int32Array(candidates.length);
  let total = 0;
  candidates.forEach((cell, k) => {
    start[k] = total;
    cursor[cell] = total;
    total += scan.cellCounts[cell] as number;
    wanted[((cell / S) | 0) + 1] = 1;
  });
  const gathered = new Float64Array(total);
  for (let from = 0; from < length; from += CHUNK) {
    gatherCommon(column, from, Math.min(length, from + CHUNK), plan, wanted, cursor, gathered);
  }
  for (const v of scan.slow) {
    const j = assignBin(distinct, v);
    if (j > 0 && j < J && v !== distinct[j] && wanted[j] === 1) {
      const s = ((v - (distinct[j - 1] as number)) * (cellsPerUnit[j - 1] as number)) | 0;
      const cell = (j - 1) * S + (s < S ? s : S - 1);
      const at = cursor[cell] as number;
      if (at >= 0) {
        gathered[at] = v;
        cursor[cell] = at + 1;
      }
    }
  }
  return { gathered, start };
}

/** The gathering loop over values `from` to `to`: the grid's values in wanted intervals, into their cell's slot. */
function gatherCommon(
  column: Float64Array,
  from: number,
  to: number,
  plan: ColumnPlan,
  wanted: Uint8Array,
  cursor: Int32Array,
  gathered: Float64Array,
): void {
  const { origin, scale, grid, distinct, cellsPerUnit, S } = plan;
  const top = plan.G - 1;
  for (let i = from; i < to; i++) {
    const v = column[i] as number;
    if (v - v !== 0) continue;
    const entry = grid[Math.min(Math.max((v - origin) * scale, 0), top) | 0] as number;
    if (entry > 0 && wanted[entry] === 1) {
      const t = entry - 1;
      const s = ((v - (distinct[t] as number)) * (cellsPerUnit[t] as number)) | 0;
      const cell = t * S + (s < S ? s : S - 1);
      const at = cursor[cell] as number;
      if (at >= 0) {
        gathered[at] = v;
        cursor[cell] = at + 1;
      }
    }
  }
}

// ---- Sums that do not depend on the order of the terms ------------------------------------------
//
// A floating-point sum depends on the order of its terms, and a report must not depend on the order
// of the rows. Each term is split on two fixed grids chosen from a bound on the terms and their
// count (Demmel & Nguyen's pre-rounding): the parts on each grid add up exactly, in any order and
// in any grouping, and the two totals are added last. What falls below the second grid is dropped:
// at most count · 2⁻⁶² · the bound, far below a naive sum's rounding error.

interface SumGrid {
  /** The bound on |term| the grids are set for. */
  readonly largest: number;
  /** A power of two bringing every term into [−1, 1]. */
  readonly scale: number;
  /** 1.5 · 2^e of each level: σ + x − σ is x rounded to that level's grid. */
  readonly sigma1: number;
  readonly sigma2: number;
}

/** Grids for up to `count` terms of magnitude at most `largest`. */
function sumGrid(largest: number, count: number): SumGrid {
  const bound = largest > 0 ? Math.min(largest, Number.MAX_VALUE) : 1;
  let e = Math.ceil(Math.log2(bound));
  while (2 ** e < bound) e++;
  let bits = 0;
  while (2 ** bits <= count) bits++;
  // Level 1 keeps the multiples of 2^(e1 − 52): with |x| ≤ 1 = 2^(e1 − 1 − bits), σ1 + x stays in
  // one binade and `count` such parts sum exactly. Level 2 the same for the remainders, |r| ≤ 2^(e1 − 53).
  const e1 = 1 + bits;
  const e2 = e1 - 53 + 1 + bits;
  return { largest: bound, scale: 2 ** Math.min(1000, -e), sigma1: 1.5 * 2 ** e1, sigma2: 1.5 * 2 ** e2 };
}

/** Σ (v − center)^power over the finite values of `values`, the same bits in any order. */
function orderFreeSum(values: Float64Array, length: number, center: number, power: 1 | 2): number {
  let largest = 0;
  let count = 0;
  for (let i = 0; i < length; i++) {
    const v = values[i] as number;
    if (v - v !== 0) continue;
    const d = v - center;
    const term = power === 1 ? Math.abs(d) : d * d;
    if (term > largest) largest = term;
    count++;
  }
  if (count === 0 || largest === 0) return 0;
  if (largest === Number.POSITIVE_INFINITY) return Number.NaN;
  const grid = sumGrid(largest, count);
  let l1 = 0;
  let l2 = 0;
  for (let i = 0; i < length; i++) {
    const v = values[i] as number;
    if (v - v !== 0) continue;
    const d = v - center;
    const x = (power === 1 ? d : d * d) * grid.scale;
    const q = grid.sigma1 + x - grid.sigma1;
    l1 += q;
    l2 += grid.sigma2 + (x - q) - grid.sigma2;
  }
  return (l1 + l2) / grid.scale;
}
