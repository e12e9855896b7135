// Population stability index: how far a live distribution over fixed bins has moved from the reference's.

/**
 * Floor for a bin's share before taking logarithms. An empty bin (a category that did not turn
 * up, or a live value range the reference never reached) would otherwise give ln 0 = −∞. At 1e-4
 * the floor sits below one row in any window under 10,000 rows, so every observed share is kept
 * as it is, while an emptied bin of reference share p still contributes p·ln(p / 1e-4) — 0.69 for
 * p = 0.1, a significant shift as it should be — instead of infinity.
 */
export const DEFAULT_PSI_EPSILON = 1e-4;

/** Slack allowed in a sum of shares that should be 1 (shares read back from rounded JSON, say). */
const SHARE_SUM_TOLERANCE = 1e-6;

export interface PsiOptions {
  /** Shares below this are raised to it (clipped, not renormalised). @default DEFAULT_PSI_EPSILON */
  readonly epsilon?: number;
}

export interface PsiResult {
  /** The index: the sum of `contributions`; 0 for identical shares, never negative. */
  readonly psi: number;
  /** Per bin, (actual − expected) · ln(actual / expected) on the clipped shares; each ≥ 0. */
  readonly contributions: readonly number[];
}

function checkShares(name: string, shares: readonly number[]): void {
  let sum = 0;
  shares.forEach((share, i) => {
    if (!(Number.isFinite(share) && share >= 0 && share <= 1)) {
      throw new RangeError(`${name}[${i}] must be a share in [0, 1], got ${share}`);
    }
    sum += share;
  });
  if (Math.abs(sum - 1) > SHARE_SUM_TOLERANCE) throw new RangeError(`${name} shares sum to ${sum}, not 1`);
}

/**
 * PSI = Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ) of `actual` against `expected`, both shares (summing to 1) over
 * the same bins in the same order. Shares are clipped to at least `epsilon` so that an empty bin
 * gives a large but finite term; the other bins are not rescaled, so each non-empty bin contributes
 * exactly its textbook value. Rule of thumb: < 0.1 stable, 0.1–0.25 watch, > 0.25 significant.
 * A window drawn from the reference distribution itself scores about (bins − 1) / rows (a χ² with
 * bins − 1 degrees of freedom over rows), the noise floor to keep well below those thresholds.
 */
export function populationStabilityIndex(
  expected: readonly number[],
  actual: readonly number[],
  opts: PsiOptions = {},
): PsiResult {
  const epsilon = opts.epsilon ?? DEFAULT_PSI_EPSILON;
  if (!(epsilon > 0 && epsilon < 1)) throw new RangeError(`epsilon must be in (0, 1), got ${epsilon}`);
  if (expected.length === 0) throw new RangeError('PSI needs at least one bin');
  if (actual.length !== expected.length) {
    throw new RangeError(`expected has ${expected.length} bins but actual has ${actual.length}`);
  }
  checkShares('expected', expected);
  checkShares('actual', actual);
  let psi = 0;
  const contributions = expected.map((e, i) => {
    const p = Math.max(e, epsilon);
    const q = Math.max(actual[i] ?? 0, epsilon);
    const term = (q - p) * Math.log(q / p);
    psi += term;
    return term;
  });
  return { psi, contributions };
}
