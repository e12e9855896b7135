// Metrics of a binary classifier's scores against 0/1 labels, as reported for train and test splits.

/** Scores are P(positive); labels are 0 or 1. */
type Scores = ArrayLike<number>;
type Labels = ArrayLike<number>;

/** Summary of a scored split. Undefined ratios (e.g. AUC with one class only) are NaN. */
export interface BinaryMetrics {
  readonly rows: number;
  /** Share of rows labelled positive. */
  readonly positiveRate: number;
  /** Area under the ROC curve: the chance a random positive outscores a random negative. */
  readonly auc: number;
  /** Mean negative log-likelihood (natural log). */
  readonly logLoss: number;
  readonly accuracy: number;
  /** Of the rows predicted positive, the share that are. */
  readonly precision: number;
  /** Of the positive rows, the share predicted positive. */
  readonly recall: number;
}

function checkSameLength(scores: Scores, labels: Labels): number {
  if (scores.length !== labels.length) {
    throw new RangeError(`${scores.length} scores but ${labels.length} labels`);
  }
  return scores.length;
}

/**
 * ROC AUC via the Mann–Whitney statistic. Tied scores share their average rank, so a tie between
 * a positive and a negative counts one half. NaN when either class is absent.
 */
export function rocAuc(scores: Scores, labels: Labels): number {
  const n = checkSameLength(scores, labels);
  const score = (i: number) => scores[i] ?? Number.NaN;
  const order = Array.from({ length: n }, (_, i) => i);
  if (order.some((i) => Number.isNaN(score(i)))) throw new RangeError('scores contain NaN');
  order.sort((a, b) => score(a) - score(b));
  let positives = 0;
  let positiveRankSum = 0;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && score(order[end] ?? 0) === score(order[start] ?? 0)) end++;
    const averageRank = (start + 1 + end) / 2; // ranks are 1-based: start+1 … end
    for (let k = start; k < end; k++) {
      if (labels[order[k] ?? 0] === 1) {
        positives++;
        positiveRankSum += averageRank;
      }
    }
    start = end;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Probabilities are clipped to [ε, 1 − ε] so one confident mistake costs a lot but not Infinity. */
const LOG_LOSS_EPSILON = 1e-15;

/** Mean binary cross-entropy of probabilities `scores` against `labels`. */
export function logLoss(scores: Scores, labels: Labels): number {
  const n = checkSameLength(scores, labels);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.min(1 - LOG_LOSS_EPSILON, Math.max(LOG_LOSS_EPSILON, scores[i] ?? Number.NaN));
    sum -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / n;
}

/** Share of rows whose label matches the prediction `score >= threshold`. */
export function accuracy(scores: Scores, labels: Labels, threshold = 0.5): number {
  const n = checkSameLength(scores, labels);
  let correct = 0;
  for (let i = 0; i < n; i++) if (((scores[i] ?? Number.NaN) >= threshold ? 1 : 0) === labels[i]) correct++;
  return correct / n;
}

/** All of BinaryMetrics for one split; rows scoring at or above `threshold` are predicted positive. */
export function evaluateBinary(scores: Scores, labels: Labels, threshold = 0.5): BinaryMetrics {
  const rows = checkSameLength(scores, labels);
  let truePositives = 0;
  let predictedPositives = 0;
  let positives = 0;
  for (let i = 0; i < rows; i++) {
    const predicted = (scores[i] ?? Number.NaN) >= threshold;
    const actual = labels[i] === 1;
    if (predicted) predictedPositives++;
    if (actual) positives++;
    if (predicted && actual) truePositives++;
  }
  return {
    rows,
    positiveRate: positives / rows,
    auc: rocAuc(scores, labels),
    logLoss: logLoss(scores, labels),
    accuracy: accuracy(scores, labels, threshold),
    precision: truePositives / predictedPositives,
    recall: truePositives / positives,
  };
}
