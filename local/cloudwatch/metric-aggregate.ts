// What the local metric store keeps of the values that fell in one time bucket (and what a query
// merges buckets into): count, sum, minimum, maximum, and the distribution percentiles need —
// exact while it holds few values, then a log-scale histogram, as CloudWatch itself approximates
// percentiles over many values. Adding a value is a few arithmetic operations and, once the
// histogram covers the value's range, allocates nothing.
//
// Accuracy: the histogram maps a value v > 0 to bin ⌈log_γ v⌉ with γ = (1 + α) / (1 − α) and
// answers with the bin's midpoint 2γᵏ / (γ + 1), which is within a relative α of every value in
// the bin (the DDSketch mapping). So a percentile is within RELATIVE_ACCURACY (1%) of the exact
// nearest-rank percentile (negative values likewise by magnitude; zero exactly; see MAX_BINS for
// the one limit), and clamped to the exact minimum and maximum, so p0 and p100 are exact.
import { percentile as exactPercentile } from './statistics.ts';

/** Relative error bound of a percentile once the values are kept as a histogram. */
export const RELATIVE_ACCURACY = 0.01;

/** Values kept exactly, with their weights (a run of equal values is one); one more turns them into a histogram. */
export const EXACT_VALUES_LIMIT = 256;

/**
 * Most bins per sign: γ^4096 ≈ 10^35. Should one bucket's positive (or negative) values span
 * more orders of magnitude than that, its smallest magnitudes share the lowest bin kept, and only
 * percentiles that fall in the upper 35 orders of magnitude keep the stated accuracy.
 */
const MAX_BINS = 4096;

const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const INV_LN_GAMMA = 1 / Math.log(GAMMA);
/** Bins added beyond the needed range when a histogram grows, so a drifting range grows rarely. */
const GROWTH_SLACK = 32;
/** A small tolerance for ranks: 0.99 * 100 is 98.99999999999999 in binary floating point. */
const RANK_TOLERANCE = 1e-9;

/** The statistic set a PutMetricData call may give instead of values. */
export interface StatisticSetInput {
  readonly sampleCount: number;
  readonly sum: number;
  readonly minimum: number;
  readonly maximum: number;
}

/** Log-scale histogram of magnitudes: dense counts for bin keys `offset … offset + counts.length − 1`. */
class LogBins {
  counts: Float64Array;
  offset: number;
  /** Lowest and highest key holding weight. */
  low = Number.POSITIVE_INFINITY;
  high = Number.NEGATIVE_INFINITY;
  total = 0;

  constructor(firstKey: number) {
    this.counts = new Float64Array(GROWTH_SLACK * 2);
    this.offset = firstKey - GROWTH_SLACK;
  }

  add(key: number, weight: number): void {
    let index = key - this.offset;
    if (index < 0 || index >= this.counts.length) {
      this.cover(key);
      // Past MAX_BINS the lowest keys fold into the lowest bin kept.
      index = Math.max(0, key - this.offset);
      key = index + this.offset;
    }
    this.counts[index] = (this.counts[index] as number) + weight;
    this.total += weight;
    if (key < this.low) this.low = key;
    if (key > this.high) this.high = key;
  }

  addAll(other: LogBins): void {
    if (other.total === 0) return;
    this.cover(other.low);
    this.cover(other.high);
    for (let key = other.low; key <= other.high; key++) {
      const weight = other.counts[key - other.offset] as number;
      if (weight !== 0) this.add(key, weight);
    }
  }

  /** The key of the bin where the weight counted from the lowest key reaches `rank`. */
  keyAtRank(rank: number): number {
    let seen = 0;
    for (let key = this.low; key <= this.high; key++) {
      seen += this.counts[key - this.offset] as number;
      if (seen >= rank - RANK_TOLERANCE) return key;
    }
    return this.high;
  }

  /** Bins allocated (the memory a store accounts for). */
  get size(): number {
    return this.counts.length;
  }

  /** Make `key` addressable: grow (with slack), or fold the lowest bins beyond MAX_BINS. */
  private cover(key: number): void {
    const end = this.offset + this.counts.length; // exclusive
    if (key >= this.offset && key < end) return;
    let from = Math.min(this.offset, key < this.offset ? key - GROWTH_SLACK : this.offset);
    const to = Math.max(end, key >= end ? key + 1 + GROWTH_SLACK : end);
    if (to - from > MAX_BINS) from = to - MAX_BINS;
    const counts = new Float64Array(to - from);
    for (let k = this.low; k <= this.high; k++) {
      const weight = this.counts[k - this.offset] as number;
      if (weight === 0) continue;
      const target = Math.max(k, from) - from;
      counts[target] = (counts[target] as number) + weight;
    }
    this.counts = counts;
    this.offset = from;
    if (this.low < from) this.low = from;
    if (this.high < from) this.high = from;
  }
}

const binKey = (magnitude: number) => Math.ceil(Math.log(magnitude) * INV_LN_GAMMA);
const binValue = (key: number) => (2 * GAMMA ** key) / (GAMMA + 1);

/**
 * The aggregate of some datapoints: CloudWatch's basic statistics, the number of datapoints, and
 * the value distribution for percentiles. Also what a query merges the buckets of a period into.
 */
export class MetricAggregate {
  /** SampleCount: values observed (a datapoint with Counts counts several). */
  count = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  /** Datapoints recorded (PutMetricData entries, EMF values, service events). */
  datapoints = 0;
  /** A statistic set with Minimum ≠ Maximum was added: its values are unknown, so no percentile. */
  opaque = false;

  // Exact values with their weights (`[value, weight, …]`), in arrival order; consecutive equal
  // values share an entry.
  private exact: Float64Array | undefined;
  private exactCount = 0;
  // The histogram, once there were more than EXACT_VALUES_LIMIT entries.
  private positive: LogBins | undefined;
  private negative: LogBins | undefined;
  private zeros = 0;
  private histogram = false;

  /** Record `value` observed `weight` times. */
  add(value: number, weight = 1): void {
    this.count += weight;
    this.sum += value * weight;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    this.datapoints++;
    this.addToDistribution(value, weight);
  }

  /** Record a statistic set whose values are unknown (Minimum ≠ Maximum). */
  addStatisticSet(set: StatisticSetInput): void {
    this.count += set.sampleCount;
    this.sum += set.sum;
    if (set.minimum < this.min) this.min = set.minimum;
    if (set.maximum > this.max) this.max = set.maximum;
    this.datapoints++;
    this.opaque = true;
  }

  /** Add everything `other` holds (its distribution only when `withDistribution`). */
  merge(other: MetricAggregate, withDistribution = true): void {
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    this.datapoints += other.datapoints;
    if (other.opaque) this.opaque = true;
    if (!withDistribution) return;
    if (!other.histogram) {
      const exact = other.exact;
      for (let i = 0; exact && i < other.exactCount; i++)
        this.addToDistribution(exact[2 * i] as number, exact[2 * i + 1] as number);
      return;
    }
    if (!this.histogram) this.toHistogram();
    this.zeros += other.zeros;
    if (other.positive) {
      this.positive ??= new LogBins(other.positive.low);
      this.positive.addAll(other.positive);
    }
    if (other.negative) {
      this.negative ??= new LogBins(other.negative.low);
      this.negative.addAll(other.negative);
    }
  }

  /** A copy (the distribution too): queries merge into copies, never into the store's buckets. */
  clone(withDistribution = true): MetricAggregate {
    const copy = new MetricAggregate();
    copy.merge(this, withDistribution);
    return copy;
  }

  /**
   * Nearest-rank percentile (0–100): the smallest value with at least p% of the weight at or
   * below it; p0 is the minimum. Exact while the values are kept exactly, within
   * RELATIVE_ACCURACY once they are a histogram. NaN without values or after a statistic set.
   */
  percentile(p: number): number {
    if (this.opaque || this.count <= 0) return Number.NaN;
    if (p <= 0) return this.min;
    if (p >= 100) return this.max;
    if (!this.histogram) return this.exact ? exactPercentile(this.exact, p, this.exactCount) : Number.NaN;
    const rank = (p / 100) * this.distributionWeight();
    const negativeWeight = this.negative?.total ?? 0;
    let value: number;
    if (rank <= negativeWeight + RANK_TOLERANCE && this.negative) {
      // From the most negative: the largest magnitudes first.
      value = -binValue(this.negativeKeyAtRank(rank));
    } else if (rank <= negativeWeight + this.zeros + RANK_TOLERANCE) {
      value = 0;
    } else if (this.positive) {
      value = binValue(this.positive.keyAtRank(rank - negativeWeight - this.zeros));
    } else value = this.max;
    return Math.min(this.max, Math.max(this.min, value));
  }

  /** Memory held for the distribution, in 8-byte cells (a store bounds what it keeps by this). */
  get cells(): number {
    if (!this.histogram) return this.exact?.length ?? 0;
    return (this.positive?.size ?? 0) + (this.negative?.size ?? 0);
  }

  private addToDistribution(value: number, weight: number): void {
    if (!this.histogram) {
      const exact = this.exact;
      const last = 2 * (this.exactCount - 1);
      if (exact && last >= 0 && exact[last] === value) {
        exact[last + 1] = (exact[last + 1] as number) + weight;
        return;
      }
      if (this.exactCount < EXACT_VALUES_LIMIT) {
        this.appendExact(value, weight);
        return;
      }
      this.toHistogram();
    }
    this.addToHistogram(value, weight);
  }

  private appendExact(value: number, weight: number): void {
    let exact = this.exact;
    if (!exact || 2 * this.exactCount === exact.length) {
      const grown = new Float64Array(2 * Math.min(EXACT_VALUES_LIMIT, Math.max(4, this.exactCount * 2)));
      if (exact) grown.set(exact.subarray(0, 2 * this.exactCount));
      exact = grown;
      this.exact = grown;
    }
    exact[2 * this.exactCount] = value;
    exact[2 * this.exactCount + 1] = weight;
    this.exactCount++;
  }

  private toHistogram(): void {
    const exact = this.exact;
    const n = this.exactCount;
    this.histogram = true;
    this.exact = undefined;
    this.exactCount = 0;
    for (let i = 0; exact && i < n; i++)
      this.addToHistogram(exact[2 * i] as number, exact[2 * i + 1] as number);
  }

  private addToHistogram(value: number, weight: number): void {
    if (value > 0) {
      const key = binKey(value);
      this.positive ??= new LogBins(key);
      this.positive.add(key, weight);
    } else if (value < 0) {
      const key = binKey(-value);
      this.negative ??= new LogBins(key);
      this.negative.add(key, weight);
    } else this.zeros += weight;
  }

  private distributionWeight(): number {
    return (this.negative?.total ?? 0) + this.zeros + (this.positive?.total ?? 0);
  }

  /** Negative values ordered from the most negative: walk magnitudes from the largest. */
  private negativeKeyAtRank(rank: number): number {
    const bins = this.negative as LogBins;
    let seen = 0;
    for (let key = bins.high; key >= bins.low; key--) {
      seen += bins.counts[key - bins.offset] as number;
      if (seen >= rank - RANK_TOLERANCE) return key;
    }
    return bins.low;
  }
}
