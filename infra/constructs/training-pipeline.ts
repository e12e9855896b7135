// The training pipeline (DESIGN.md: validate → preprocess → train ∥ build test set → evaluate →
// gates → register): one function per step, the run log, and the Standard state machine whose
// definition is statemachines/training.asl.json, filled in through DefinitionSubstitutions so
// the template carries the same ASL the local runtime runs.
import { fileURLToPath } from 'node:url';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { RUNS_PREFIX } from '../../functions/lib/storage/s3-layout.ts';
import type { ArtifactStore } from './artifact-store.ts';
import { AslStateMachine } from './asl-state-machine.ts';
import type { DataStore } from './data-store.ts';
import { MlFunction } from './ml-function.ts';
import type { ModelRegistry } from './model-registry.ts';
import type { OnnxRuntimeLayer } from './onnx-runtime-layer.ts';
import { RunLogTable } from './run-log-table.ts';

const fromRoot = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** The ASL file the pipeline deploys (and the local runtime runs). */
export const TRAINING_ASL_FILE = fromRoot('statemachines/training.asl.json');

export interface TrainingPipelineProps {
  readonly registry: ModelRegistry;
  readonly artifacts: ArtifactStore;
  readonly data: DataStore;
  /** Evaluate scores the artifact with onnxruntime, as serving does. */
  readonly onnxRuntime: OnnxRuntimeLayer;
  /** Failed runs are published here. */
  readonly alarmsTopic: sns.ITopic;
  /**
   * Memory of the train function: the fit holds the encoded train split in memory
   * (1M rows × 70 features ≈ 280 MB of float32, plus the trainer's working set).
   * @default 3008
   */
  readonly trainMemorySize?: number;
}

/** Step functions by the placeholder their ARN fills in the ASL. */
interface StepFunctionSpec {
  readonly id: string;
  readonly entry: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
}

export class TrainingPipeline extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly runLog: RunLogTable;
  /** Step functions by construct id (ValidateData, Preprocess, TrainModel, …). */
  readonly functions: Readonly<Record<string, MlFunction>>;
  /** Role SageMaker training jobs of `trainer: container` runs assume. */
  readonly sageMakerRole: iam.Role;

  constructor(scope: Construct, id: string, props: TrainingPipelineProps) {
    super(scope, id);
    this.runLog = new RunLogTable(this, 'RunLog');
    const minutes = (n: number) => Duration.minutes(n);
    const specs: StepFunctionSpec[] = [
      {
        id: 'ValidateData',
        entry: 'validate-data',
        description: 'Training pipeline: data validation gate',
        memorySize: 2048,
        timeout: minutes(5),
      },
      {
        id: 'Preprocess',
        entry: 'preprocess',
        description: 'Training pipeline: split and fit the feature encoding',
        memorySize: 3008,
        timeout: minutes(15),
      },
      {
        id: 'TrainModel',
        entry: 'train',
        description: 'Training pipeline: fit the model and export ONNX',
        memorySize: props.trainMemorySize ?? 3008,
        timeout: minutes(15),
      },
      {
        id: 'BuildTestSet',
        entry: 'build-test-set',
        description: 'Training pipeline: encode the held-out test set',
        memorySize: 2048,
        timeout: minutes(10),
      },
      {
        id: 'Evaluate',
        entry: 'evaluate',
        description: 'Training pipeline: metrics, subgroups, calibration, gates, profile',
        memorySize: 3008,
        timeout: minutes(10),
      },
      {
        id: 'RegisterModel',
        entry: 'register-model',
        description: 'Training pipeline: register the version as Staging',
        memorySize: 1024,
        timeout: minutes(5),
      },
      {
        id: 'RecordFailure',
        entry: 'record-run-failure',
        description: 'Training pipeline: record a failed run',
        memorySize: 256,
        timeout: minutes(1),
      },
      {
        id: 'ImportContainerModel',
        entry: 'import-container-model',
        description: 'Training pipeline: import a SageMaker job model.onnx',
        memorySize: 1024,
        timeout: minutes(5),
      },
    ];
    const functions: Record<string, MlFunction> = {};
    for (const spec of specs) {
      const fn = new MlFunction(this, spec.id, {
        entry: fromRoot(`functions/${spec.entry}/handler.ts`),
        description: spec.description,
        memorySize: spec.memorySize,
        timeout: spec.timeout,
        ...(spec.id === 'Evaluate' ? { onnxRuntime: props.onnxRuntime } : {}),
      });
      this.runLog.bindTo(fn);
      props.artifacts.bindTo(fn, 'runs');
      functions[spec.id] = fn;
    }
    const fn = (name: string) => functions[name] as MlFunction;
    props.data.bindTo(fn('ValidateData'));
    props.data.bindTo(fn('Preprocess'));
    props.registry.bindTo(fn('RegisterModel'), 'readWrite');
    props.artifacts.grantWriteModels(fn('RegisterModel'));
    this.functions = functions;

    this.sageMakerRole = new iam.Role(this, 'SageMakerTrainingRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: 'Assumed by SageMaker training jobs of container-trained pipeline runs',
    });
    props.artifacts.grantRunFiles(this.sageMakerRole);
    this.sageMakerRole.addToPolicy(
      new iam.PolicyStatement({
        actions: [
          'ecr:GetAuthorizationToken',
          'ecr:BatchGetImage',
          'ecr:GetDownloadUrlForLayer',
          'logs:CreateLogGroup',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          'cloudwatch:PutMetricData',
        ],
        resources: ['*'],
      }),
    );
    Validations.of(this.sageMakerRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'SageMaker training jobs pull a user-chosen ECR image and write to /aws/sagemaker/TrainingJobs log streams named per job; ecr:GetAuthorizationToken has no resource-level permissions.',
    });

    const stack = Stack.of(this);
    this.stateMachine = new AslStateMachine(this, 'StateMachine', {
      aslFile: TRAINING_ASL_FILE,
      comment: 'Training pipeline',
      substitutions: {
        ValidateDataFunctionArn: fn('ValidateData').functionArn,
        PreprocessFunctionArn: fn('Preprocess').functionArn,
        TrainModelFunctionArn: fn('TrainModel').functionArn,
        BuildTestSetFunctionArn: fn('BuildTestSet').functionArn,
        EvaluateFunctionArn: fn('Evaluate').functionArn,
        RegisterModelFunctionArn: fn('RegisterModel').functionArn,
        RecordFailureFunctionArn: fn('RecordFailure').functionArn,
        ImportContainerModelFunctionArn: fn('ImportContainerModel').functionArn,
        AlarmsTopicArn: props.alarmsTopic.topicArn,
        SageMakerRoleArn: this.sageMakerRole.roleArn,
        ArtifactsBucketName: props.artifacts.bucket.bucketName,
      },
      invokes: Object.values(functions),
      timeout: Duration.hours(26),
    }).stateMachine;
    props.alarmsTopic.grantPublish(this.stateMachine);

    // createTrainingJob.sync: start, poll through an EventBridge rule Step Functions manages, stop on abort.
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          'sagemaker:CreateTrainingJob',
          'sagemaker:DescribeTrainingJob',
          'sagemaker:StopTrainingJob',
          'sagemaker:AddTags',
        ],
        resources: [stack.formatArn({ service: 'sagemaker', resource: 'training-job', resourceName: '*' })],
      }),
    );
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [
          stack.formatArn({
            service: 'events',
            resource: 'rule',
            resourceName: 'StepFunctionsGetEventsForSageMakerTrainingJobsRule',
          }),
        ],
      }),
    );
    this.sageMakerRole.grantPassRole(this.stateMachine.role);
    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:training-job/*]',
      reason: `Training job names are derived from run ids at run time ({runId}-train); ${RUNS_PREFIX} holds their data.`,
    });
  }
}
