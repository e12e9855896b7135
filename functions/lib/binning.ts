// Where a value falls among ascending bin edges: one rule for the trees' histogram bins and the
// drift profile's quantile bins, so a value on an edge lands on the same side everywhere.

/**
 * The bin of a (finite) `value` among ascending `edges`: the index of the first edge ≥ value, or
 * `edges.length` above them all. A value equal to an edge goes to the lower bin. Binary search.
 */
export function assignBin(edges: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((edges[mid] ?? 0) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * `assignBin` precomputed for one set of edges, for binning many values: a uniform grid over the
 * edges' range maps a value to its bin in a few arithmetic steps instead of a branchy binary search.
 * Build it with `binTable`, query it with `lookupBin`.
 */
export interface BinTable {
  readonly edges: ArrayLike<number>;
  /** The first edge: where grid cell 0 starts. */
  readonly origin: number;
  /** Grid cells per unit of value. */
  readonly scale: number;
  /** The index of `table`'s last entry (the bin of everything above the grid). */
  readonly top: number;
  /** The bin most of each grid cell falls in; entry 0 is below the grid, entry `top` above it. */
  readonly table: Int32Array;
  /** `lower[b]` and `upper[b]` bound bin b (lower exclusive, upper inclusive): the table's answer is checked against them. */
  readonly lower: Float64Array;
  readonly upper: Float64Array;
}

/** Grid cells per bin at least: enough that few cells hold an edge (the only ones needing the binary search). */
const CELLS_PER_BIN = 64;
/** Grid cells at most (a 256 kB table). */
const MAX_CELLS = 1 << 16;

/** A `BinTable` for ascending `edges` (as `assignBin` takes them). */
export function binTable(edges: ArrayLike<number>): BinTable {
  const k = edges.length;
  const first = k > 0 ? (edges[0] ?? 0) : 0;
  const last = k > 0 ? (edges[k - 1] ?? 0) : 0;
  // Cells no wider than half the narrowest bin where memory allows, so that dense regions of
  // unevenly spread edges (quantiles of a skewed field) still get cells of their own.
  let narrowest = Number.POSITIVE_INFINITY;
  for (let i = 1; i < k; i++) {
    const gap = (edges[i] ?? 0) - (edges[i - 1] ?? 0);
    if (gap > 0 && gap < narrowest) narrowest = gap;
  }
  const wanted = Math.ceil((2 * (last - first)) / narrowest);
  const cells = Math.min(MAX_CELLS, Math.max(CELLS_PER_BIN * (k + 1), Number.isFinite(wanted) ? wanted : 0));
  let width = (last - first) / cells;
  // One edge, or a span too wide for a double: any grid will do, as every answer is checked.
  if (!(width > 0 && Number.isFinite(width) && Number.isFinite(1 / width))) width = 1;
  const table = new Int32Array(cells + 2);
  // Each cell gets the bin of its midpoint: right for all of the cell unless an edge lies inside it.
  for (let c = 0; c < cells; c++) table[c + 1] = assignBin(edges, first + (c + 0.5) * width);
  table[cells + 1] = k;
  const lower = new Float64Array(k + 1);
  const upper = new Float64Array(k + 1);
  for (let b = 0; b <= k; b++) {
    lower[b] = b === 0 ? Number.NEGATIVE_INFINITY : (edges[b - 1] ?? 0);
    upper[b] = b === k ? Number.POSITIVE_INFINITY : (edges[b] ?? 0);
  }
  return { edges, origin: first, scale: 1 / width, top: cells + 1, table, lower, upper };
}

/** `assignBin(table.edges, value)` for a finite `value`, from the table where it can. */
export function lookupBin(table: BinTable, value: number): number {
  const g = Math.min(Math.max((value - table.origin) * table.scale + 1, 0), table.top);
  const bin = table.table[g | 0] ?? 0;
  return value > (table.lower[bin] ?? 0) && value <= (table.upper[bin] ?? 0)
    ? bin
    : assignBin(table.edges, value);
}
