// Batch scoring (DESIGN.md "Batch output"): a file put under incoming/{model}/ in the data
// bucket → EventBridge rule → the Standard state machine statemachines/batch-scoring.asl.json
// (one step for small files, a Distributed Map over the object for large ones) → scores/ and
// rejected/ partitions with a _SUCCESS manifest. Failed executions page through the alarms topic.
import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { INCOMING_PREFIX, STAGING_PREFIX } from '../../functions/lib/storage/s3-layout.ts';
import type { ArtifactStore } from './artifact-store.ts';
import { AslStateMachine } from './asl-state-machine.ts';
import type { DataStore } from './data-store.ts';
import { MlFunction } from './ml-function.ts';
import type { ModelRegistry } from './model-registry.ts';
import type { OnnxRuntimeLayer } from './onnx-runtime-layer.ts';

const fromRoot = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** The ASL file batch scoring deploys (and the local runtime runs). */
export const BATCH_SCORING_ASL_FILE = fromRoot('statemachines/batch-scoring.asl.json');

export interface BatchScoringProps {
  readonly data: DataStore;
  readonly registry: ModelRegistry;
  readonly artifacts: ArtifactStore;
  readonly onnxRuntime: OnnxRuntimeLayer;
  /** Failed batches are published here, and the failed-executions alarm acts here. */
  readonly alarmsTopic: sns.ITopic;
  /** Inputs up to this size are scored in one step. @default 8 MiB */
  readonly smallFileBytes?: number;
  /** Rows per output part and per Distributed Map batch. @default 10,000 */
  readonly batchRows?: number;
}

export class BatchScoring extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly rule: events.Rule;
  readonly failureAlarm: cloudwatch.Alarm;
  /** Step functions by construct id. */
  readonly functions: Readonly<Record<string, MlFunction>>;

  constructor(scope: Construct, id: string, props: BatchScoringProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { data } = props;
    const fn = (
      fid: string,
      entry: string,
      description: string,
      memorySize: number,
      timeout: Duration,
      onnx = false,
    ) =>
      new MlFunction(this, fid, {
        entry: fromRoot(`functions/${entry}/handler.ts`),
        description,
        memorySize,
        timeout,
        environment: {
          SMALL_FILE_BYTES: String(props.smallFileBytes ?? 8 * 1024 * 1024),
          BATCH_ROWS: String(props.batchRows ?? 10_000),
        },
        ...(onnx ? { onnxRuntime: props.onnxRuntime } : {}),
      });
    const plan = fn('PlanBatch', 'plan-batch', 'Batch scoring: plan an input', 1024, Duration.minutes(5));
    const scoreFile = fn(
      'ScoreFile',
      'score-file',
      'Batch scoring: score a small input',
      3008,
      Duration.minutes(15),
      true,
    );
    const scoreBatch = fn(
      'ScoreBatch',
      'score-batch',
      'Batch scoring: score one Distributed Map batch',
      3008,
      Duration.minutes(5),
      true,
    );
    const finalize = fn(
      'FinalizeBatch',
      'finalize-batch',
      'Batch scoring: write the _SUCCESS manifest',
      512,
      Duration.minutes(5),
    );
    const recordFailure = fn(
      'RecordBatchFailure',
      'record-batch-failure',
      'Batch scoring: shape a failure alarm',
      256,
      Duration.minutes(1),
    );
    this.functions = {
      PlanBatch: plan,
      ScoreFile: scoreFile,
      ScoreBatch: scoreBatch,
      FinalizeBatch: finalize,
      RecordBatchFailure: recordFailure,
    };

    for (const f of [plan, scoreFile, scoreBatch]) props.registry.bindTo(f, 'read');
    for (const f of [scoreFile, scoreBatch]) props.artifacts.bindTo(f, 'read');
    data.grantPrefix(plan, INCOMING_PREFIX, ['s3:GetObject']);
    data.grantPrefix(plan, 'scores/', ['s3:GetObject']);
    data.grantPrefix(plan, STAGING_PREFIX, ['s3:PutObject']);
    for (const f of [scoreFile, scoreBatch]) {
      data.grantPrefix(f, INCOMING_PREFIX, ['s3:GetObject']);
      data.grantPrefix(f, STAGING_PREFIX, ['s3:GetObject']);
      data.grantPrefix(f, 'scores/', ['s3:PutObject']);
      data.grantPrefix(f, 'rejected/', ['s3:PutObject']);
    }
    data.grantPrefix(finalize, 'scores/', ['s3:PutObject', 's3:DeleteObject']);
    data.grantPrefix(finalize, 'rejected/', ['s3:DeleteObject']);
    data.grantListPrefix(finalize, 'scores/');
    data.grantListPrefix(finalize, 'rejected/');

    // A known name: the Distributed Map starts child executions of this very state machine, and
    // its role's policy cannot reference the machine's own ARN attribute without a cycle.
    const stateMachineName = `${stack.stackName}-BatchScoring`;
    this.stateMachine = new AslStateMachine(this, 'StateMachine', {
      aslFile: BATCH_SCORING_ASL_FILE,
      stateMachineName,
      comment: 'Batch scoring of files dropped under incoming/',
      substitutions: {
        PlanBatchFunctionArn: plan.functionArn,
        ScoreFileFunctionArn: scoreFile.functionArn,
        ScoreBatchFunctionArn: scoreBatch.functionArn,
        FinalizeBatchFunctionArn: finalize.functionArn,
        RecordBatchFailureFunctionArn: recordFailure.functionArn,
        AlarmsTopicArn: props.alarmsTopic.topicArn,
      },
      invokes: Object.values(this.functions),
      // Task inputs carry rows of the data teams' files: keep them out of the execution log.
      includeExecutionData: false,
      timeout: Duration.hours(6),
    }).stateMachine;
    const machineArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    // Distributed Map: child workflow executions of this machine, and the ItemReader's reads.
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [machineArn] }),
    );
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [`${machineArn.replace(':stateMachine:', ':execution:')}/*`],
      }),
    );
    data.grantPrefix(this.stateMachine, INCOMING_PREFIX, ['s3:GetObject']);
    data.grantPrefix(this.stateMachine, STAGING_PREFIX, ['s3:GetObject']);
    props.alarmsTopic.grantPublish(this.stateMachine);
    Validations.of(this.stateMachine).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${stateMachineName}/*]`,
      reason:
        'The Distributed Map watches and stops the child executions it starts; their names are generated at run time.',
    });

    this.rule = new events.Rule(this, 'InputDropped', {
      description: 'A file under incoming/ in the data bucket starts batch scoring',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [data.bucket.bucketName] },
          object: { key: [{ prefix: INCOMING_PREFIX }] },
        },
      },
      targets: [new targets.SfnStateMachine(this.stateMachine)],
    });

    this.failureAlarm = new cloudwatch.Alarm(this, 'FailedExecutions', {
      alarmDescription: 'A batch-scoring execution failed (unparsable input, unknown model, or a fault)',
      metric: this.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.failureAlarm.addAlarmAction(new actions.SnsAction(props.alarmsTopic));
  }
}
