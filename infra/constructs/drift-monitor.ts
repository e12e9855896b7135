// The scheduled drift check (DESIGN.md "Drift check"): an EventBridge schedule runs the drift-check
// function over the last full capture window of every model with a Production version; it writes
// reports under drift/ in the data bucket, publishes EMF metrics (namespace MLOps), keeps each
// model's alert state in a small table, and starts the retraining state machine when drift has
// persisted for K windows. Grants are exact: capture/ read and list, drift/ read and write,
// models/ read, registry read, the alert table's get and put, and StartExecution on retraining.
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ThresholdsByModelSchema } from '../../functions/drift-check/core.ts';
import { WindowMinutes } from '../../functions/drift-check/request.ts';
import type { DriftThresholdsInput } from '../../functions/lib/drift/drift-report.ts';
import { DIMENSION, DRIFT_METRICS, METRICS_NAMESPACE } from '../../functions/lib/metrics/metric-names.ts';
import { CAPTURE_PREFIX, DRIFT_PREFIX } from '../../functions/lib/storage/s3-layout.ts';
import type { ArtifactStore } from './artifact-store.ts';
import { DATA_BUCKET_ENV, type DataStore } from './data-store.ts';
import { MlFunction } from './ml-function.ts';
import type { ModelRegistry } from './model-registry.ts';

const fromRoot = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** Environment variables of the drift-check function (read by functions/drift-check/handler.ts). */
export const DRIFT_ENV = {
  stateTable: 'DRIFT_STATE_TABLE',
  windowMinutes: 'DRIFT_WINDOW_MINUTES',
  windowDelayMinutes: 'DRIFT_WINDOW_DELAY_MINUTES',
  consecutiveWindows: 'DRIFT_CONSECUTIVE_WINDOWS',
  thresholds: 'DRIFT_THRESHOLDS',
  retrainingStateMachine: 'RETRAINING_STATE_MACHINE_ARN',
} as const;

/** What the function does to an alert state item: a consistent read, and a conditional put. */
export const ALERT_STATE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem'] as const;

export interface DriftMonitorProps {
  /** Capture records are read from it (`capture/`), reports written to it (`drift/`). */
  readonly data: DataStore;
  /** Each Production version's `profile.json` is read from it (`models/`). */
  readonly artifacts: ArtifactStore;
  /** Which models have a Production version. */
  readonly registry: ModelRegistry;
  /** When the check runs. @default events.Schedule.rate(Duration.hours(1)) */
  readonly schedule?: events.Schedule;
  /**
   * Length of a window: whole minutes dividing a day, or whole days, so windows line up with UTC
   * days. A scheduled run checks the last full window before its time.
   * @default Duration.hours(1)
   */
  readonly windowLength?: Duration;
  /**
   * How long after a window ends its capture records may still be arriving: the capture delivery
   * stream's buffering (60 s by default) plus the log subscription's latency. A scheduled run
   * treats a window as full only this long after its end.
   * @default Duration.minutes(5)
   */
  readonly windowDelay?: Duration;
  /** K: significant windows in a row before the drift alarm is raised. @default 2 */
  readonly consecutiveWindows?: number;
  /**
   * Drift thresholds by model name, `*` for all; a model's entry is laid over `*` key by key.
   * @default {} (the rule-of-thumb PSI bands, 500 rows minimum; see DriftThresholdsSchema)
   */
  readonly thresholds?: Readonly<Record<string, DriftThresholdsInput>>;
  /**
   * The retraining state machine, started (once per model and window) when the alarm is raised.
   * @default - no retraining: a raised alarm is reported and published only
   */
  readonly retraining?: sfn.IStateMachine;
  /** Memory of the check function: a window's rows are held in memory. @default 3008 */
  readonly memorySize?: number;
  /** @default RemovalPolicy.DESTROY: the alert state is rebuilt by the next windows */
  readonly removalPolicy?: RemovalPolicy;
}

export class DriftMonitor extends Construct {
  readonly driftCheckFunction: MlFunction;
  readonly rule: events.Rule;
  /** One item per model: its alert state (partition key `model`). */
  readonly alertStateTable: dynamodb.Table;
  private readonly windowLength: Duration;

  constructor(scope: Construct, id: string, props: DriftMonitorProps) {
    super(scope, id);
    this.windowLength = props.windowLength ?? Duration.hours(1);
    const windowMinutes = this.windowLength.toMinutes({ integral: false });
    if (!WindowMinutes.safeParse(windowMinutes).success)
      throw new Error(
        `windowLength must be whole minutes dividing a day or whole days (up to 7), got ${windowMinutes} minutes`,
      );
    const delayMinutes = (props.windowDelay ?? Duration.minutes(5)).toMinutes({ integral: false });
    if (!(Number.isInteger(delayMinutes) && delayMinutes >= 0 && delayMinutes <= 1440))
      throw new Error(`windowDelay must be whole minutes up to a day, got ${delayMinutes} minutes`);
    const consecutiveWindows = props.consecutiveWindows ?? 2;
    if (!(Number.isInteger(consecutiveWindows) && consecutiveWindows >= 1))
      throw new Error(`consecutiveWindows must be an integer ≥ 1, got ${consecutiveWindows}`);
    const thresholds = props.thresholds ?? {};
    const checked = ThresholdsByModelSchema.safeParse(thresholds);
    if (!checked.success)
      throw new Error(
        `invalid drift thresholds: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );

    this.alertStateTable = new dynamodb.Table(this, 'AlertState', {
      partitionKey: { name: 'model', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });

    this.driftCheckFunction = new MlFunction(this, 'DriftCheck', {
      entry: fromRoot('functions/drift-check/handler.ts'),
      description: 'Drift check: capture window vs training profile (PSI, KS), alert policy, retraining',
      memorySize: props.memorySize ?? 3008,
      timeout: Duration.minutes(5),
      environment: {
        [DRIFT_ENV.stateTable]: this.alertStateTable.tableName,
        [DRIFT_ENV.windowMinutes]: String(windowMinutes),
        [DRIFT_ENV.windowDelayMinutes]: String(delayMinutes),
        [DRIFT_ENV.consecutiveWindows]: String(consecutiveWindows),
        [DRIFT_ENV.thresholds]: JSON.stringify(thresholds),
        [DATA_BUCKET_ENV]: props.data.bucket.bucketName,
      },
    });
    const fn = this.driftCheckFunction;
    props.data.grantPrefix(fn, CAPTURE_PREFIX, ['s3:GetObject']);
    props.data.grantListPrefix(fn, CAPTURE_PREFIX);
    // Read as well as write: a late re-run of an old window keeps the decision its report recorded.
    props.data.grantPrefix(fn, DRIFT_PREFIX, ['s3:GetObject', 's3:PutObject']);
    props.artifacts.bindTo(fn, 'read');
    props.registry.bindTo(fn, 'read');
    iam.Grant.addToPrincipal({
      grantee: fn,
      actions: [...ALERT_STATE_ACTIONS],
      resourceArns: [this.alertStateTable.tableArn],
    });
    if (props.retraining) {
      fn.addEnvironment(DRIFT_ENV.retrainingStateMachine, props.retraining.stateMachineArn);
      props.retraining.grantStartExecution(fn);
    }

    this.rule = new events.Rule(this, 'Schedule', {
      description: 'Runs the drift check over the last full capture window',
      schedule: props.schedule ?? events.Schedule.rate(Duration.hours(1)),
      // A failed check is retried by Lambda (asynchronous invocation); every write it repeats is idempotent.
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 2, maxEventAge: Duration.hours(1) })],
    });
  }

  /**
   * One of the drift check's metrics (DRIFT_METRICS), per model (and feature) or across models.
   * Datapoints are timestamped at the window's end, one per window.
   */
  metric(
    metricName: (typeof DRIFT_METRICS)[keyof typeof DRIFT_METRICS],
    dimensions: { readonly model?: string; readonly feature?: string } = {},
    options: cloudwatch.MetricOptions = {},
  ): cloudwatch.Metric {
    const dimensionsMap = {
      ...(dimensions.model === undefined ? {} : { [DIMENSION.model]: dimensions.model }),
      ...(dimensions.feature === undefined ? {} : { [DIMENSION.feature]: dimensions.feature }),
    };
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      ...(Object.keys(dimensionsMap).length > 0 ? { dimensionsMap } : {}),
      period: this.windowLength,
      statistic: 'Maximum',
      ...options,
    });
  }

  /**
   * DriftAlarm: 1 while `model`'s drift alert is raised (K significant windows in a row), 0 after
   * each window otherwise; without `model`, the series across every model. Maximum per window.
   */
  metricDriftAlarm(model?: string, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric(DRIFT_METRICS.driftAlarm, model === undefined ? {} : { model }, options);
  }
}
