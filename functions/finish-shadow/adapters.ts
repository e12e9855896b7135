// AWS adapter of FinishShadow's ChallengerErrorCounter: CloudWatch's sums of the challenger's
// handled failures (MLOps ShadowErrors of its function version) and of its crashes, timeouts and
// throttled-then-dropped runs (AWS/Lambda Errors of the `shadow` alias's executed version).
import {
  type CloudWatchClient,
  GetMetricDataCommand,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import { DIMENSION, METRICS_NAMESPACE, SHADOW_METRICS } from '../lib/metrics/metric-names.ts';
import type { ChallengerErrorCounter } from './core.ts';

const MINUTE = 60_000;

/** Count the challenger's errors of `functionName:shadowAlias` in CloudWatch. */
export function cloudWatchChallengerErrors(
  cloudwatch: CloudWatchClient,
  target: { readonly functionName: string; readonly shadowAlias: string },
): ChallengerErrorCounter {
  return async ({ model, functionVersion, start, end }) => {
    const sum = (id: string, namespace: string, metricName: string, dimensions: Record<string, string>) =>
      ({
        Id: id,
        MetricStat: {
          Metric: {
            Namespace: namespace,
            MetricName: metricName,
            Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })),
          },
          Period: 60,
          Stat: 'Sum',
        },
        ReturnData: true,
      }) satisfies MetricDataQuery;
    const queries = [
      sum('handled', METRICS_NAMESPACE, SHADOW_METRICS.errors, {
        [DIMENSION.model]: model,
        [DIMENSION.functionVersion]: functionVersion,
      }),
      sum('crashed', 'AWS/Lambda', 'Errors', {
        FunctionName: target.functionName,
        Resource: `${target.functionName}:${target.shadowAlias}`,
        ExecutedVersion: functionVersion,
      }),
    ];
    let total = 0;
    let token: string | undefined;
    do {
      const out = await cloudwatch.send(
        new GetMetricDataCommand({
          MetricDataQueries: queries,
          // Whole minutes around the window: a datapoint is the minute it starts.
          StartTime: new Date(Math.floor(start.getTime() / MINUTE) * MINUTE),
          EndTime: new Date(Math.ceil(end.getTime() / MINUTE) * MINUTE),
          NextToken: token,
        }),
      );
      for (const result of out.MetricDataResults ?? [])
        for (const value of result.Values ?? []) if (Number.isFinite(value)) total += value;
      token = out.NextToken;
    } while (token);
    return Math.round(total);
  };
}
