// Custom metric datapoints (PutMetricData, `platform.cloudwatch.putMetric`): checked against
// CloudWatch's rules, then written to the store.
import type { DimensionsInput, MetricStore, StatisticSet } from './metric-store.ts';
import { normalizeDimensions } from './metric-store.ts';

/** One datum: a value, values with counts, or a statistic set. */
export interface MetricDatum {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions?: DimensionsInput;
  readonly value?: number;
  readonly values?: readonly number[];
  /** How many times each of `values` was observed. @default 1 each */
  readonly counts?: readonly number[];
  readonly statisticValues?: StatisticSet;
  readonly unit?: string;
  /** @default now */
  readonly timestamp?: Date | number;
}

/** CloudWatch's units (StandardUnit). */
export const UNITS = new Set([
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
]);

/** A datum CloudWatch would refuse (InvalidParameterValue). */
export class InvalidMetricData extends Error {
  override readonly name = 'InvalidMetricData';
}

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** Check `datum` and write it to `store` (a datum past retention is refused too). */
export function recordDatum(store: MetricStore, datum: MetricDatum, now = Date.now()): void {
  const what = `metric ${datum.metricName}`;
  if (typeof datum.namespace !== 'string' || datum.namespace.length === 0 || datum.namespace.length > 255)
    throw new InvalidMetricData('Namespace must be 1 to 255 characters');
  if (typeof datum.metricName !== 'string' || datum.metricName.length === 0 || datum.metricName.length > 255)
    throw new InvalidMetricData('MetricName must be 1 to 255 characters');
  const dimensions = normalizeDimensions(datum.dimensions);
  if (dimensions.length > 30) throw new InvalidMetricData(`${what}: at most 30 dimensions`);
  for (const d of dimensions)
    if (!d.name || d.name.length > 255 || !d.value || d.value.length > 1024)
      throw new InvalidMetricData(`${what}: dimension names are 1–255 and values 1–1024 characters`);
  if (new Set(dimensions.map((d) => d.name)).size !== dimensions.length)
    throw new InvalidMetricData(`${what}: a dimension name appears twice`);
  if (datum.unit !== undefined && !UNITS.has(datum.unit))
    throw new InvalidMetricData(`${what}: unknown unit ${datum.unit}`);
  const given = [datum.value, datum.values, datum.statisticValues].filter((x) => x !== undefined).length;
  if (given !== 1)
    throw new InvalidMetricData(`${what}: give exactly one of Value, Values and StatisticValues`);
  const timestamp = datum.timestamp === undefined ? now : new Date(datum.timestamp).getTime();
  if (!Number.isFinite(timestamp)) throw new InvalidMetricData(`${what}: Timestamp is not a time`);
  if (!store.accepts(timestamp))
    throw new InvalidMetricData(
      `${what}: Timestamp ${new Date(timestamp).toISOString()} is outside the local retention window (or more than 2 hours ahead)`,
    );
  const series = () => store.series(datum.namespace, datum.metricName, dimensions);
  const unit = datum.unit === 'None' ? undefined : datum.unit;
  if (datum.value !== undefined) {
    if (!finite(datum.value)) throw new InvalidMetricData(`${what}: Value must be a finite number`);
    series().add(timestamp, datum.value, 1, unit);
    return;
  }
  if (datum.values !== undefined) {
    const { values, counts } = datum;
    if (values.length === 0 || values.length > 150)
      throw new InvalidMetricData(`${what}: Values holds 1 to 150 numbers`);
    if (counts !== undefined && counts.length !== values.length)
      throw new InvalidMetricData(`${what}: Counts must be as long as Values`);
    if (!values.every(finite)) throw new InvalidMetricData(`${what}: every value must be a finite number`);
    if (counts !== undefined && !counts.every((c) => finite(c) && c > 0))
      throw new InvalidMetricData(`${what}: every count must be a positive number`);
    const target = series();
    for (const [i, v] of values.entries()) target.add(timestamp, v, counts?.[i] ?? 1, unit);
    return;
  }
  const set = datum.statisticValues as StatisticSet;
  if (![set.sampleCount, set.sum, set.minimum, set.maximum].every(finite) || set.sampleCount <= 0)
    throw new InvalidMetricData(`${what}: StatisticValues needs SampleCount > 0, Sum, Minimum and Maximum`);
  if (set.minimum > set.maximum)
    throw new InvalidMetricData(`${what}: StatisticValues Minimum exceeds Maximum`);
  series().addStatisticSet(timestamp, set, unit);
}
