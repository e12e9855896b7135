// The local metric store: datapoints by metric (namespace, name and the exact dimension set, as
// CloudWatch keys them), kept in memory for a bounded time and count per series, aggregated per
// period on demand. Writers on hot paths (gateway, Lambda) keep the series they write to and call
// `add`: a few typed-array stores, no allocation per datapoint.
import { emptyAccumulator, type PeriodAccumulator } from './statistics.ts';

export interface Dimension {
  readonly name: string;
  readonly value: string;
}

/** Dimensions as a name → value map or as a list of pairs. */
export type DimensionsInput = Readonly<Record<string, string>> | readonly Dimension[];

/** Aggregated datapoints (PutMetricData's StatisticValues). */
export interface StatisticSet {
  readonly sampleCount: number;
  readonly sum: number;
  readonly minimum: number;
  readonly maximum: number;
}

/** Consecutive periods: `count` periods of `periodMs` from `start` (epoch ms, aligned). */
export interface PeriodGrid {
  readonly start: number;
  readonly periodMs: number;
  readonly count: number;
}

export interface MetricStoreOptions {
  /** Datapoints older than this are dropped. @default 24 hours */
  readonly retentionMs?: number;
  /** Most datapoints one series keeps; the oldest go first. @default 50,000 */
  readonly maxPointsPerSeries?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const INITIAL_CAPACITY = 64;

/** The start of the period `timestamp` falls in (periods are aligned to the epoch, as CloudWatch aligns them). */
export const periodStart = (timestamp: number, periodMs: number): number =>
  Math.floor(timestamp / periodMs) * periodMs;

/** Sorted by name: CloudWatch treats dimension sets as unordered. */
export function normalizeDimensions(dimensions: DimensionsInput | undefined): Dimension[] {
  const list = Array.isArray(dimensions)
    ? (dimensions as readonly Dimension[]).map((d) => ({ name: d.name, value: d.value }))
    : Object.entries((dimensions ?? {}) as Record<string, string>).map(([name, value]) => ({ name, value }));
  return list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function seriesKey(namespace: string, metricName: string, dimensions: readonly Dimension[]): string {
  let key = `${namespace}\u0000${metricName}`;
  for (const d of dimensions) key += `\u0000${d.name}\u0001${d.value}`;
  return key;
}

/** One metric's datapoints: a ring of (timestamp, value, count) plus any statistic sets. */
export class MetricSeries {
  /** Unit of the latest datapoint that named one. */
  unit: string | undefined;
  /** Timestamp of the newest datapoint (epoch ms). */
  lastTimestamp = Number.NEGATIVE_INFINITY;
  private times = new Float64Array(INITIAL_CAPACITY);
  private values = new Float64Array(INITIAL_CAPACITY);
  private counts = new Float64Array(INITIAL_CAPACITY);
  private head = 0;
  private size = 0;
  private sets: Array<StatisticSet & { readonly timestamp: number }> = [];
  /**
   * How far (ms) a datapoint has arrived behind the newest one before it. Every datapoint is at
   * most this much older than any written after it, so a scan from the newest can stop there.
   */
  private maxLag = 0;

  constructor(
    readonly namespace: string,
    readonly metricName: string,
    /** Sorted by name. */
    readonly dimensions: readonly Dimension[],
    private readonly maxPoints: number,
    private readonly onData: () => void,
  ) {}

  /** Record `value` observed `count` times at `timestamp` (epoch ms). */
  add(timestamp: number, value: number, count = 1, unit?: string): void {
    if (this.size === this.times.length) {
      if (this.times.length < this.maxPoints) this.grow();
      else {
        this.head = (this.head + 1) % this.times.length; // full: the oldest datapoint goes
        this.size--;
      }
    }
    const at = (this.head + this.size) % this.times.length;
    this.times[at] = timestamp;
    this.values[at] = value;
    this.counts[at] = count;
    this.size++;
    if (unit !== undefined) this.unit = unit;
    if (timestamp > this.lastTimestamp) this.lastTimestamp = timestamp;
    else if (this.lastTimestamp - timestamp > this.maxLag) this.maxLag = this.lastTimestamp - timestamp;
    this.onData();
  }

  /** Record aggregated datapoints (their individual values stay unknown: no percentiles over them). */
  addStatisticSet(timestamp: number, set: StatisticSet, unit?: string): void {
    if (set.minimum === set.maximum) {
      this.add(timestamp, set.minimum, set.sampleCount, unit);
      return;
    }
    if (this.sets.length >= this.maxPoints) this.sets.shift();
    this.sets.push({ ...set, timestamp });
    if (unit !== undefined) this.unit = unit;
    if (timestamp > this.lastTimestamp) this.lastTimestamp = timestamp;
    this.onData();
  }

  /** Datapoints held. */
  get length(): number {
    return this.size + this.sets.length;
  }

  /**
   * Aggregate the datapoints in `grid`, one accumulator per period (undefined: no data).
   * `collectSamples` keeps the raw values, which percentiles need.
   */
  periods(grid: PeriodGrid, collectSamples: boolean): Array<PeriodAccumulator | undefined> {
    const out: Array<PeriodAccumulator | undefined> = new Array(grid.count).fill(undefined);
    const end = grid.start + grid.count * grid.periodMs;
    const accumulatorAt = (timestamp: number): PeriodAccumulator | undefined => {
      if (timestamp < grid.start || timestamp >= end) return undefined;
      const index = Math.floor((timestamp - grid.start) / grid.periodMs);
      let acc = out[index];
      if (!acc) {
        acc = emptyAccumulator(collectSamples);
        out[index] = acc;
      }
      return acc;
    };
    // Newest first, stopping where no older datapoint can fall in the grid any more: an alarm
    // reads its last few periods, not the whole retention window.
    const capacity = this.times.length;
    const stopBelow = grid.start - this.maxLag;
    for (let i = this.size - 1; i >= 0; i--) {
      const at = (this.head + i) % capacity;
      const timestamp = this.times[at] as number;
      if (timestamp < stopBelow) break;
      const acc = accumulatorAt(timestamp);
      if (!acc) continue;
      const value = this.values[at] as number;
      const count = this.counts[at] as number;
      acc.count += count;
      acc.sum += value * count;
      if (value < acc.min) acc.min = value;
      if (value > acc.max) acc.max = value;
      acc.samples?.push(value, count);
    }
    for (const set of this.sets) {
      const acc = accumulatorAt(set.timestamp);
      if (!acc) continue;
      acc.count += set.sampleCount;
      acc.sum += set.sum;
      if (set.minimum < acc.min) acc.min = set.minimum;
      if (set.maximum > acc.max) acc.max = set.maximum;
      acc.opaque = true;
    }
    return out;
  }

  /** Drop datapoints older than `cutoff` (epoch ms). */
  prune(cutoff: number): void {
    const capacity = this.times.length;
    // Mostly in time order: drop from the oldest end while it is too old.
    while (this.size > 0 && (this.times[this.head] as number) < cutoff) {
      this.head = (this.head + 1) % capacity;
      this.size--;
    }
    if (this.sets.length > 0 && (this.sets[0] as { timestamp: number }).timestamp < cutoff)
      this.sets = this.sets.filter((s) => s.timestamp >= cutoff);
  }

  private grow(): void {
    const capacity = Math.min(this.maxPoints, this.times.length * 2);
    const copy = (from: Float64Array) => {
      const to = new Float64Array(capacity);
      for (let i = 0; i < this.size; i++) to[i] = from[(this.head + i) % from.length] as number;
      return to;
    };
    this.times = copy(this.times);
    this.values = copy(this.values);
    this.counts = copy(this.counts);
    this.head = 0;
  }
}

/** Every series the platform has written, by exact metric identity. */
export class MetricStore {
  /** Called after every datapoint (the alarm evaluator schedules an evaluation). */
  onData: () => void = () => undefined;
  readonly retentionMs: number;
  private readonly maxPoints: number;
  private readonly now: () => number;
  private readonly byKey = new Map<string, MetricSeries>();
  private readonly notify = () => this.onData();

  constructor(options: MetricStoreOptions = {}) {
    this.retentionMs = options.retentionMs ?? DAY_MS;
    this.maxPoints = Math.max(INITIAL_CAPACITY, options.maxPointsPerSeries ?? 50_000);
    this.now = options.now ?? Date.now;
  }

  /** The series of a metric, created on first use: keep it to write to it cheaply. */
  series(namespace: string, metricName: string, dimensions?: DimensionsInput): MetricSeries {
    const normalized = normalizeDimensions(dimensions);
    const key = seriesKey(namespace, metricName, normalized);
    let series = this.byKey.get(key);
    if (!series) {
      series = new MetricSeries(namespace, metricName, normalized, this.maxPoints, this.notify);
      this.byKey.set(key, series);
    }
    return series;
  }

  /** The series with exactly these dimensions, if any datapoint was written to it. */
  find(namespace: string, metricName: string, dimensions?: DimensionsInput): MetricSeries | undefined {
    return this.byKey.get(seriesKey(namespace, metricName, normalizeDimensions(dimensions)));
  }

  /** Series that hold datapoints, optionally of one namespace and metric name. */
  list(filter: { namespace?: string; metricName?: string } = {}): MetricSeries[] {
    return [...this.byKey.values()].filter(
      (s) =>
        s.length > 0 &&
        (filter.namespace === undefined || s.namespace === filter.namespace) &&
        (filter.metricName === undefined || s.metricName === filter.metricName),
    );
  }

  /** True when a datapoint at `timestamp` is within the retention window (and not far in the future). */
  accepts(timestamp: number): boolean {
    const now = this.now();
    // CloudWatch refuses datapoints more than two hours ahead.
    return timestamp >= now - this.retentionMs && timestamp <= now + 2 * 60 * 60 * 1000;
  }

  /**
   * Drop datapoints past retention. Emptied series stay: writers keep references to them, and
   * their number is bounded by the metrics the platform and its functions name.
   */
  prune(): void {
    const cutoff = this.now() - this.retentionMs;
    for (const series of this.byKey.values()) series.prune(cutoff);
  }
}
