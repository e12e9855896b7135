// The platform's SLO alarms and its dashboard. Every alarm pages through one topic; what counts
// as breached is stated next to each alarm. All alarms treat missing data as not breaching: an
// idle platform scales to zero and sends no metrics, which is health, not an incident.
import { Duration, Stack } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  DIMENSION,
  DRIFT_METRICS,
  METRICS_NAMESPACE,
  PREDICTION_METRICS,
} from '../../functions/lib/metrics/metric-names.ts';

/** A function whose errors and throttles page. */
export interface WatchedFunction {
  /** Short label used in the alarm name, e.g. `Predict`. */
  readonly label: string;
  readonly fn: lambda.IFunction;
}

/** A state machine whose failed executions page. */
export interface WatchedStateMachine {
  readonly label: string;
  readonly stateMachine: sfn.IStateMachine;
}

export interface ServiceMonitoringProps {
  /** Where alarms go (ALARM and back to OK). */
  readonly pageTopic: sns.ITopic;
  /** The prediction API. */
  readonly api: apigw.RestApi;
  /** Functions whose errors (≥ 1 in 5 min) and throttles (≥ `throttlesToPage` in 5 min) page. */
  readonly functions: readonly WatchedFunction[];
  /** State machines whose failed executions page (≥ 1 in 5 min). */
  readonly stateMachines?: readonly WatchedStateMachine[];
  /** Existing alarms to show on the dashboard's alarm panel (e.g. batch scoring's). */
  readonly otherAlarms?: readonly cloudwatch.IAlarm[];
  /** The drift check's window, the period of the drift alarm. @default Duration.hours(1) */
  readonly driftWindow?: Duration;
  /** p99 latency SLO of the prediction API. @default 150 ms */
  readonly latencySlo?: Duration;
  /** Share of 5xx answers that pages, in percent. @default 1 */
  readonly serverErrorRatePercent?: number;
  /** 5xx rate is judged only on periods with at least this many requests. @default 20 */
  readonly minRequestsForErrorRate?: number;
  /** @default 5 */
  readonly throttlesToPage?: number;
}

export class ServiceMonitoring extends Construct {
  /** Every alarm this construct made, by purpose. */
  readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ServiceMonitoringProps) {
    super(scope, id);
    const latencySloMs = (props.latencySlo ?? Duration.millis(150)).toMilliseconds();
    const errorRate = props.serverErrorRatePercent ?? 1;
    if (!(errorRate > 0 && errorRate < 100))
      throw new Error(`serverErrorRatePercent must be between 0 and 100 exclusive (got ${errorRate})`);
    const minRequests = props.minRequestsForErrorRate ?? 20;
    const driftWindow = props.driftWindow ?? Duration.hours(1);
    const stackName = Stack.of(this).stackName;
    const alarms: Record<string, cloudwatch.Alarm> = {};
    // Names are fixed so on-call and `mlops alarms` read the same words the page says.
    const page = (key: string, alarm: cloudwatch.Alarm) => {
      alarm.addAlarmAction(new actions.SnsAction(props.pageTopic));
      alarm.addOkAction(new actions.SnsAction(props.pageTopic));
      alarms[key] = alarm;
      return alarm;
    };
    const minute = Duration.minutes(1);

    const latencyP99 = props.api.metricLatency({ statistic: 'p99', period: minute });
    page(
      'ApiLatencyP99',
      new cloudwatch.Alarm(this, 'ApiLatencyP99', {
        alarmName: `${stackName}-ApiLatencyP99`,
        alarmDescription: `p99 latency of the prediction API above its ${latencySloMs} ms SLO in 3 of the last 5 minutes`,
        metric: latencyP99,
        threshold: latencySloMs,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );

    // The rate, not the count, so a busy hour does not page on its usual few errors; and only
    // on periods with enough requests, so one failed request out of two is not a 50 % outage.
    const requests = props.api.metricCount({ statistic: 'Sum', period: Duration.minutes(5) });
    const serverErrors = props.api.metricServerError({ statistic: 'Sum', period: Duration.minutes(5) });
    page(
      'ApiServerErrorRate',
      new cloudwatch.Alarm(this, 'ApiServerErrorRate', {
        alarmName: `${stackName}-ApiServerErrorRate`,
        alarmDescription: `More than ${errorRate}% of prediction requests answered 5xx in 2 of the last 3 five-minute periods (periods with at least ${minRequests} requests)`,
        metric: new cloudwatch.MathExpression({
          expression: `IF(requests >= ${minRequests}, 100 * errors / requests, 0)`,
          usingMetrics: { requests, errors: serverErrors },
          label: '5xx rate (%)',
          period: Duration.minutes(5),
        }),
        threshold: errorRate,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );

    for (const { label, fn } of props.functions) {
      page(
        `${label}Errors`,
        new cloudwatch.Alarm(this, `${label}Errors`, {
          alarmName: `${stackName}-${label}Errors`,
          alarmDescription: `The ${label} function failed (an unhandled error: a bug or a broken dependency, never bad input)`,
          metric: fn.metricErrors({ statistic: 'Sum', period: Duration.minutes(5) }),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
      page(
        `${label}Throttles`,
        new cloudwatch.Alarm(this, `${label}Throttles`, {
          alarmName: `${stackName}-${label}Throttles`,
          alarmDescription: `The ${label} function was throttled: it is at its concurrency limit`,
          metric: fn.metricThrottles({ statistic: 'Sum', period: Duration.minutes(5) }),
          threshold: props.throttlesToPage ?? 5,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }

    for (const { label, stateMachine } of props.stateMachines ?? []) {
      page(
        `${label}Failures`,
        new cloudwatch.Alarm(this, `${label}Failures`, {
          alarmName: `${stackName}-${label}Failures`,
          alarmDescription: `A ${label} execution failed`,
          metric: stateMachine.metricFailed({ statistic: 'Sum', period: Duration.minutes(5) }),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }

    // The drift check already waited for K drifted windows in a row before setting DriftAlarm
    // (functions/lib/drift/alert-policy.ts), so one datapoint is the signal.
    const driftAlarm = new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: DRIFT_METRICS.driftAlarm,
      statistic: 'Maximum',
      period: driftWindow,
    });
    page(
      'ModelDrift',
      new cloudwatch.Alarm(this, 'ModelDrift', {
        alarmName: `${stackName}-ModelDrift`,
        alarmDescription:
          'Significant drift of a model’s inputs or predictions against its training profile, in consecutive windows (see the drift report under drift/ in the data bucket)',
        metric: driftAlarm,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    this.alarms = alarms;

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(6),
      widgets: dashboardRows({
        api: props.api,
        latencyP99,
        latencySloMs,
        functions: props.functions,
        stateMachines: props.stateMachines ?? [],
        driftWindow,
        alarms: [...Object.values(alarms), ...(props.otherAlarms ?? [])],
      }),
    });
  }
}

/** A per-model line for each model emitting `metric`: models come and go without a deploy. */
function perModel(
  metric: string,
  statistic: string,
  period: Duration,
  dimensions: readonly string[] = [DIMENSION.model],
) {
  const schema = [METRICS_NAMESPACE, ...dimensions].join(',');
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{${schema}} MetricName="${metric}"', '${statistic}', ${period.toSeconds()})`,
    label: '',
    period,
  });
}

function dashboardRows(input: {
  api: apigw.RestApi;
  latencyP99: cloudwatch.IMetric;
  latencySloMs: number;
  functions: readonly WatchedFunction[];
  stateMachines: readonly WatchedStateMachine[];
  driftWindow: Duration;
  alarms: readonly cloudwatch.IAlarm[];
}): cloudwatch.IWidget[][] {
  const fiveMinutes = Duration.minutes(5);
  const wide = { width: 12, height: 6 } as const;
  return [
    [
      new cloudwatch.GraphWidget({
        title: 'API p99 latency against the SLO',
        left: [input.latencyP99],
        leftAnnotations: [
          { value: input.latencySloMs, label: `SLO ${input.latencySloMs} ms`, color: '#d62728' },
        ],
        ...wide,
      }),
      new cloudwatch.GraphWidget({
        title: 'API traffic and errors',
        left: [input.api.metricCount({ statistic: 'Sum', period: fiveMinutes })],
        right: [
          input.api.metricClientError({ statistic: 'Sum', period: fiveMinutes }),
          input.api.metricServerError({ statistic: 'Sum', period: fiveMinutes }),
        ],
        ...wide,
      }),
    ],
    [
      new cloudwatch.GraphWidget({
        title: 'Predictions per model',
        left: [perModel(PREDICTION_METRICS.predictions, 'Sum', fiveMinutes)],
        ...wide,
      }),
      new cloudwatch.GraphWidget({
        title: 'p99 latency in the function, per model version',
        left: [
          perModel(PREDICTION_METRICS.latency, 'p99', fiveMinutes, [
            DIMENSION.model,
            DIMENSION.functionVersion,
          ]),
        ],
        leftAnnotations: [{ value: input.latencySloMs, label: 'SLO', color: '#d62728' }],
        ...wide,
      }),
    ],
    [
      new cloudwatch.GraphWidget({
        title: 'Server errors and capture errors per model',
        left: [
          perModel(PREDICTION_METRICS.serverErrors, 'Sum', fiveMinutes),
          perModel(PREDICTION_METRICS.captureErrors, 'Sum', fiveMinutes),
        ],
        ...wide,
      }),
      new cloudwatch.GraphWidget({
        title: 'Function errors and throttles',
        left: input.functions.flatMap(({ fn }) => [
          fn.metricErrors({ statistic: 'Sum', period: fiveMinutes }),
          fn.metricThrottles({ statistic: 'Sum', period: fiveMinutes }),
        ]),
        right: input.stateMachines.map(({ stateMachine }) =>
          stateMachine.metricFailed({ statistic: 'Sum', period: fiveMinutes }),
        ),
        ...wide,
      }),
    ],
    [
      new cloudwatch.GraphWidget({
        title: 'Feature drift (PSI) per model and feature',
        left: [
          perModel(DRIFT_METRICS.featurePsi, 'Maximum', input.driftWindow, [
            DIMENSION.model,
            DIMENSION.feature,
          ]),
        ],
        leftAnnotations: [
          { value: 0.1, label: 'watch', color: '#ff7f0e' },
          { value: 0.25, label: 'significant', color: '#d62728' },
        ],
        ...wide,
      }),
      new cloudwatch.GraphWidget({
        title: 'Prediction drift (PSI) and drift alarm per model',
        left: [perModel(DRIFT_METRICS.predictionPsi, 'Maximum', input.driftWindow)],
        right: [perModel(DRIFT_METRICS.driftAlarm, 'Maximum', input.driftWindow)],
        leftAnnotations: [{ value: 0.25, label: 'significant', color: '#d62728' }],
        ...wide,
      }),
    ],
    [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...input.alarms], width: 24, height: 4 })],
  ];
}
