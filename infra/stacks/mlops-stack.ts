// The platform's stack: registry, buckets, the onnxruntime layer, the predict function behind
// its `live` alias and the REST API, and the training pipeline. Composition only: every
// default lives in a construct.

import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import type * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { ArtifactStore } from '../constructs/artifact-store.ts';
import { BatchScoring } from '../constructs/batch-scoring.ts';
import { CodeRelease, pickAlarms, stampDeployRevision } from '../constructs/code-release.ts';
import { DataStore } from '../constructs/data-store.ts';
import { DriftMonitor } from '../constructs/drift-monitor.ts';
import { InferenceCapture } from '../constructs/inference-capture.ts';
import { MlFunction } from '../constructs/ml-function.ts';
import { ModelRegistry } from '../constructs/model-registry.ts';
import { OnnxRuntimeLayer } from '../constructs/onnx-runtime-layer.ts';
import { PredictionApi } from '../constructs/prediction-api.ts';
import { ReleasePipeline } from '../constructs/release-pipeline.ts';
import { RetrainingPipeline } from '../constructs/retraining-pipeline.ts';
import { SecureBucket } from '../constructs/secure-bucket.ts';
import { ServiceMonitoring } from '../constructs/service-monitoring.ts';
import { ShadowRelease } from '../constructs/shadow-release.ts';
import { TrainingPipeline } from '../constructs/training-pipeline.ts';

const fromRoot = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** A second version on the `live` alias: how a canary is expressed in the stack. */
export interface LiveRouting {
  /** Published version number of the predict function that takes `weight` of the traffic. */
  readonly version: string;
  /** Share of traffic for that version, 0 < weight < 1. */
  readonly weight: number;
}

export interface MlopsStackProps extends StackProps {
  /** @default lambda.Architecture.X86_64 */
  readonly architecture?: lambda.Architecture;
  /**
   * Only with `codeRelease: { enabled: false }`: CodeDeploy manages the alias's weights.
   * @default - all traffic on the current version
   */
  readonly liveRouting?: LiveRouting;
  /**
   * Code releases: a `cdk deploy` that changes the predict function shifts the `live` alias
   * through CodeDeploy, judged by the served path's alarms (see CodeRelease).
   * @default - enabled, LambdaDeploymentConfig.CANARY_10PERCENT_5MINUTES
   */
  readonly codeRelease?: {
    /** @default true */
    readonly enabled?: boolean;
    /** @default codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_5MINUTES */
    readonly deploymentConfig?: codedeploy.ILambdaDeploymentConfig;
  };
  /** Requests per second per API key. @default 1000 */
  readonly apiRateLimit?: number;
  /** @default 2000 */
  readonly apiBurstLimit?: number;
  /** p99 latency SLO of the prediction API; above it in 3 of 5 minutes pages. @default 150 ms */
  readonly latencySlo?: Duration;
  /** When the drift check runs. @default events.Schedule.rate(Duration.hours(1)) */
  readonly driftSchedule?: events.Schedule;
  /** The capture window each drift check judges; divides a day. @default Duration.hours(1) */
  readonly driftWindow?: Duration;
  /** Share of prediction requests captured for drift monitoring, 0–1. @default 1 */
  readonly captureSampleRate?: number;
  /**
   * Who gets paged: subscriptions of the alarms topic (context `pageEmail` / `pageUrl` in
   * infra/app.ts). @default - none: alarms still change state and show on the dashboard
   */
  readonly page?: {
    readonly emails?: readonly string[];
    /** HTTPS endpoints (an incident tool's SNS integration URL). */
    readonly urls?: readonly string[];
  };
}

/** How long the predict function reuses a registry answer (a promotion is seen within it). */
const REGISTRY_CACHE_TTL = Duration.seconds(5);

/** Model that the bundled dataset trains, and where that dataset lands. */
export const SEED_MODEL = {
  model: 'flight-delay',
  featureSet: 'flights-v1',
  prefix: 'flights/',
  file: 'flights-20k.json',
} as const;

export class MlopsStack extends Stack {
  readonly predictFunction: MlFunction;
  readonly liveAlias: lambda.Alias;
  /** Absent when code releases are off. */
  readonly codeRelease?: CodeRelease;
  readonly trainingPipeline: TrainingPipeline;
  readonly alarmsTopic: sns.Topic;
  readonly batchScoring: BatchScoring;
  readonly api: PredictionApi;
  readonly registry: ModelRegistry;
  readonly artifacts: ArtifactStore;
  readonly data: DataStore;
  readonly monitoring: ServiceMonitoring;
  readonly capture: InferenceCapture;
  readonly notificationsTopic: sns.Topic;
  readonly retraining: RetrainingPipeline;
  readonly driftMonitor: DriftMonitor;
  readonly shadowRelease: ShadowRelease;
  readonly releasePipeline: ReleasePipeline;

  constructor(scope: Construct, id: string, props: MlopsStackProps = {}) {
    super(scope, id, props);
    const sampleRate = props.captureSampleRate ?? 1;
    if (!(sampleRate >= 0 && sampleRate <= 1))
      throw new Error(`captureSampleRate must be between 0 and 1 (got ${sampleRate})`);
    if (props.liveRouting && !(props.liveRouting.weight > 0 && props.liveRouting.weight < 1)) {
      throw new Error(
        `liveRouting.weight must be between 0 and 1 exclusive (got ${props.liveRouting.weight})`,
      );
    }
    const codeReleases = props.codeRelease?.enabled ?? true;
    if (props.liveRouting && codeReleases) {
      throw new Error(
        `liveRouting (version ${props.liveRouting.version} at ${props.liveRouting.weight}) conflicts with code releases: CodeDeploy manages the live alias's weights; set codeRelease: { enabled: false } to route by hand`,
      );
    }

    const accessLogs = new SecureBucket(this, 'AccessLogs').bucket;
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        "This bucket receives the other buckets' server access logs; logging it into itself would loop.",
    });
    this.registry = new ModelRegistry(this, 'Registry');
    this.artifacts = new ArtifactStore(this, 'ArtifactStore', { accessLogs });
    this.data = new DataStore(this, 'DataStore', {
      accessLogs,
      seedDatasets: [
        {
          sourceDir: fromRoot('node_modules/vega-datasets/data'),
          files: [SEED_MODEL.file],
          prefix: SEED_MODEL.prefix,
        },
      ],
    });
    const onnxRuntime = new OnnxRuntimeLayer(this, 'OnnxRuntime', { architecture: props.architecture });

    this.predictFunction = new MlFunction(this, 'Predict', {
      entry: fromRoot('functions/predict/handler.ts'),
      description: 'Online predictions for POST /models/{model}/predict',
      // 1769 MB is one full vCPU: the smallest size at which onnxruntime is not CPU-starved.
      memorySize: 1769,
      timeout: Duration.seconds(10),
      onnxRuntime,
      environment: {
        CAPTURE_SAMPLE_RATE: String(props.captureSampleRate ?? 1),
        // A release waits this long after a promotion before it hands the alias back.
        REGISTRY_CACHE_TTL_MS: String(REGISTRY_CACHE_TTL.toMilliseconds()),
      },
    });
    this.registry.bindTo(this.predictFunction, 'read');
    this.artifacts.bindTo(this.predictFunction, 'read');
    // A deploy rewrites the whole environment, dropping pins a model release left on $LATEST.
    stampDeployRevision(this.predictFunction);
    this.liveAlias = new lambda.Alias(this, 'LiveAlias', {
      aliasName: 'live',
      version: this.predictFunction.currentVersion,
      description: 'Serving alias: champion, plus a challenger during a canary',
      additionalVersions: props.liveRouting
        ? [
            {
              version: lambda.Version.fromVersionArn(
                this,
                'CanaryVersion',
                `${this.predictFunction.functionArn}:${props.liveRouting.version}`,
              ),
              weight: props.liveRouting.weight,
            },
          ]
        : undefined,
    });

    // Shadow releases: the `shadow` alias, and the steps the release state machine runs for them.
    this.shadowRelease = new ShadowRelease(this, 'ShadowRelease', {
      predictFunction: this.predictFunction,
      registry: this.registry,
      data: this.data,
      artifacts: this.artifacts,
    });

    this.alarmsTopic = new sns.Topic(this, 'AlarmsTopic', {
      displayName: 'MLOps platform alarms',
      enforceSSL: true,
    });
    Validations.of(this.alarmsTopic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'Alarm messages carry run ids, step names and error text, no training data; a customer-managed key would add a fixed monthly cost to an idle platform (SSE with the AWS-managed key cannot receive CloudWatch alarms).',
    });
    for (const email of props.page?.emails ?? [])
      this.alarmsTopic.addSubscription(new subscriptions.EmailSubscription(email));
    for (const url of props.page?.urls ?? [])
      this.alarmsTopic.addSubscription(
        new subscriptions.UrlSubscription(url, { protocol: sns.SubscriptionProtocol.HTTPS }),
      );
    this.trainingPipeline = new TrainingPipeline(this, 'TrainingPipeline', {
      registry: this.registry,
      artifacts: this.artifacts,
      data: this.data,
      onnxRuntime,
      alarmsTopic: this.alarmsTopic,
    });

    this.batchScoring = new BatchScoring(this, 'BatchScoring', {
      data: this.data,
      registry: this.registry,
      artifacts: this.artifacts,
      onnxRuntime,
      alarmsTopic: this.alarmsTopic,
    });

    this.api = new PredictionApi(this, 'PredictionApi', {
      target: this.liveAlias,
      rateLimit: props.apiRateLimit,
      burstLimit: props.apiBurstLimit,
    });

    // Capture records are log lines of the predict function; its log subscription delivers them
    // to S3 through Firehose, partitioned by model, date and hour.
    this.capture = new InferenceCapture(this, 'InferenceCapture', {
      logGroup: this.predictFunction.logGroup,
      bucket: this.data.bucket,
    });

    // Model events that inform rather than page: what a retraining decided, and why.
    this.notificationsTopic = new sns.Topic(this, 'NotificationsTopic', {
      displayName: 'MLOps platform model events',
      enforceSSL: true,
    });
    Validations.of(this.notificationsTopic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'Notifications carry model names, versions, metrics and reasons, no training data; a customer-managed key would add a fixed monthly cost to an idle platform.',
    });

    // Continuous training: drift (or a person) starts it; it promotes only a challenger that beats
    // the champion on the same recent holdout, overall and in every subgroup.
    this.retraining = new RetrainingPipeline(this, 'RetrainingPipeline', {
      registry: this.registry,
      artifacts: this.artifacts,
      data: this.data,
      onnxRuntime,
      trainingPipeline: this.trainingPipeline.stateMachine,
      notificationsTopic: this.notificationsTopic,
    });

    this.driftMonitor = new DriftMonitor(this, 'DriftMonitor', {
      data: this.data,
      artifacts: this.artifacts,
      registry: this.registry,
      retraining: this.retraining.stateMachine,
      ...(props.driftSchedule ? { schedule: props.driftSchedule } : {}),
      ...(props.driftWindow ? { windowLength: props.driftWindow } : {}),
    });

    this.monitoring = new ServiceMonitoring(this, 'Monitoring', {
      pageTopic: this.alarmsTopic,
      api: this.api.api,
      latencySlo: props.latencySlo,
      driftWindow: props.driftWindow,
      functions: [
        // The served path only: the `live` alias's metrics (Resource = fn:live), so a crashing
        // shadow challenger on its own alias never pages as a served-path error.
        { label: 'Predict', fn: this.liveAlias },
        { label: 'DriftCheck', fn: this.driftMonitor.driftCheckFunction },
      ],
      stateMachines: [
        { label: 'Training', stateMachine: this.trainingPipeline.stateMachine },
        { label: 'Retraining', stateMachine: this.retraining.stateMachine },
      ],
      otherAlarms: [this.batchScoring.failureAlarm],
    });

    // Model releases: canary ramps on the live alias, judged by the served path's alarms and a
    // comparison of challenger and champion, rolled back at once on a breach.
    this.releasePipeline = new ReleasePipeline(this, 'ReleasePipeline', {
      predictFunction: this.predictFunction,
      liveAlias: this.liveAlias,
      registry: this.registry,
      notificationsTopic: this.notificationsTopic,
      alarms: ['PredictErrors', 'ApiServerErrorRate', 'ApiLatencyP99'].map((key) => {
        const alarm = this.monitoring.alarms[key];
        if (!alarm) throw new Error(`ServiceMonitoring has no ${key} alarm for the release pipeline`);
        return alarm;
      }),
      shadow: this.shadowRelease,
      data: this.data,
      artifacts: this.artifacts,
      registryCacheTtl: REGISTRY_CACHE_TTL,
    });

    // A retraining's winning challenger goes live through a release, not a registry write.
    this.retraining.releaseThrough(this.releasePipeline.stateMachine);

    if (codeReleases) {
      this.codeRelease = new CodeRelease(this, 'CodeRelease', {
        alias: this.liveAlias,
        alarms: pickAlarms(this.monitoring.alarms),
        deploymentConfig: props.codeRelease?.deploymentConfig,
      });
    }
    // Every release step that writes the predict function's aliases (CloudFormation's, both) asks
    // first whether a code release owns them: the guard in functions/lib/releases/code-deploy-guard.ts.
    const { StartRelease, ShiftTraffic, RollbackRelease, FinishRelease } = this.releasePipeline.functions;
    for (const fn of [
      StartRelease,
      ShiftTraffic,
      RollbackRelease,
      FinishRelease,
      this.shadowRelease.startShadowFunction,
    ])
      if (fn) this.codeRelease?.bindTo(fn);

    const outputs: Record<string, string> = {
      ApiUrl: this.api.url,
      ApiKeyId: this.api.apiKey.keyId,
      RegistryTableName: this.registry.table.tableName,
      ArtifactsBucketName: this.artifacts.bucket.bucketName,
      DataBucketName: this.data.bucket.bucketName,
      PredictFunctionName: this.predictFunction.functionName,
      TrainingPipelineArn: this.trainingPipeline.stateMachine.stateMachineArn,
      RunsTableName: this.trainingPipeline.runLog.table.tableName,
      AlarmsTopicArn: this.alarmsTopic.topicArn,
      BatchScoringArn: this.batchScoring.stateMachine.stateMachineArn,
      RetrainingPipelineArn: this.retraining.stateMachine.stateMachineArn,
      DriftCheckFunctionName: this.driftMonitor.driftCheckFunction.functionName,
      NotificationsTopicArn: this.notificationsTopic.topicArn,
      SeedDatasetUri: this.data.datasetUri(SEED_MODEL.prefix, SEED_MODEL.file),
      ReleasePipelineArn: this.releasePipeline.stateMachine.stateMachineArn,
      ReleaseAlarmNames: this.releasePipeline.alarmNames.join(','),
      StartShadowFunctionName: this.shadowRelease.startShadowFunction.functionName,
      FinishShadowFunctionName: this.shadowRelease.finishShadowFunction.functionName,
    };
    for (const [name, value] of Object.entries(outputs)) new CfnOutput(this, name, { value });
  }
}
