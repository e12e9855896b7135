// CloudWatch embedded metric format: a metric is a JSON log line that CloudWatch Logs turns into
// a metric, with no API call and nothing to flush when the execution environment freezes.
// The local runtime reads the same lines from the functions' logs (local/cloudwatch).
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html

export type MetricUnit = 'None' | 'Count' | 'Milliseconds' | 'Seconds' | 'Percent' | 'Bytes';

export interface MetricValue {
  readonly name: string;
  readonly value: number;
  /** @default 'None' */
  readonly unit?: MetricUnit;
}

export interface EmfEntry {
  readonly namespace: string;
  /** Dimension values by name; every set in `dimensionSets` names only keys of this. */
  readonly dimensions: Readonly<Record<string, string>>;
  /** Each set is one aggregation CloudWatch keeps (e.g. [['Model'], []]). @default [all keys of `dimensions`] */
  readonly dimensionSets?: ReadonlyArray<readonly string[]>;
  readonly metrics: readonly MetricValue[];
  /** @default now */
  readonly timestamp?: Date;
  /** Extra properties kept in the log line (searchable in Logs Insights), not metrics. */
  readonly properties?: Readonly<Record<string, unknown>>;
}

/** EMF allows 100 metrics per line and 30 dimensions per set. */
const MAX_METRICS = 100;

/** The EMF log line for `entry` (no trailing newline). Non-finite values are left out: CloudWatch rejects them. */
export function emfLine(entry: EmfEntry): string {
  const metrics = entry.metrics.filter((m) => Number.isFinite(m.value));
  if (metrics.length > MAX_METRICS) throw new RangeError(`an EMF line holds at most ${MAX_METRICS} metrics`);
  const sets = entry.dimensionSets ?? [Object.keys(entry.dimensions)];
  for (const set of sets)
    for (const key of set)
      if (!Object.hasOwn(entry.dimensions, key)) throw new RangeError(`dimension ${key} has no value`);
  const line: Record<string, unknown> = {
    ...entry.properties,
    ...entry.dimensions,
    _aws: {
      Timestamp: (entry.timestamp ?? new Date()).getTime(),
      CloudWatchMetrics: [
        {
          Namespace: entry.namespace,
          Dimensions: sets.map((s) => [...s]),
          Metrics: metrics.map((m) => ({ Name: m.name, Unit: m.unit ?? 'None' })),
        },
      ],
    },
  };
  for (const m of metrics) line[m.name] = m.value;
  return JSON.stringify(line);
}

/** Write EMF lines to stdout, where Lambda sends them to CloudWatch Logs. */
export function writeEmf(entries: readonly EmfEntry[], out: (text: string) => void = defaultOut): void {
  if (entries.length === 0) return;
  out(`${entries.map(emfLine).join('\n')}\n`);
}

const defaultOut = (text: string) => {
  process.stdout.write(text);
};
