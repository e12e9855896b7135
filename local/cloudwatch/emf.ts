// Reads CloudWatch embedded metric format (EMF) log lines, as CloudWatch Logs does when a function
// writes one (functions/lib/metrics/emf.ts is the writer): `_aws.CloudWatchMetrics` directives name
// the namespace, dimension sets and metrics; values and dimension values are root members.
// A line CloudWatch would reject yields no datapoint and the reason, never an exception.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html

/** One metric value set an EMF line records (values may repeat a metric several times). */
export interface EmfDatapoint {
  readonly namespace: string;
  readonly metricName: string;
  /** One dimension set's names with their values from the line. */
  readonly dimensions: Readonly<Record<string, string>>;
  readonly values: readonly number[];
  readonly unit?: string;
  /** Epoch ms. */
  readonly timestamp: number;
}

export interface EmfReading {
  readonly datapoints: EmfDatapoint[];
  /** Why (parts of) the line were not turned into metrics. */
  readonly problems: string[];
}

/** The specification's limits. */
const MAX_DIMENSIONS_PER_SET = 30;
const MAX_METRICS_PER_DIRECTIVE = 100;
const MAX_VALUES_PER_METRIC = 100;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parse one log line; a line that is not an EMF object gives a problem and no datapoints. */
export function parseEmfLine(line: string): EmfReading {
  const text = line.trim();
  const reading: EmfReading = { datapoints: [], problems: [] };
  if (!text.startsWith('{')) {
    reading.problems.push('not a JSON object (an EMF log event must be exactly one JSON object)');
    return reading;
  }
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (err) {
    reading.problems.push(`not JSON: ${(err as Error).message}`);
    return reading;
  }
  const aws = isObject(root) ? root._aws : undefined;
  if (!isObject(root) || !isObject(aws)) {
    reading.problems.push('no _aws metadata object');
    return reading;
  }
  const timestamp = aws.Timestamp;
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || timestamp < 0) {
    reading.problems.push('_aws.Timestamp must be a number of epoch milliseconds');
    return reading;
  }
  if (!Array.isArray(aws.CloudWatchMetrics)) {
    reading.problems.push('_aws.CloudWatchMetrics must be an array');
    return reading;
  }
  for (const [i, directive] of aws.CloudWatchMetrics.entries())
    readDirective(root, directive, Math.trunc(timestamp), `CloudWatchMetrics[${i}]`, reading);
  return reading;
}

function readDirective(
  root: Json,
  directive: unknown,
  timestamp: number,
  at: string,
  reading: EmfReading,
): void {
  if (!isObject(directive)) {
    reading.problems.push(`${at} must be an object`);
    return;
  }
  const { Namespace: namespace, Dimensions: dimensionSets, Metrics: metrics } = directive;
  if (typeof namespace !== 'string' || namespace.length === 0 || namespace.length > 255) {
    reading.problems.push(`${at}.Namespace must be a string of 1 to 255 characters`);
    return;
  }
  if (!Array.isArray(dimensionSets) || !Array.isArray(metrics)) {
    reading.problems.push(`${at} needs the Dimensions and Metrics arrays`);
    return;
  }
  if (metrics.length > MAX_METRICS_PER_DIRECTIVE) {
    reading.problems.push(`${at} has ${metrics.length} metrics; EMF allows ${MAX_METRICS_PER_DIRECTIVE}`);
    return;
  }
  const sets: Array<Record<string, string>> = [];
  for (const [j, set] of dimensionSets.entries()) {
    const resolved = resolveDimensionSet(root, set);
    if (typeof resolved === 'string') {
      reading.problems.push(`${at}.Dimensions[${j}]: ${resolved}`);
      return;
    }
    sets.push(resolved);
  }
  // A directive without dimension sets records its metrics without dimensions.
  if (sets.length === 0) sets.push({});
  for (const [k, metric] of metrics.entries()) {
    const name = isObject(metric) ? metric.Name : undefined;
    if (typeof name !== 'string' || name.length === 0) {
      reading.problems.push(`${at}.Metrics[${k}].Name must be a non-empty string`);
      continue;
    }
    const values = metricValues(root[name]);
    if (typeof values === 'string') {
      reading.problems.push(`${at}: metric ${name}: ${values}`);
      continue;
    }
    const unit = isObject(metric) && typeof metric.Unit === 'string' ? metric.Unit : undefined;
    for (const dimensions of sets)
      reading.datapoints.push({
        namespace,
        metricName: name,
        dimensions,
        values,
        ...(unit === undefined ? {} : { unit }),
        timestamp,
      });
  }
}

/** The set's dimension values from the root, or why the set is invalid. */
function resolveDimensionSet(root: Json, set: unknown): Record<string, string> | string {
  if (!Array.isArray(set)) return 'a dimension set must be an array of dimension names';
  if (set.length > MAX_DIMENSIONS_PER_SET)
    return `${set.length} dimensions; EMF allows ${MAX_DIMENSIONS_PER_SET}`;
  const out: Record<string, string> = {};
  for (const name of set) {
    if (typeof name !== 'string' || name.length === 0) return 'dimension names must be non-empty strings';
    const value = root[name];
    if (typeof value !== 'string' || value.length === 0)
      return `dimension ${name} needs a non-empty string value at the root of the line`;
    out[name] = value;
  }
  return out;
}

/** A metric's value(s) from the root, or why there are none. */
function metricValues(value: unknown): number[] | string {
  if (typeof value === 'number') return Number.isFinite(value) ? [value] : 'the value is not finite';
  if (Array.isArray(value)) {
    if (value.length === 0) return 'the value array is empty';
    if (value.length > MAX_VALUES_PER_METRIC)
      return `${value.length} values; EMF allows ${MAX_VALUES_PER_METRIC}`;
    if (!value.every((v) => typeof v === 'number' && Number.isFinite(v)))
      return 'every value in the array must be a finite number';
    return value as number[];
  }
  return value === undefined
    ? 'no value at the root of the line'
    : 'the value must be a number or an array of numbers';
}
