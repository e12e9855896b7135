// Kolmogorov–Smirnov statistic D (the largest gap between two CDFs) of a live sample against the
// reference profile's percentiles, the exact two-sample version, and an informational p-value.

/** Ascending copy of `sample`; fails on an empty sample or a value that is not a finite number. */
function sortedSample(name: string, sample: ArrayLike<number>): Float64Array {
  if (sample.length === 0) throw new RangeError(`${name} is empty`);
  const sorted = Float64Array.from(sample);
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i] ?? Number.NaN;
    if (!Number.isFinite(v)) throw new RangeError(`${name}[${i}] must be a finite number, got ${v}`);
  }
  return sorted.sort();
}

/**
 * Exact two-sample KS statistic: sup over x of |F_a(x) − F_b(x)| for the empirical CDFs of two
 * raw samples, ties handled (both CDFs step past a shared value before they are compared).
 */
export function ksStatistic(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const x = sortedSample('a', a);
  const y = sortedSample('b', b);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i] ?? 0, y[j] ?? 0);
    while (i < x.length && x[i] === v) i++;
    while (j < y.length && y[j] === v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

/** Index of the last of ascending `q` that is ≤ `x` (`orEqual`) or < `x`; −1 when there is none. */
function lastBelow(q: readonly number[], x: number, orEqual: boolean): number {
  let lo = 0;
  let hi = q.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = q[mid] ?? 0;
    if (v < x || (orEqual && v === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/**
 * The reference CDF at `x` (or its limit from the left) from percentiles q₀ … q_m at probabilities
 * i/m: the inverse of the piecewise-linear quantile function, so linear between distinct
 * percentiles, with a jump where percentiles repeat (a value held by many rows), 0 below q₀ and 1
 * from q_m on.
 */
function referenceCdf(q: readonly number[], x: number, fromLeft: boolean): number {
  const m = q.length - 1;
  const i = lastBelow(q, x, !fromLeft);
  if (i < 0) return 0;
  if (i >= m) return 1;
  // q[i] ≤ x < q[i + 1] (or q[i] < x ≤ q[i + 1] from the left): both exist and differ.
  const lo = q[i] ?? x;
  const hi = q[i + 1] ?? x;
  return (i + (x - lo) / (hi - lo)) / m;
}

/**
 * KS statistic D of a live `sample` against a reference known only by its `percentiles` (the
 * profile's 101 numbers: the 0th, 1st, …, 100th; any m + 1 ≥ 2 evenly spaced ones will do).
 *
 * The reference CDF is interpolated linearly between percentiles. The true reference CDF passes
 * through the same points and is monotone, so between two percentiles it differs from the
 * interpolation by less than their spacing: D is within 0.01 of the D against the training rows
 * themselves (which the profile does not keep). Below the 0th and above the 100th percentile (the
 * training minimum and maximum) the reference CDF is exactly 0 and 1.
 *
 * The supremum is exact for that piecewise-linear CDF: both CDFs are monotone and the live one is
 * constant between sample values, so the gap is largest at a sample value or a percentile, on one
 * side or the other; each is checked from the right and from the left.
 */
export function ksStatisticFromPercentiles(
  percentiles: readonly number[],
  sample: ArrayLike<number>,
): number {
  if (percentiles.length < 2) throw new RangeError(`need at least 2 percentiles, got ${percentiles.length}`);
  percentiles.forEach((v, i) => {
    if (!Number.isFinite(v) || (i > 0 && v < (percentiles[i - 1] ?? v))) {
      throw new RangeError(`percentiles must be finite and ascending; [${i}] is ${v}`);
    }
  });
  const s = sortedSample('sample', sample);
  const n = s.length;
  let i = 0;
  let k = 0;
  let d = 0;
  // Walk the sample values and the percentiles together, in ascending order, once each.
  while (i < n || k < percentiles.length) {
    const x = Math.min(s[i] ?? Number.POSITIVE_INFINITY, percentiles[k] ?? Number.POSITIVE_INFINITY);
    const before = i / n;
    while (i < n && s[i] === x) i++;
    while (k < percentiles.length && percentiles[k] === x) k++;
    d = Math.max(
      d,
      Math.abs(i / n - referenceCdf(percentiles, x, false)),
      Math.abs(before - referenceCdf(percentiles, x, true)),
    );
  }
  return d;
}

/** Terms summed at most in the Kolmogorov series; both converge in a handful for λ where they are used. */
const MAX_TERMS = 100;

/** P(K > λ) for the Kolmogorov distribution. */
function kolmogorovSurvival(lambda: number): number {
  if (lambda <= 0) return 1;
  if (lambda < 1.18) {
    // P(K ≤ λ) = √(2π)/λ · Σ exp(−(2j − 1)²π² / (8λ²)), fast for small λ.
    let cdf = 0;
    for (let j = 1; j <= MAX_TERMS; j++) {
      const term = Math.exp((-((2 * j - 1) ** 2) * Math.PI ** 2) / (8 * lambda * lambda));
      cdf += term;
      if (term < 1e-17 * cdf) break;
    }
    return Math.min(1, Math.max(0, 1 - (Math.sqrt(2 * Math.PI) / lambda) * cdf));
  }
  // P(K > λ) = 2 Σ (−1)^(j−1) exp(−2j²λ²), fast for large λ.
  let survival = 0;
  for (let j = 1; j <= MAX_TERMS; j++) {
    const term = Math.exp(-2 * j * j * lambda * lambda);
    survival += j % 2 === 1 ? term : -term;
    if (term < 1e-17) break;
  }
  return Math.min(1, Math.max(0, 2 * survival));
}

/**
 * Asymptotic p-value of a KS statistic `d` from samples of sizes `n` and `m` (omit `m` for a
 * sample against a fully known distribution): the Kolmogorov tail at (√nₑ + 0.12 + 0.11/√nₑ)·d
 * with nₑ = n·m/(n + m) (Stephens' small-sample correction).
 *
 * For information only: with large windows p-values flag everything. At a million rows a gap of
 * half a percentage point between CDFs is "significant", a difference no model would notice, so
 * drift is judged on the effect size D (or PSI), never on this number.
 */
export function ksAsymptoticPValue(d: number, n: number, m?: number): number {
  if (!(d >= 0 && d <= 1)) throw new RangeError(`d must be in [0, 1], got ${d}`);
  for (const [name, size] of [
    ['n', n],
    ['m', m ?? 1],
  ] as const) {
    if (!(Number.isInteger(size) && size >= 1))
      throw new RangeError(`${name} must be an integer ≥ 1, got ${size}`);
  }
  const ne = m === undefined ? n : (n * m) / (n + m);
  const root = Math.sqrt(ne);
  return kolmogorovSurvival((root + 0.12 + 0.11 / root) * d);
}
