// The CloudWatch adapter of HealthProbe: alarm states through DescribeAlarms, and champion and
// challenger over one window through one GetMetricData call — AWS/Lambda Invocations and Errors
// of the alias by ExecutedVersion, and the predict function's MLOps metrics by [Model,
// FunctionVersion]. The window is asked for as one period where one covers it (periods are
// aligned to the epoch), so the p99 is over every sample, not the worst minute's few: a
// challenger's cold starts stay a small share of its samples instead of deciding a minute.
import {
  type CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import { DIMENSION, METRICS_NAMESPACE, PREDICTION_METRICS } from '../metrics/metric-names.ts';
import type {
  AlarmStateValue,
  AlarmStatus,
  HealthProbe,
  StatsQuery,
  VersionComparison,
  VersionStats,
} from './health.ts';

/** DescribeAlarms takes at most 100 names per call. */
const NAMES_PER_CALL = 100;
const MINUTE_MS = 60_000;
/** Longest single period tried before falling back to minutes (four days: longer than any release). */
const MAX_PERIOD_MINUTES = 4 * 1440;

/**
 * The period (a multiple of 60 s) and start of one epoch-aligned period that holds all of
 * [start, end]; one-minute periods when none up to four days does.
 */
export function coveringPeriod(start: Date, end: Date): { periodSeconds: number; start: Date; end: Date } {
  const from = start.getTime();
  const to = end.getTime();
  for (
    let minutes = Math.max(1, Math.ceil((to - from) / MINUTE_MS));
    minutes <= MAX_PERIOD_MINUTES;
    minutes++
  ) {
    const p = minutes * MINUTE_MS;
    const first = Math.floor(from / p) * p;
    if (first + p > to)
      return { periodSeconds: minutes * 60, start: new Date(first), end: new Date(first + p) };
  }
  return {
    periodSeconds: 60,
    start: new Date(Math.floor(from / MINUTE_MS) * MINUTE_MS),
    end: new Date(Math.ceil((to + 1) / MINUTE_MS) * MINUTE_MS),
  };
}

type Stat = 'Sum' | 'SampleCount' | 'p99';

export class CloudWatchHealthProbe implements HealthProbe {
  constructor(private readonly cloudwatch: CloudWatchClient) {}

  async alarms(names: readonly string[]): Promise<AlarmStatus[]> {
    // Metric alarms first: their permission can be scoped to their ARNs. Composite alarms are
    // only asked for when names are left, since reading them takes DescribeAlarms on `*`.
    const found = await this.describe(names, ['MetricAlarm']);
    const known = new Set(found.map((a) => a.name));
    const rest = names.filter((n) => !known.has(n));
    return rest.length === 0 ? found : [...found, ...(await this.describe(rest, ['CompositeAlarm']))];
  }

  private async describe(
    names: readonly string[],
    types: Array<'MetricAlarm' | 'CompositeAlarm'>,
  ): Promise<AlarmStatus[]> {
    const found: AlarmStatus[] = [];
    for (let i = 0; i < names.length; i += NAMES_PER_CALL) {
      let nextToken: string | undefined;
      do {
        const out = await this.cloudwatch.send(
          new DescribeAlarmsCommand({
            AlarmNames: names.slice(i, i + NAMES_PER_CALL),
            AlarmTypes: types,
            NextToken: nextToken,
          }),
        );
        for (const a of [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])])
          found.push({
            name: a.AlarmName ?? '',
            state: (a.StateValue ?? 'INSUFFICIENT_DATA') as AlarmStateValue,
            ...(a.StateReason ? { reason: a.StateReason } : {}),
            ...(a.StateUpdatedTimestamp ? { since: a.StateUpdatedTimestamp.toISOString() } : {}),
          });
        nextToken = out.NextToken;
      } while (nextToken);
    }
    return found;
  }

  async versionStats(query: StatsQuery): Promise<VersionComparison> {
    const versions = { champion: query.champion, challenger: query.challenger } as const;
    const window = coveringPeriod(query.start, query.end);
    const queries: MetricDataQuery[] = [];
    const lambdaDims = (version: string) => [
      { Name: 'FunctionName', Value: query.functionName },
      { Name: 'Resource', Value: `${query.functionName}:${query.alias}` },
      { Name: 'ExecutedVersion', Value: version },
    ];
    const modelDims = (version: string) => [
      { Name: DIMENSION.model, Value: query.model },
      { Name: DIMENSION.functionVersion, Value: version },
    ];
    const add = (
      id: string,
      namespace: string,
      metric: string,
      dims: ReturnType<typeof lambdaDims>,
      stat: Stat,
    ) =>
      queries.push({
        Id: id,
        MetricStat: {
          Metric: { Namespace: namespace, MetricName: metric, Dimensions: dims },
          Period: window.periodSeconds,
          Stat: stat,
        },
        ReturnData: true,
      });
    for (const [role, version] of Object.entries(versions)) {
      add(`${role}Invocations`, 'AWS/Lambda', 'Invocations', lambdaDims(version), 'Sum');
      add(`${role}Errors`, 'AWS/Lambda', 'Errors', lambdaDims(version), 'Sum');
      add(
        `${role}Requests`,
        METRICS_NAMESPACE,
        PREDICTION_METRICS.serverErrors,
        modelDims(version),
        'SampleCount',
      );
      add(
        `${role}ServerErrors`,
        METRICS_NAMESPACE,
        PREDICTION_METRICS.serverErrors,
        modelDims(version),
        'Sum',
      );
      // Over one period: the p99 of every sample; over minutes (fallback): the worst minute's.
      add(`${role}LatencyP99`, METRICS_NAMESPACE, PREDICTION_METRICS.latency, modelDims(version), 'p99');
      add(
        `${role}LatencySamples`,
        METRICS_NAMESPACE,
        PREDICTION_METRICS.latency,
        modelDims(version),
        'SampleCount',
      );
      add(`${role}ScoreSum`, METRICS_NAMESPACE, PREDICTION_METRICS.meanScore, modelDims(version), 'Sum');
      add(
        `${role}ScoreSamples`,
        METRICS_NAMESPACE,
        PREDICTION_METRICS.meanScore,
        modelDims(version),
        'SampleCount',
      );
    }
    const values = new Map<string, number[]>();
    let nextToken: string | undefined;
    do {
      const out = await this.cloudwatch.send(
        new GetMetricDataCommand({
          MetricDataQueries: queries,
          StartTime: window.start,
          EndTime: window.end,
          NextToken: nextToken,
        }),
      );
      for (const r of out.MetricDataResults ?? [])
        values.set(r.Id ?? '', [...(values.get(r.Id ?? '') ?? []), ...(r.Values ?? [])]);
      nextToken = out.NextToken;
    } while (nextToken);

    const sum = (id: string) => (values.get(id) ?? []).reduce((a, b) => a + b, 0);
    const max = (id: string) => {
      const v = values.get(id) ?? [];
      return v.length > 0 ? Math.max(...v) : undefined;
    };
    const stats = (role: keyof typeof versions): VersionStats => {
      const scoreSamples = sum(`${role}ScoreSamples`);
      const p99 = max(`${role}LatencyP99`);
      return {
        version: versions[role],
        invocations: sum(`${role}Invocations`),
        functionErrors: sum(`${role}Errors`),
        requests: sum(`${role}Requests`),
        serverErrors: sum(`${role}ServerErrors`),
        ...(p99 === undefined ? {} : { latencyP99Ms: p99 }),
        latencySamples: sum(`${role}LatencySamples`),
        ...(scoreSamples > 0 ? { meanScore: sum(`${role}ScoreSum`) / scoreSamples } : {}),
        scoreSamples,
      };
    };
    return { champion: stats('champion'), challenger: stats('challenger') };
  }
}
