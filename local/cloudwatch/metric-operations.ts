// The metric operations: PutMetricData, GetMetricData, GetMetricStatistics and ListMetrics.
import { apiDimensions } from './alarm-definitions.ts';
import { invalidValue, missingParameter } from './api-errors.ts';
import { InvalidMetricData, type MetricDatum } from './metric-data.ts';
import { ExpressionError, UnsupportedExpression } from './metric-math.ts';
import {
  checkQueries,
  evaluateQueries,
  expressionQuery,
  InvalidQuery,
  type MetricQuery,
  metricStatQuery,
  readDimensions,
} from './metric-query.ts';
import { type MetricSeries, periodStart } from './metric-store.ts';
import {
  type Operation,
  optional,
  optionalString,
  optionalStrings,
  page,
  type Request,
  requiredString,
  requiredTime,
  toTime,
} from './request-fields.ts';
import { parseStatistic, type Statistic, statisticValue } from './statistics.ts';

/** CloudWatch's cap on datapoints per GetMetricStatistics call, and per query of GetMetricData. */
const MAX_STATISTICS_DATAPOINTS = 1440;
const MAX_QUERY_DATAPOINTS = 100_800;

export const METRIC_OPERATIONS: Readonly<Record<string, Operation>> = {
  PutMetricData: (cw, r) => {
    const namespace = requiredString(r, 'Namespace');
    if (namespace.startsWith('AWS/'))
      throw invalidValue(
        `The value ${namespace} for parameter Namespace is invalid: the AWS/ namespaces are reserved`,
      );
    const data = r.MetricData;
    if (data === undefined && !Array.isArray(r.EntityMetricData)) throw missingParameter('MetricData');
    if (data !== undefined && (!Array.isArray(data) || data.length > 1000))
      throw invalidValue('MetricData must be a list of at most 1000 datums');
    const datums = [
      ...((data as Request[] | undefined) ?? []),
      ...((r.EntityMetricData as Array<{ MetricData?: Request[] }> | undefined) ?? []).flatMap(
        (e) => e.MetricData ?? [],
      ),
    ];
    // Checked whole first: one bad datum refuses the call, as on AWS.
    const parsed = datums.map((d) => datum(namespace, d));
    try {
      for (const d of parsed) cw.putMetric(d);
    } catch (err) {
      if (err instanceof InvalidMetricData) throw invalidValue(err.message);
      throw err;
    }
    return {};
  },

  GetMetricData: (cw, r) => {
    const raw = r.MetricDataQueries;
    if (!Array.isArray(raw) || raw.length === 0) throw missingParameter('MetricDataQueries');
    if (raw.length > 500) throw invalidValue('at most 500 MetricDataQueries');
    const start = requiredTime(r, 'StartTime');
    const end = requiredTime(r, 'EndTime');
    if (end <= start) throw invalidValue('EndTime must be after StartTime');
    let queries: MetricQuery[];
    let period: number;
    try {
      queries = (raw as Request[]).map(apiQuery);
      period = checkQueries(queries);
    } catch (err) {
      throw queryError(err);
    }
    const periodMs = period * 1000;
    const first = periodStart(start, periodMs);
    const count = Math.ceil((end - first) / periodMs);
    if (count > MAX_QUERY_DATAPOINTS)
      throw invalidValue(`the query spans ${count} periods; at most ${MAX_QUERY_DATAPOINTS}`);
    let results: ReturnType<typeof evaluateQueries>;
    try {
      results = evaluateQueries(cw.store, queries, { start: first, periodMs, count });
    } catch (err) {
      throw queryError(err);
    }
    const ascending = optionalString(r, 'ScanBy') === 'TimestampAscending';
    return {
      MetricDataResults: queries
        .filter((q) => q.returnData)
        .map((q) => {
          const values = results.get(q.id)?.values ?? new Float64Array(count);
          const points: Array<[number, number]> = [];
          values.forEach((v, i) => {
            if (!Number.isNaN(v)) points.push([(first + i * periodMs) / 1000, v]);
          });
          if (!ascending) points.reverse();
          return {
            Id: q.id,
            Label: q.label ?? (q.kind === 'metric' ? q.metricName : q.id),
            Timestamps: points.map(([t]) => t),
            Values: points.map(([, v]) => v),
            StatusCode: 'Complete',
          };
        }),
      Messages: [],
    };
  },

  GetMetricStatistics: (cw, r) => {
    const namespace = requiredString(r, 'Namespace');
    const metricName = requiredString(r, 'MetricName');
    const start = requiredTime(r, 'StartTime');
    const end = requiredTime(r, 'EndTime');
    const period = Number(r.Period);
    if (!Number.isInteger(period) || period < 1 || (period >= 60 && period % 60 !== 0))
      throw invalidValue('Period must be 1, 5, 10, 30 or a multiple of 60 seconds');
    const basic = optionalStrings(r, 'Statistics') ?? [];
    const extended = optionalStrings(r, 'ExtendedStatistics') ?? [];
    if (basic.length + extended.length === 0) throw missingParameter('Statistics or ExtendedStatistics');
    const statistics = [...basic, ...extended].map((name) => {
      const statistic = parseStatistic(name);
      if (!statistic || basic.includes(name) === (statistic.kind === 'percentile'))
        throw invalidValue(`${name} is not a ${basic.includes(name) ? 'statistic' : 'percentile statistic'}`);
      return statistic;
    });
    const periodMs = period * 1000;
    const first = periodStart(start, periodMs);
    const count = Math.ceil((end - first) / periodMs);
    if (count > MAX_STATISTICS_DATAPOINTS)
      throw invalidValue(`the request asks for ${count} datapoints; at most ${MAX_STATISTICS_DATAPOINTS}`);
    let series: MetricSeries | undefined;
    try {
      series = cw.store.find(namespace, metricName, readDimensions(r.Dimensions, 'GetMetricStatistics'));
    } catch (err) {
      throw queryError(err);
    }
    const unit = optionalString(r, 'Unit');
    const periods =
      !series || count <= 0 || (unit !== undefined && series.unit !== undefined && unit !== series.unit)
        ? []
        : series.periods({ start: first, periodMs, count }, extended.length > 0);
    const datapoints = periods.flatMap((acc, i) =>
      acc ? [datapoint(first + i * periodMs, acc, statistics, series)] : [],
    );
    return { Label: metricName, Datapoints: datapoints };
  },

  ListMetrics: (cw, r) => {
    const filters =
      r.Dimensions === undefined ? [] : (r.Dimensions as Array<{ Name?: unknown; Value?: unknown }>);
    if (!Array.isArray(filters)) throw invalidValue('Dimensions must be a list of {Name, Value}');
    const metrics = cw.store
      .list({
        ...optional('namespace', optionalString(r, 'Namespace')),
        ...optional('metricName', optionalString(r, 'MetricName')),
      })
      .filter((s) =>
        filters.every((f) =>
          s.dimensions.some((d) => d.name === f.Name && (f.Value === undefined || d.value === f.Value)),
        ),
      )
      .map((s) => ({
        Namespace: s.namespace,
        MetricName: s.metricName,
        Dimensions: apiDimensions(s.dimensions),
      }));
    const { items, nextToken } = page(metrics, r, 500, 500, false);
    return { Metrics: items, ...nextToken };
  },
};

function datapoint(
  timestamp: number,
  acc: NonNullable<ReturnType<MetricSeries['periods']>[number]>,
  statistics: readonly Statistic[],
  series: MetricSeries | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = { Timestamp: timestamp / 1000, Unit: series?.unit ?? 'None' };
  const extended: Record<string, number> = {};
  for (const s of statistics) {
    const value = statisticValue(acc, s);
    if (Number.isNaN(value)) continue;
    if (s.kind === 'percentile') extended[s.name] = value;
    else out[s.kind] = value;
  }
  if (Object.keys(extended).length > 0) out.ExtendedStatistics = extended;
  return out;
}

function apiQuery(q: Request): MetricQuery {
  const id = typeof q.Id === 'string' ? q.Id : '';
  const returnData = q.ReturnData !== false;
  if (typeof q.Expression === 'string')
    return expressionQuery({ id, expression: q.Expression, period: q.Period, label: q.Label, returnData });
  const stat = q.MetricStat as Request | undefined;
  const metric = stat?.Metric as Request | undefined;
  if (!stat || !metric) throw new InvalidQuery(`query ${id}: give Expression or MetricStat`);
  return metricStatQuery({
    id,
    namespace: metric.Namespace,
    metricName: metric.MetricName,
    dimensions: metric.Dimensions,
    period: stat.Period,
    stat: stat.Stat,
    unit: stat.Unit,
    label: q.Label,
    returnData,
  });
}

function queryError(err: unknown): Error {
  if (err instanceof InvalidQuery || err instanceof ExpressionError || err instanceof UnsupportedExpression)
    return invalidValue(err.message);
  return err as Error;
}

function datum(namespace: string, d: Request): MetricDatum {
  if (typeof d !== 'object' || d === null) throw invalidValue('each MetricData item must be an object');
  const stats = d.StatisticValues as Request | undefined;
  let dimensions: ReturnType<typeof readDimensions>;
  try {
    dimensions = readDimensions(d.Dimensions, `metric ${String(d.MetricName)}`);
  } catch (err) {
    throw queryError(err);
  }
  return {
    namespace,
    metricName: typeof d.MetricName === 'string' ? d.MetricName : '',
    dimensions,
    ...(d.Value === undefined ? {} : { value: d.Value as number }),
    ...(d.Values === undefined ? {} : { values: d.Values as number[] }),
    ...(d.Counts === undefined ? {} : { counts: d.Counts as number[] }),
    ...(stats === undefined
      ? {}
      : {
          statisticValues: {
            sampleCount: stats.SampleCount as number,
            sum: stats.Sum as number,
            minimum: stats.Minimum as number,
            maximum: stats.Maximum as number,
          },
        }),
    ...(typeof d.Unit === 'string' ? { unit: d.Unit } : {}),
    ...(d.Timestamp === undefined ? {} : { timestamp: toTime(d.Timestamp, 'Timestamp') }),
  };
}
