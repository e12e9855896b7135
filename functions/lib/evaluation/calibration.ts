// Reliability of a classifier's scores: of the rows scored about p, does a share p turn out positive?

/** One equal-width slice of the score range: [lower, upper), the last one closed at 1. */
export interface CalibrationBin {
  readonly lower: number;
  readonly upper: number;
  readonly rows: number;
  /** Mean score of the bin's rows; null when the bin is empty. */
  readonly meanScore: number | null;
  /** Share of the bin's rows labelled positive; null when the bin is empty. */
  readonly observedRate: number | null;
}

/** Bin of `score` among `bins` equal-width bins, consistent with the bounds `k / bins` reported. */
function binIndex(score: number, bins: number): number {
  let k = Math.min(bins - 1, Math.floor(score * bins));
  // score · bins can round across an integer: settle on the bin whose reported bounds hold the score.
  if (k > 0 && score < k / bins) k--;
  else if (k < bins - 1 && score >= (k + 1) / bins) k++;
  return k;
}

/**
 * Reliability diagram of `scores` (probabilities in [0, 1]) against 0/1 `labels`: `bins`
 * equal-width bins over [0, 1], every bin kept, empty ones with 0 rows and null means.
 */
export function calibrationBins(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  bins = 10,
): CalibrationBin[] {
  if (!(Number.isInteger(bins) && bins >= 1))
    throw new RangeError(`bins must be an integer ≥ 1, got ${bins}`);
  if (scores.length !== labels.length) {
    throw new RangeError(`${scores.length} scores but ${labels.length} labels`);
  }
  const rows = new Float64Array(bins);
  const scoreSums = new Float64Array(bins);
  const positives = new Float64Array(bins);
  for (let i = 0; i < scores.length; i++) {
    const score = scores[i] ?? Number.NaN;
    if (!(score >= 0 && score <= 1))
      throw new RangeError(`scores[${i}] is ${score}; scores must be in [0, 1]`);
    const k = binIndex(score, bins);
    rows[k] = (rows[k] ?? 0) + 1;
    scoreSums[k] = (scoreSums[k] ?? 0) + score;
    if (labels[i] === 1) positives[k] = (positives[k] ?? 0) + 1;
  }
  return Array.from({ length: bins }, (_, k) => {
    const n = rows[k] ?? 0;
    return {
      lower: k / bins,
      upper: (k + 1) / bins,
      rows: n,
      meanScore: n > 0 ? (scoreSums[k] ?? 0) / n : null,
      observedRate: n > 0 ? (positives[k] ?? 0) / n : null,
    };
  });
}

/**
 * Expected calibration error: the row-weighted mean over bins of |meanScore − observedRate|.
 * 0 for perfectly calibrated scores; fails when the bins hold no rows.
 */
export function expectedCalibrationError(bins: readonly CalibrationBin[]): number {
  let rows = 0;
  let weighted = 0;
  for (const bin of bins) {
    if (bin.rows === 0 || bin.meanScore === null || bin.observedRate === null) continue;
    rows += bin.rows;
    weighted += bin.rows * Math.abs(bin.meanScore - bin.observedRate);
  }
  if (rows === 0) throw new RangeError('calibration bins hold no rows');
  return weighted / rows;
}
