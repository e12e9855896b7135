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
