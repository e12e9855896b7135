// The local metric store: datapoints by metric (namespace, name and the exact dimension set, as
// CloudWatch keys them), aggregated as they arrive into one aggregate per second and one per
// minute (count, sum, minimum, maximum and the value distribution, see MetricAggregate), kept
// for a bounded time; a query merges the aggregates of each of its periods. So writing a
// datapoint costs the same however many the series holds, memory does not grow with traffic,
// and an alarm reads a few aggregates per period instead of every datapoint. Writers on hot
// paths (gateway, Lambda) keep the series they write to and call `add`.
import { MetricAggregate } from './metric-aggregate.ts';
import type { PeriodAccumulator } from './statistics.ts';

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
  /** Datapoints older than this are dropped (the per-minute aggregates keep them until then). @default 24 hours */
  readonly retentionMs?: number;
  /**
   * How long the per-second aggregates are kept, which periods under a minute read; older data
   * is kept per minute (CloudWatch keeps sub-minute data for 3 hours too). @default 3 hours
   */
  readonly highResolutionRetentionMs?: number;
  /**
   * Memory one series may hold in per-second aggregates (give or take its newest minute's); past
   * it the oldest minutes lose their per-second detail first (their per-minute aggregates stay).
   * @default 8 MiB
   */
  readonly maxHighResolutionBytesPerSeries?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

const SECOND_MS = 1000;
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const minuteOf = (time: number) => Math.floor(time / MINUTE_MS) * MINUTE_MS;
/** Memory counted per bucket beyond its distribution, in 8-byte cells (objects and fields). */
const BUCKET_OVERHEAD_CELLS = 32;

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

/** The aggregate of the datapoints whose timestamps fall in [start, start + width). */
interface Bucket {
  readonly start: number;
  readonly aggregate: MetricAggregate;
}

/** Buckets of one width, in time order; datapoints mostly arrive for the newest. */
class Buckets {
  readonly list: Bucket[] = [];

  constructor(readonly widthMs: number) {}

  /**
   * The bucket for `timestamp`, created when missing. `onNew` hears about a bucket appended
   * after the newest (the one before it will rarely change again).
   */
  at(timestamp: number, onNew?: (previous: Bucket) => void): MetricAggregate {
    const start = Math.floor(timestamp / this.widthMs) * this.widthMs;
    const list = this.list;
    const last = list[list.length - 1];
    if (last && last.start === start) return last.aggregate;
    const bucket: Bucket = { start, aggregate: new MetricAggregate() };
    if (!last || start > last.start) {
      list.push(bucket);
      if (last) onNew?.(last);
      return bucket.aggregate;
    }
    const index = this.firstAtOrAfter(start);
    const found = list[index];
    if (found && found.start === start) return found.aggregate;
    list.splice(index, 0, bucket);
    return bucket.aggregate;
  }

  /** Index of the first bucket starting at or after `time` (binary search). */
  firstAtOrAfter(time: number): number {
    let low = 0;
    let high = this.list.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.list[mid] as Bucket).start < time) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

/** One metric's datapoints, as per-second and per-minute aggregates. */
export class MetricSeries {
  /** Unit of the latest datapoint that named one. */
  unit: string | undefined;
  /** Timestamp of the newest datapoint (epoch ms). */
  lastTimestamp = Number.NEGATIVE_INFINITY;
  private readonly minutes = new Buckets(MINUTE_MS);
  private readonly seconds = new Buckets(SECOND_MS);
  /** Per-second aggregates are complete from here on (older ones were dropped). */
  private secondsFrom = Number.NEGATIVE_INFINITY;
  /** Memory of the per-second aggregates, in 8-byte cells (the newest one's not yet counted). */
  private secondCells = 0;
  private datapoints = 0;
  private readonly sealSecond = (previous: Bucket) => {
    this.secondCells += previous.aggregate.cells + BUCKET_OVERHEAD_CELLS;
    if (this.secondCells > this.maxSecondCells)
      this.dropSecondsWhile(() => this.secondCells > this.maxSecondCells, true);
  };

  constructor(
    readonly namespace: string,
    readonly metricName: string,
    /** Sorted by name. */
    readonly dimensions: readonly Dimension[],
    private readonly maxSecondCells: number,
    private readonly onData: () => void,
  ) {}

  /** Record `value` observed `count` times at `timestamp` (epoch ms). */
  add(timestamp: number, value: number, count = 1, unit?: string): void {
    this.minutes.at(timestamp).add(value, count);
    if (timestamp >= this.secondsFrom) this.seconds.at(timestamp, this.sealSecond).add(value, count);
    this.recorded(timestamp, unit);
  }

  /** Record aggregated datapoints (their individual values stay unknown: no percentiles over them). */
  addStatisticSet(timestamp: number, set: StatisticSet, unit?: string): void {
    if (set.minimum === set.maximum) {
      this.add(timestamp, set.minimum, set.sampleCount, unit);
      return;
    }
    this.minutes.at(timestamp).addStatisticSet(set);
    if (timestamp >= this.secondsFrom) this.seconds.at(timestamp, this.sealSecond).addStatisticSet(set);
    this.recorded(timestamp, unit);
  }

  /** Datapoints held. */
  get length(): number {
    return this.datapoints;
  }

  /**
   * Aggregate the datapoints in `grid`, one aggregate per period (undefined: no data); treat them
   * as read-only. Periods read the per-minute aggregates they cover whole and the per-second ones
   * of a minute they split; where a split minute has no per-second detail any more, it counts in
   * the period its start falls in. `withDistribution` false skips merging the value
   * distributions (only percentiles need them).
   */
  periods(grid: PeriodGrid, withDistribution: boolean): Array<PeriodAccumulator | undefined> {
    const out: Array<MetricAggregate | undefined> = new Array(grid.count).fill(undefined);
    const merged = new Uint8Array(grid.count);
    const end = grid.start + grid.count * grid.periodMs;
    const put = (index: number, aggregate: MetricAggregate) => {
      const current = out[index];
      if (!current) {
        out[index] = aggregate; // the store's own, until a second one must be merged in
        return;
      }
      let target = current;
      if (!merged[index]) {
        target = current.clone(withDistribution);
        out[index] = target;
        merged[index] = 1;
      }
      target.merge(aggregate, withDistribution);
    };
    const periodOf = (time: number) => Math.floor((time - grid.start) / grid.periodMs);
    const minutes = this.minutes.list;
    for (let i = this.minutes.firstAtOrAfter(grid.start - MINUTE_MS + 1); i < minutes.length; i++) {
      const minute = minutes[i] as Bucket;
      if (minute.start >= end) break;
      const minuteEnd = minute.start + MINUTE_MS;
      const first = periodOf(minute.start);
      if (minute.start >= grid.start && minuteEnd <= end && first === periodOf(minuteEnd - 1)) {
        put(first, minute.aggregate);
      } else if (minute.start >= this.secondsFrom) {
        const seconds = this.seconds.list;
        const until = Math.min(minuteEnd, end);
        for (
          let j = this.seconds.firstAtOrAfter(Math.max(minute.start, grid.start));
          j < seconds.length;
          j++
        ) {
          const second = seconds[j] as Bucket;
          if (second.start >= until) break;
          put(periodOf(second.start), second.aggregate);
        }
      } else if (minute.start >= grid.start) put(first, minute.aggregate);
    }
    return out;
  }

  /**
   * Drop aggregates older than `cutoff` (epoch ms), and per-second ones older than
   * `secondsCutoff`.
   */
  prune(cutoff: number, secondsCutoff = cutoff): void {
    const minutes = this.minutes.list;
    let drop = 0;
    while (drop < minutes.length && (minutes[drop] as Bucket).start + MINUTE_MS <= cutoff) {
      this.datapoints -= (minutes[drop] as Bucket).aggregate.datapoints;
      drop++;
    }
    if (drop > 0) minutes.splice(0, drop);
    const seconds = this.seconds.list;
    if (seconds.length > 0 && (seconds[0] as Bucket).start + SECOND_MS <= Math.max(cutoff, secondsCutoff))
      this.dropSecondsWhile((oldest) => oldest.start + SECOND_MS <= Math.max(cutoff, secondsCutoff), false);
  }

  /**
   * Drop the oldest per-second aggregates while `condition` holds, a whole minute at a time (a
   * minute has per-second detail for all its seconds or for none); `spareNewestMinute` keeps the
   * newest minute's seconds whatever the condition says.
   */
  private dropSecondsWhile(condition: (oldest: Bucket) => boolean, spareNewestMinute: boolean): void {
    const seconds = this.seconds.list;
    const newest = seconds[seconds.length - 1];
    const spareFrom = spareNewestMinute && newest ? minuteOf(newest.start) : Number.POSITIVE_INFINITY;
    let drop = 0;
    while (drop < seconds.length) {
      const oldest = seconds[drop] as Bucket;
      if (oldest.start >= spareFrom || !condition(oldest)) break;
      const minuteEnd = minuteOf(oldest.start) + MINUTE_MS;
      for (let next = seconds[drop]; next && next.start < minuteEnd; next = seconds[++drop])
        this.secondCells = Math.max(0, this.secondCells - next.aggregate.cells - BUCKET_OVERHEAD_CELLS);
      this.secondsFrom = Math.max(this.secondsFrom, minuteEnd);
    }
    if (drop > 0) seconds.splice(0, drop);
  }

  private recorded(timestamp: number, unit: string | undefined): void {
    this.datapoints++;
    if (unit !== undefined) this.unit = unit;
    if (timestamp > this.lastTimestamp) this.lastTimestamp = timestamp;
    this.onData();
  }
}

/** Every series the platform has written, by exact metric identity. */
export class MetricStore {
  /** Called after every datapoint (the alarm evaluator schedules an evaluation). */
  onData: () => void = () => undefined;
  readonly retentionMs: number;
  readonly highResolutionRetentionMs: number;
  private readonly maxSecondCells: number;
  private readonly now: () => number;
  private readonly byKey = new Map<string, MetricSeries>();
  private readonly notify = () => this.onData();

  constructor(options: MetricStoreOptions = {}) {
    this.retentionMs = options.retentionMs ?? DAY_MS;
    this.highResolutionRetentionMs = Math.min(
      this.retentionMs,
      options.highResolutionRetentionMs ?? 3 * HOUR_MS,
    );
    this.maxSecondCells = Math.max(
      1,
      Math.floor((options.maxHighResolutionBytesPerSeries ?? 8 * 1024 * 1024) / 8),
    );
    this.now = options.now ?? Date.now;
  }

  /** The series of a metric, created on first use: keep it to write to it cheaply. */
  series(namespace: string, metricName: string, dimensions?: DimensionsInput): MetricSeries {
    const normalized = normalizeDimensions(dimensions);
    const key = seriesKey(namespace, metricName, normalized);
    let series = this.byKey.get(key);
    if (!series) {
      series = new MetricSeries(namespace, metricName, normalized, this.maxSecondCells, this.notify);
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
    const now = this.now();
    const cutoff = now - this.retentionMs;
    const secondsCutoff = now - this.highResolutionRetentionMs;
    for (const series of this.byKey.values()) series.prune(cutoff, secondsCutoff);
  }
}
