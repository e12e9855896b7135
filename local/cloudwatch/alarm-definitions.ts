// Reads the CloudWatch metric alarms a stack declares (`AWS::CloudWatch::Alarm`), intrinsics
// resolved with the stack's resolution, into definitions the local evaluator runs. An alarm whose
// definition cannot be evaluated faithfully (anomaly detection, an unsupported statistic or
// metric math function) is returned as not emulated, with the reason.
import type { StackResolution } from '../stack-resolution.ts';
import type { AssemblyStack } from '../template/cloud-assembly.ts';
import { resolveValue } from '../template/intrinsics.ts';
import { DEFAULT_LOCAL_REGION, LOCAL_ACCOUNT_ID } from '../template/pseudo-parameters.ts';
import { checkQueries, expressionQuery, type MetricQuery, metricStatQuery } from './metric-query.ts';
import type { Dimension } from './metric-store.ts';

export const COMPARISON_OPERATORS = [
  'GreaterThanOrEqualToThreshold',
  'GreaterThanThreshold',
  'LessThanThreshold',
  'LessThanOrEqualToThreshold',
] as const;
export type ComparisonOperator = (typeof COMPARISON_OPERATORS)[number];

export const TREAT_MISSING_DATA = ['missing', 'notBreaching', 'breaching', 'ignore'] as const;
export type TreatMissingData = (typeof TREAT_MISSING_DATA)[number];

/** The single metric of a classic alarm, as declared. */
export interface AlarmMetric {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: readonly Dimension[];
  /** Exactly one of statistic and extendedStatistic. */
  readonly statistic?: string;
  readonly extendedStatistic?: string;
  readonly unit?: string;
}

/** One metric alarm, ready to evaluate. */
export interface AlarmDefinition {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly description?: string;
  /** `ActionsEnabled: false` keeps state changes but runs no action. */
  readonly actionsEnabled: boolean;
  readonly alarmActions: readonly string[];
  readonly okActions: readonly string[];
  readonly insufficientDataActions: readonly string[];
  readonly comparisonOperator: ComparisonOperator;
  readonly threshold: number;
  readonly evaluationPeriods: number;
  /** M of the N evaluation periods that must breach. */
  readonly datapointsToAlarm: number;
  readonly treatMissingData: TreatMissingData;
  readonly evaluateLowSampleCountPercentile?: 'evaluate' | 'ignore';
  readonly periodSeconds: number;
  /** What is evaluated: one MetricStat query for a classic alarm, the `Metrics` for a math alarm. */
  readonly queries: readonly MetricQuery[];
  /** The query whose values are compared with the threshold. */
  readonly returnId: string;
  /** Set for a classic (single-metric) alarm. */
  readonly metric?: AlarmMetric;
  /** A math alarm's `Metrics` as declared (API shape), for DescribeAlarms and notifications. */
  readonly metrics?: readonly Readonly<Record<string, unknown>>[];
}

export interface AlarmReading {
  readonly alarms: AlarmDefinition[];
  readonly notEmulated: Array<{ readonly logicalId: string; readonly reason: string }>;
  /** E.g. actions that are not SNS topics. */
  readonly warnings: string[];
}

/** The ARN of alarm `name`. */
export function alarmArn(name: string): string {
  return `arn:aws:cloudwatch:${DEFAULT_LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:alarm:${name}`;
}

/** The query id a classic alarm's metric gets internally. */
const SINGLE_METRIC_ID = 'm1';

/** A definition CloudFormation would accept but the local runtime cannot evaluate. */
class NotEvaluable extends Error {}

/** The stack's metric alarms. */
export function readAlarms(stack: AssemblyStack, resolution: StackResolution): AlarmReading {
  const reading: AlarmReading = { alarms: [], notEmulated: [], warnings: [] };
  for (const [logicalId, r] of Object.entries(stack.template.Resources ?? {})) {
    if (r.Type !== 'AWS::CloudWatch::Alarm') continue;
    try {
      const properties = resolveValue(
        r.Properties ?? {},
        resolution.ctx,
        `Resources.${logicalId}.Properties`,
      );
      // The name CloudFormation would generate is stack-logicalId-suffix; `Ref` resolves to stack-logicalId.
      const alarm = alarmFromProperties(
        logicalId,
        (properties ?? {}) as Record<string, unknown>,
        `${stack.stackName}-${logicalId}`,
      );
      reading.alarms.push(alarm);
      for (const action of [...alarm.alarmActions, ...alarm.okActions, ...alarm.insufficientDataActions])
        if (!action.startsWith('arn:aws:sns:'))
          reading.warnings.push(
            `${logicalId}: alarm action ${action} is not run locally (only SNS topic actions are)`,
          );
    } catch (err) {
      reading.notEmulated.push({ logicalId, reason: (err as Error).message });
    }
  }
  return reading;
}

/**
 * Build a definition from resolved `AWS::CloudWatch::Alarm` properties (the same names as
 * PutMetricAlarm's). Throws with the reason when the alarm cannot be evaluated locally.
 */
export function alarmFromProperties(
  logicalId: string,
  p: Readonly<Record<string, unknown>>,
  defaultName: string,
): AlarmDefinition {
  const name = typeof p.AlarmName === 'string' && p.AlarmName !== '' ? p.AlarmName : defaultName;
  const comparison = String(p.ComparisonOperator ?? '');
  if (!COMPARISON_OPERATORS.includes(comparison as ComparisonOperator))
    throw new NotEvaluable(
      /Lower|Upper/.test(comparison)
        ? `anomaly detection (${comparison}) is not evaluated locally`
        : `ComparisonOperator ${JSON.stringify(comparison)} is not one of ${COMPARISON_OPERATORS.join(', ')}`,
    );
  if (p.ThresholdMetricId !== undefined)
    throw new NotEvaluable('ThresholdMetricId (anomaly detection) is not evaluated locally');
  const threshold = Number(p.Threshold);
  if (p.Threshold === undefined || !Number.isFinite(threshold))
    throw new NotEvaluable('Threshold must be a number');
  const evaluationPeriods = positiveInteger(p.EvaluationPeriods, 'EvaluationPeriods');
  const datapointsToAlarm =
    p.DatapointsToAlarm === undefined
      ? evaluationPeriods
      : positiveInteger(p.DatapointsToAlarm, 'DatapointsToAlarm');
  if (datapointsToAlarm > evaluationPeriods)
    throw new NotEvaluable(
      `DatapointsToAlarm (${datapointsToAlarm}) exceeds EvaluationPeriods (${evaluationPeriods})`,
    );
  const treatMissingData = String(p.TreatMissingData ?? 'missing');
  if (!TREAT_MISSING_DATA.includes(treatMissingData as TreatMissingData))
    throw new NotEvaluable(
      `TreatMissingData ${JSON.stringify(treatMissingData)} is not one of ${TREAT_MISSING_DATA.join(', ')}`,
    );
  const lowSample = p.EvaluateLowSampleCountPercentile;
  if (lowSample !== undefined && lowSample !== 'evaluate' && lowSample !== 'ignore')
    throw new NotEvaluable('EvaluateLowSampleCountPercentile must be evaluate or ignore');

  const common = {
    logicalId,
    name,
    arn: alarmArn(name),
    ...(typeof p.AlarmDescription === 'string' ? { description: p.AlarmDescription } : {}),
    actionsEnabled: p.ActionsEnabled !== false && p.ActionsEnabled !== 'false',
    alarmActions: stringList(p.AlarmActions),
    okActions: stringList(p.OKActions),
    insufficientDataActions: stringList(p.InsufficientDataActions),
    comparisonOperator: comparison as ComparisonOperator,
    threshold,
    evaluationPeriods,
    datapointsToAlarm,
    treatMissingData: treatMissingData as TreatMissingData,
    ...(lowSample === undefined
      ? {}
      : { evaluateLowSampleCountPercentile: lowSample as 'evaluate' | 'ignore' }),
  };

  if (p.Metrics !== undefined) {
    if (p.MetricName !== undefined)
      throw new NotEvaluable('an alarm has either MetricName or Metrics, not both');
    return { ...common, ...mathAlarm(p.Metrics) };
  }
  if (typeof p.MetricName !== 'string')
    throw new NotEvaluable('the alarm names neither MetricName nor Metrics');
  const statistic = p.Statistic ?? p.ExtendedStatistic;
  if ((p.Statistic === undefined) === (p.ExtendedStatistic === undefined))
    throw new NotEvaluable('a single-metric alarm has exactly one of Statistic and ExtendedStatistic');
  const query = metricStatQuery({
    id: SINGLE_METRIC_ID,
    namespace: p.Namespace,
    metricName: p.MetricName,
    dimensions: p.Dimensions,
    period: p.Period,
    stat: statistic,
    unit: p.Unit,
    returnData: true,
  });
  return {
    ...common,
    periodSeconds: query.periodSeconds,
    queries: [query],
    returnId: query.id,
    metric: {
      namespace: query.namespace,
      metricName: query.metricName,
      dimensions: query.dimensions,
      ...(p.Statistic === undefined
        ? { extendedStatistic: String(p.ExtendedStatistic) }
        : { statistic: String(p.Statistic) }),
      ...(query.unit === undefined ? {} : { unit: query.unit }),
    },
  };
}

function mathAlarm(
  value: unknown,
): Pick<AlarmDefinition, 'periodSeconds' | 'queries' | 'returnId' | 'metrics'> {
  if (!Array.isArray(value) || value.length === 0) throw new NotEvaluable('Metrics must be a non-empty list');
  const declared = value as Array<Record<string, unknown>>;
  const queries: MetricQuery[] = declared.map((m) => {
    const id = String(m.Id ?? '');
    const returnData = m.ReturnData !== false && m.ReturnData !== 'false';
    if (m.AccountId !== undefined && m.AccountId !== LOCAL_ACCOUNT_ID)
      throw new NotEvaluable(`query ${id} reads another account (${String(m.AccountId)})`);
    if (typeof m.Expression === 'string') {
      if (m.MetricStat !== undefined)
        throw new NotEvaluable(`query ${id} has both Expression and MetricStat`);
      return expressionQuery({ id, expression: m.Expression, period: m.Period, label: m.Label, returnData });
    }
    const stat = m.MetricStat as Record<string, unknown> | undefined;
    const metric = stat?.Metric as Record<string, unknown> | undefined;
    if (!stat || !metric) throw new NotEvaluable(`query ${id} has neither Expression nor MetricStat`);
    return metricStatQuery({
      id,
      namespace: metric.Namespace,
      metricName: metric.MetricName,
      dimensions: metric.Dimensions,
      period: stat.Period,
      stat: stat.Stat,
      unit: stat.Unit,
      label: m.Label,
      returnData,
    });
  });
  const returned = queries.filter((q) => q.returnData);
  if (returned.length !== 1)
    throw new NotEvaluable(
      `exactly one query of Metrics must have ReturnData true (found ${returned.length})`,
    );
  const periodSeconds = checkQueries(queries);
  return { periodSeconds, queries, returnId: (returned[0] as MetricQuery).id, metrics: declared };
}

function positiveInteger(value: unknown, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new NotEvaluable(`${what} must be a positive integer (got ${JSON.stringify(value)})`);
  return n;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

/** Dimensions of a declared metric in the API's `[{Name, Value}]` shape. */
export const apiDimensions = (dimensions: readonly Dimension[]) =>
  dimensions.map((d) => ({ Name: d.name, Value: d.value }));
