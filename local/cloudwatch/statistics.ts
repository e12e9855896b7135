// CloudWatch statistics by name: the five basic ones and percentiles (`p99`, `p99.9`), parsed
// once and computed per period over the aggregates a series holds.
import type { MetricAggregate } from './metric-aggregate.ts';

/** A statistic the local store computes. */
export type Statistic =
  | { readonly kind: 'SampleCount' | 'Average' | 'Sum' | 'Minimum' | 'Maximum'; readonly name: string }
  | { readonly kind: 'percentile'; readonly name: string; readonly percentile: number };

const BASIC = new Set(['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum']);

/**
 * `Average`, `Sum`, `Minimum`, `Maximum`, `SampleCount`, or a percentile `pNN`/`pNN.NN` (0–100);
 * undefined for anything else (trimmed means, `IQM`, `PR(…)`, … are not computed locally).
 */
export function parseStatistic(text: string): Statistic | undefined {
  if (BASIC.has(text)) return { kind: text as 'Sum', name: text };
  const match = /^p(\d{1,3}(?:\.\d{1,10})?)$/.exec(text);
  if (!match?.[1]) return undefined;
  const percentile = Number(match[1]);
  if (!(percentile >= 0 && percentile <= 100)) return undefined;
  return { kind: 'percentile', name: text, percentile };
}

/** True for the statistics CloudWatch calls extended (percentiles). */
export const isExtended = (statistic: Statistic): boolean => statistic.kind === 'percentile';

/** The aggregate of one period: a store's bucket, or buckets merged (see MetricAggregate). */
export type PeriodAccumulator = Pick<
  MetricAggregate,
  'count' | 'sum' | 'min' | 'max' | 'opaque' | 'percentile'
>;

/**
 * The statistic of one period; NaN when it has no data (or, for a percentile, cannot be known).
 * Percentiles are exact over few values and within RELATIVE_ACCURACY (1%) over many.
 */
export function statisticValue(acc: PeriodAccumulator, statistic: Statistic): number {
  if (acc.count === 0) return Number.NaN;
  switch (statistic.kind) {
    case 'SampleCount':
      return acc.count;
    case 'Sum':
      return acc.sum;
    case 'Average':
      return acc.sum / acc.count;
    case 'Minimum':
      return acc.min;
    case 'Maximum':
      return acc.max;
    case 'percentile':
      return acc.percentile(statistic.percentile);
  }
}

/**
 * Nearest-rank percentile of weighted samples (`[value, weight, …]`, the first `pairs` of them):
 * the smallest value with at least p% of the weight at or below it; p0 is the minimum.
 */
export function percentile(weighted: ArrayLike<number>, p: number, pairs = weighted.length >> 1): number {
  const n = pairs;
  if (n === 0) return Number.NaN;
  const values = new Float64Array(n);
  let unitWeights = true;
  for (let i = 0; i < n; i++) {
    values[i] = weighted[2 * i] as number;
    if (weighted[2 * i + 1] !== 1) unitWeights = false;
  }
  // A small tolerance: 0.99 * 100 is 98.99999999999999 in binary floating point.
  const TOLERANCE = 1e-9;
  if (unitWeights) {
    // The common case (one sample per datapoint): a typed-array sort, no pair objects.
    values.sort();
    const rank = Math.max(1, Math.ceil((p / 100) * n - TOLERANCE));
    return values[Math.min(n, rank) - 1] as number;
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (values[a] as number) - (values[b] as number));
  let total = 0;
  for (let i = 0; i < n; i++) total += weighted[2 * i + 1] as number;
  if (total <= 0) return Number.NaN;
  if (p <= 0) return values[order[0] as number] as number;
  const rank = (p / 100) * total;
  let seen = 0;
  for (const i of order) {
    seen += weighted[2 * i + 1] as number;
    if (seen >= rank - TOLERANCE) return values[i] as number;
  }
  return values[order[n - 1] as number] as number;
}

/**
 * Samples a percentile needs before CloudWatch calls it statistically significant
 * (EvaluateLowSampleCountPercentile: `10 / (1 - p)`).
 */
export function significantSampleCount(p: number): number {
  // 1000 / (100 - p) rather than 10 / (1 - p/100): exact for p90, p99 in floating point.
  return p >= 100 ? Infinity : 1000 / (100 - p);
}
