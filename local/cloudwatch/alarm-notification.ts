// The SNS message CloudWatch publishes when an alarm changes state: the same JSON document and
// subject line a page subscriber (e-mail, chat integration, Lambda) reads on AWS.

import { DEFAULT_LOCAL_REGION, LOCAL_ACCOUNT_ID } from '../template/pseudo-parameters.ts';
import { type AlarmDefinition, apiDimensions } from './alarm-definitions.ts';
import { type AlarmStateValue, formatIsoDate } from './alarm-evaluator.ts';

/** A state change of one alarm. */
export interface StateChange {
  readonly oldState: AlarmStateValue;
  readonly newState: AlarmStateValue;
  readonly reason: string;
  readonly reasonData: Readonly<Record<string, unknown>>;
  /** Epoch ms. */
  readonly time: number;
}

/** Region names as CloudWatch writes them in notifications. */
const REGION_NAMES: Readonly<Record<string, string>> = {
  'us-east-1': 'US East (N. Virginia)',
  'us-east-2': 'US East (Ohio)',
  'us-west-1': 'US West (N. California)',
  'us-west-2': 'US West (Oregon)',
  'eu-west-1': 'EU (Ireland)',
  'eu-central-1': 'EU (Frankfurt)',
};
const regionName = REGION_NAMES[DEFAULT_LOCAL_REGION] ?? DEFAULT_LOCAL_REGION;

/** The actions a change to `state` runs (none when actions are disabled). */
export function actionsFor(alarm: AlarmDefinition, state: AlarmStateValue): readonly string[] {
  if (!alarm.actionsEnabled) return [];
  if (state === 'ALARM') return alarm.alarmActions;
  if (state === 'OK') return alarm.okActions;
  return alarm.insufficientDataActions;
}

/** What running one action gave: CloudWatch's history summary for it. */
export interface ActionOutcome {
  readonly action: string;
  readonly succeeded: boolean;
  readonly summary: string;
}

/**
 * Publish the notification of `change` to each action of the new state. Only SNS topics run
 * locally; any other action (and a failed publish) is a failed outcome, never an exception.
 */
export function runActions(
  alarm: AlarmDefinition,
  change: StateChange,
  configurationUpdated: number,
  publish: ((topicArn: string, message: string, subject: string) => unknown) | undefined,
): ActionOutcome[] {
  const actions = actionsFor(alarm, change.newState);
  if (actions.length === 0) return [];
  const message = JSON.stringify(notificationMessage(alarm, change, configurationUpdated));
  const subject = notificationSubject(alarm, change);
  return actions.map((action) => {
    try {
      if (!action.startsWith('arn:aws:sns:')) throw new Error('only SNS topic actions run locally');
      if (!publish) throw new Error('no SNS topics are wired to local CloudWatch');
      publish(action, message, subject);
      return { action, succeeded: true, summary: `Successfully executed action ${action}` };
    } catch (err) {
      const summary = `Failed to execute action ${action}. Received error: "${(err as Error).message}"`;
      return { action, succeeded: false, summary };
    }
  });
}

/** `ALARM: "name" in US East (N. Virginia)`. */
export function notificationSubject(alarm: AlarmDefinition, change: StateChange): string {
  // SNS subjects are at most 100 characters.
  return `${change.newState}: "${alarm.name}" in ${regionName}`.slice(0, 100);
}

/** The notification's JSON document. */
export function notificationMessage(
  alarm: AlarmDefinition,
  change: StateChange,
  configurationUpdated: number,
): Record<string, unknown> {
  return {
    AlarmName: alarm.name,
    AlarmDescription: alarm.description ?? null,
    AWSAccountId: LOCAL_ACCOUNT_ID,
    AlarmConfigurationUpdatedTimestamp: formatIsoDate(configurationUpdated),
    NewStateValue: change.newState,
    NewStateReason: change.reason,
    StateChangeTime: formatIsoDate(change.time),
    Region: regionName,
    AlarmArn: alarm.arn,
    OldStateValue: change.oldState,
    OKActions: alarm.okActions,
    AlarmActions: alarm.alarmActions,
    InsufficientDataActions: alarm.insufficientDataActions,
    Trigger: trigger(alarm),
  };
}

function trigger(alarm: AlarmDefinition): Record<string, unknown> {
  const common = {
    Period: alarm.periodSeconds,
    EvaluationPeriods: alarm.evaluationPeriods,
    DatapointsToAlarm: alarm.datapointsToAlarm,
    ComparisonOperator: alarm.comparisonOperator,
    Threshold: alarm.threshold,
    TreatMissingData: alarm.treatMissingData,
    EvaluateLowSampleCountPercentile: alarm.evaluateLowSampleCountPercentile ?? '',
  };
  const { metric } = alarm;
  if (!metric) return { Metrics: alarm.metrics ?? [], ...common };
  return {
    MetricName: metric.metricName,
    Namespace: metric.namespace,
    StatisticType: metric.statistic === undefined ? 'ExtendedStatistic' : 'Statistic',
    // CloudWatch writes the basic statistic in capitals here (SUM, AVERAGE).
    ...(metric.statistic === undefined
      ? { ExtendedStatistic: metric.extendedStatistic }
      : { Statistic: metric.statistic.toUpperCase() }),
    Unit: metric.unit ?? null,
    Dimensions: apiDimensions(metric.dimensions).map((d) => ({ value: d.Value, name: d.Name })),
    ...common,
  };
}
