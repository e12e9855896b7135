// The alarm operations: DescribeAlarms, DescribeAlarmHistory and SetAlarmState.
import { apiDimensions } from './alarm-definitions.ts';
import type { AlarmStateValue } from './alarm-evaluator.ts';
import type { HistoryItemType } from './alarm-history.ts';
import { CloudWatchApiError, invalidCombination, invalidValue } from './api-errors.ts';
import { AlarmNotFound, type AlarmStatus } from './local-cloudwatch.ts';
import {
  type Operation,
  optional,
  optionalString,
  optionalStrings,
  optionalTime,
  page,
  requiredString,
} from './request-fields.ts';

const STATES = new Set<AlarmStateValue>(['OK', 'ALARM', 'INSUFFICIENT_DATA']);
const HISTORY_TYPES = new Set<HistoryItemType>(['StateUpdate', 'Action', 'ConfigurationUpdate']);

export const ALARM_OPERATIONS: Readonly<Record<string, Operation>> = {
  DescribeAlarms: (cw, r) => {
    const names = optionalStrings(r, 'AlarmNames');
    const prefix = optionalString(r, 'AlarmNamePrefix');
    if (names && prefix !== undefined)
      throw invalidCombination('AlarmNames and AlarmNamePrefix cannot be used together');
    const state = optionalString(r, 'StateValue');
    if (state !== undefined && !STATES.has(state as AlarmStateValue))
      throw invalidValue(`StateValue must be one of ${[...STATES].join(', ')}`);
    const actionPrefix = optionalString(r, 'ActionPrefix');
    const types = optionalStrings(r, 'AlarmTypes');
    const metricAlarms =
      types && !types.includes('MetricAlarm')
        ? []
        : cw
            .alarms()
            .filter(
              (a) =>
                (!names || names.includes(a.name)) &&
                (prefix === undefined || a.name.startsWith(prefix)) &&
                (state === undefined || a.state === state) &&
                (actionPrefix === undefined || actionsOf(a).some((x) => x.startsWith(actionPrefix))),
            );
    const { items, nextToken } = page(metricAlarms, r, 50, 100);
    return {
      MetricAlarms: items.map(metricAlarm),
      ...(types?.includes('CompositeAlarm') ? { CompositeAlarms: [] } : {}),
      ...nextToken,
    };
  },

  DescribeAlarmHistory: (cw, r) => {
    const type = optionalString(r, 'HistoryItemType');
    if (type !== undefined && !HISTORY_TYPES.has(type as HistoryItemType))
      throw invalidValue(`HistoryItemType must be one of ${[...HISTORY_TYPES].join(', ')}`);
    const scanBy = optionalString(r, 'ScanBy') ?? 'TimestampDescending';
    const types = optionalStrings(r, 'AlarmTypes');
    const start = optionalTime(r, 'StartDate');
    const end = optionalTime(r, 'EndDate');
    const items =
      types && !types.includes('MetricAlarm')
        ? []
        : cw.alarmHistory({
            ...optional('alarmName', optionalString(r, 'AlarmName')),
            ...optional('type', type as HistoryItemType | undefined),
            ...optional('start', start),
            ...optional('end', end),
            oldestFirst: scanBy === 'TimestampAscending',
          });
    const { items: shown, nextToken } = page(items, r, 100, 100);
    return { AlarmHistoryItems: shown.map((i) => ({ ...i, Timestamp: i.Timestamp / 1000 })), ...nextToken };
  },

  SetAlarmState: (cw, r) => {
    const name = requiredString(r, 'AlarmName');
    const state = requiredString(r, 'StateValue');
    if (!STATES.has(state as AlarmStateValue))
      throw invalidValue(`StateValue must be one of ${[...STATES].join(', ')}`);
    const reason = requiredString(r, 'StateReason');
    const data = optionalString(r, 'StateReasonData');
    let reasonData: Record<string, unknown> | undefined;
    try {
      reasonData = data === undefined ? undefined : (JSON.parse(data) as Record<string, unknown>);
    } catch {
      throw new CloudWatchApiError('InvalidFormatFault', 'InvalidFormat', 'StateReasonData is not JSON');
    }
    try {
      cw.setAlarmState(name, state as AlarmStateValue, reason, reasonData);
    } catch (err) {
      if (err instanceof AlarmNotFound)
        throw new CloudWatchApiError(
          'ResourceNotFound',
          'ResourceNotFound',
          `Alarm ${name} does not exist`,
          404,
        );
      throw err;
    }
    return {};
  },
};

function metricAlarm(a: AlarmStatus): Record<string, unknown> {
  const d = a.definition;
  const updated = a.stateUpdatedAt / 1000;
  return {
    AlarmName: d.name,
    AlarmArn: d.arn,
    ...(d.description === undefined ? {} : { AlarmDescription: d.description }),
    AlarmConfigurationUpdatedTimestamp: a.configurationUpdatedAt / 1000,
    ActionsEnabled: d.actionsEnabled,
    OKActions: d.okActions,
    AlarmActions: d.alarmActions,
    InsufficientDataActions: d.insufficientDataActions,
    StateValue: a.state,
    StateReason: a.reason,
    ...(a.reasonData === undefined ? {} : { StateReasonData: a.reasonData }),
    StateUpdatedTimestamp: updated,
    StateTransitionedTimestamp: updated,
    ...(d.metric
      ? {
          MetricName: d.metric.metricName,
          Namespace: d.metric.namespace,
          ...(d.metric.statistic === undefined
            ? { ExtendedStatistic: d.metric.extendedStatistic }
            : { Statistic: d.metric.statistic }),
          Dimensions: apiDimensions(d.metric.dimensions),
          Period: d.periodSeconds,
          ...(d.metric.unit === undefined ? {} : { Unit: d.metric.unit }),
        }
      : { Dimensions: [], Metrics: d.metrics ?? [] }),
    EvaluationPeriods: d.evaluationPeriods,
    DatapointsToAlarm: d.datapointsToAlarm,
    Threshold: d.threshold,
    ComparisonOperator: d.comparisonOperator,
    TreatMissingData: d.treatMissingData,
    ...(d.evaluateLowSampleCountPercentile === undefined
      ? {}
      : { EvaluateLowSampleCountPercentile: d.evaluateLowSampleCountPercentile }),
  };
}

const actionsOf = (a: AlarmStatus) => [
  ...a.definition.alarmActions,
  ...a.definition.okActions,
  ...a.definition.insufficientDataActions,
];
