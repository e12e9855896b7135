// The continuous-training loop (issue 5): the Standard state machine whose definition is
// statemachines/retraining.asl.json — gather the recent labelled window, train a challenger
// through the training pipeline as a nested execution, compare champion and challenger on one
// holdout, and only when the challenger wins start its release (the release state machine, wired
// with `releaseThrough`) or promote it by compare-and-set, then publish the outcome — and its
// four functions, each granted exactly the prefixes and tables it touches.
import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, Lazy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  RetrainingPolicyOverrides,
  type RetrainingReleaseSettings,
} from '../../functions/lib/retraining/retraining-policy.ts';
import {
  GROUND_TRUTH_PREFIX,
  RETRAINING_DATASETS_PREFIX,
  RETRAINING_PREFIX,
} from '../../functions/lib/storage/s3-layout.ts';
import { ARTIFACTS_BUCKET_ENV, type ArtifactStore } from './artifact-store.ts';
import { AslStateMachine } from './asl-state-machine.ts';
import { DATA_BUCKET_ENV, type DataStore } from './data-store.ts';
import { MlFunction } from './ml-function.ts';
import type { ModelRegistry } from './model-registry.ts';
import type { OnnxRuntimeLayer } from './onnx-runtime-layer.ts';
import { acknowledgePrefixWildcard } from './secure-bucket.ts';

const fromRoot = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** The ASL file the retraining deploys (and the local runtime runs). */
export const RETRAINING_ASL_FILE = fromRoot('statemachines/retraining.asl.json');

/** The managed rule through which Step Functions learns that a `.sync` nested execution ended. */
export const NESTED_EXECUTION_EVENTS_RULE = 'StepFunctionsGetEventsForStepFunctionsExecutionRule';

export interface RetrainingPipelineProps {
  readonly registry: ModelRegistry;
  readonly artifacts: ArtifactStore;
  readonly data: DataStore;
  /** CompareChallenger scores both models with onnxruntime, as serving does. */
  readonly onnxRuntime: OnnxRuntimeLayer;
  /** The training pipeline's state machine: the challenger is trained by a nested execution of it. */
  readonly trainingPipeline: sfn.IStateMachine;
  /** Every outcome (promoted, kept and why, failed) is published here. */
  readonly notificationsTopic: sns.ITopic;
  /** Holdout AUC the challenger must gain over the champion (the margin). @default 0.005 */
  readonly minAucGain?: number;
  /** Most AUC a subgroup may lose against the champion's same subgroup (ε). @default 0.02 */
  readonly maxSubgroupAucLoss?: number;
  /** Holdout rows a subgroup needs to be gated on. @default 200 */
  readonly minSubgroupRows?: number;
  /** Days of ground-truth partitions read, back from the window's end. @default 7 */
  readonly lookbackDays?: number;
  /** Fewest valid labelled rows worth retraining on. @default 2000 */
  readonly minLabelledRows?: number;
  /** Share of the labelled rows held out for the comparison. @default 0.3 */
  readonly holdoutShare?: number;
  /**
   * How a winning challenger becomes Production: `release` starts the release state machine
   * (`releaseThrough`) with `release`'s settings; `registry` writes the registry at once.
   * @default 'release'
   */
  readonly promoteBy?: 'release' | 'registry';
  /** The release a winning challenger goes through (strategy, bake, …). @default the release pipeline's defaults */
  readonly release?: RetrainingReleaseSettings;
}

export class RetrainingPipeline extends Construct {
  readonly stateMachine: sfn.StateMachine;
  /** Step functions by construct id (PrepareRetrainingData, CompareChallenger, …). */
  readonly functions: Readonly<Record<string, MlFunction>>;
  /** The release state machine a winning challenger goes through, once `releaseThrough` named it. */
  private releasePipeline?: sfn.IStateMachine;

  constructor(scope: Construct, id: string, props: RetrainingPipelineProps) {
    super(scope, id);
    const policy = deploymentPolicy(props);
    const promoteBy = policy.promoteBy ?? 'release';
    // The release pipeline is built after this one (it watches alarms that watch this machine).
    const releaseArn = Lazy.string({
      produce: () =>
        this.releasePipeline?.stateMachineArn ??
        Stack.of(this).formatArn({
          service: 'states',
          resource: 'stateMachine',
          resourceName: 'no-release-pipeline',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
    });
    this.node.addValidation({
      validate: () =>
        promoteBy === 'release' && !this.releasePipeline
          ? [
              'RetrainingPipeline: promoteBy is release, but no release pipeline was given: call releaseThrough(stateMachine), or set promoteBy: registry',
            ]
          : [],
    });
    const fn = (fid: string, entry: string, description: string, memorySize: number, timeout: Duration) =>
      new MlFunction(this, fid, {
        entry: fromRoot(`functions/${entry}/handler.ts`),
        description,
        memorySize,
        timeout,
        ...(fid === 'CompareChallenger' ? { onnxRuntime: props.onnxRuntime } : {}),
      });
    const prepare = fn(
      'PrepareRetrainingData',
      'prepare-retraining-data',
      'Retraining: gather and split the recent labelled window',
      3008,
      Duration.minutes(15),
    );
    const compare = fn(
      'CompareChallenger',
      'compare-challenger',
      'Retraining: champion vs challenger on the same holdout',
      3008,
      Duration.minutes(15),
    );
    const promote = fn(
      'PromoteChallenger',
      'promote-challenger',
      'Retraining: compare-and-set promotion of the challenger',
      256,
      Duration.minutes(1),
    );
    const describe = fn(
      'DescribeRetrainingOutcome',
      'describe-retraining-outcome',
      'Retraining: describe and record the outcome',
      256,
      Duration.minutes(1),
    );
    this.functions = {
      PrepareRetrainingData: prepare,
      CompareChallenger: compare,
      PromoteChallenger: promote,
      DescribeRetrainingOutcome: describe,
    };

    const { data, artifacts } = props;
    prepare.addEnvironment(DATA_BUCKET_ENV, data.bucket.bucketName);
    prepare.addEnvironment('RETRAINING_POLICY', JSON.stringify(policy));
    data.grantListPrefix(prepare, GROUND_TRUTH_PREFIX);
    data.grantPrefix(prepare, GROUND_TRUTH_PREFIX, ['s3:GetObject']);
    // The challenger's dataset sits with the datasets the training pipeline reads.
    data.grantPrefix(prepare, RETRAINING_DATASETS_PREFIX, ['s3:PutObject']);
    props.registry.bindTo(prepare, 'read');
    props.registry.bindTo(compare, 'read');
    props.registry.bindTo(promote, 'readWrite');
    artifacts.grantReadModels(compare);
    for (const f of [prepare, compare, describe])
      f.addEnvironment(ARTIFACTS_BUCKET_ENV, artifacts.bucket.bucketName);
    grantObjects(prepare, artifacts.bucket, RETRAINING_PREFIX, ['s3:PutObject']);
    grantObjects(compare, artifacts.bucket, RETRAINING_PREFIX, ['s3:GetObject', 's3:PutObject']);
    grantObjects(describe, artifacts.bucket, RETRAINING_PREFIX, ['s3:PutObject']);

    this.stateMachine = new AslStateMachine(this, 'StateMachine', {
      aslFile: RETRAINING_ASL_FILE,
      comment: 'Continuous training: challenger vs champion on recent labelled data',
      substitutions: {
        PrepareRetrainingDataFunctionArn: prepare.functionArn,
        TrainingPipelineArn: props.trainingPipeline.stateMachineArn,
        CompareChallengerFunctionArn: compare.functionArn,
        PromoteChallengerFunctionArn: promote.functionArn,
        DescribeRetrainingOutcomeFunctionArn: describe.functionArn,
        NotificationsTopicArn: props.notificationsTopic.topicArn,
        ReleasePipelineArn: releaseArn,
      },
      invokes: Object.values(this.functions),
      // The nested training run may take a day (a SageMaker job); the rest takes minutes.
      timeout: Duration.hours(27),
    }).stateMachine;
    props.notificationsTopic.grantPublish(this.stateMachine);

    // startExecution.sync:2: start the training run, watch and stop it, through a rule Step
    // Functions manages in the account for that purpose.
    const stack = Stack.of(this);
    props.trainingPipeline.grantStartExecution(this.stateMachine);
    props.trainingPipeline.grantExecution(
      this.stateMachine,
      'states:DescribeExecution',
      'states:StopExecution',
    );
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [
          stack.formatArn({
            service: 'events',
            resource: 'rule',
            resourceName: NESTED_EXECUTION_EVENTS_RULE,
          }),
        ],
      }),
    );
    // cdk-nag names the finding by the resource as rendered: the training machine's name is a token.
    const trainingName = stack.splitArn(
      props.trainingPipeline.stateMachineArn,
      ArnFormat.COLON_RESOURCE_NAME,
    ).resourceName;
    const rendered =
      trainingName !== undefined && Token.isUnresolved(trainingName)
        ? JSON.stringify(stack.resolve(trainingName))
        : trainingName;
    Validations.of(this.stateMachine).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${rendered}:*]`,
      reason:
        "The nested training run's execution is named after the challenger's run id, derived at run time from the retraining execution's name; only executions of the training pipeline are described or stopped.",
    });
  }

  /**
   * A challenger that wins goes live through this release state machine: the retraining may start
   * executions of it (fire and forget: the release runs, and reports, on its own).
   */
  releaseThrough(releasePipeline: sfn.IStateMachine): void {
    this.releasePipeline = releasePipeline;
    releasePipeline.grantStartExecution(this.stateMachine);
  }
}

/** The deployment's policy settings, checked now (a bad value fails synth, naming it). */
function deploymentPolicy(props: RetrainingPipelineProps): RetrainingPolicyOverrides {
  const settings = {
    promoteBy: props.promoteBy,
    release: props.release,
    minAucGain: props.minAucGain,
    maxSubgroupAucLoss: props.maxSubgroupAucLoss,
    minSubgroupRows: props.minSubgroupRows,
    lookbackDays: props.lookbackDays,
    minLabelledRows: props.minLabelledRows,
    holdoutShare: props.holdoutShare,
  };
  const defined = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
  const parsed = RetrainingPolicyOverrides.safeParse(defined);
  if (!parsed.success)
    throw new Error(
      `RetrainingPipeline: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message} (got ${JSON.stringify((defined as Record<string, unknown>)[String(i.path[0])])})`).join('; ')}`,
    );
  return parsed.data;
}

/** `actions` on the objects under `prefix` of `bucket`, with that prefix's wildcard acknowledged. */
function grantObjects(
  grantee: iam.IGrantable,
  bucket: s3.IBucket,
  prefix: string,
  actions: string[],
): iam.Grant {
  const grant = iam.Grant.addToPrincipal({
    grantee,
    actions,
    resourceArns: [bucket.arnForObjects(`${prefix}*`)],
  });
  acknowledgePrefixWildcard(grantee, bucket, prefix);
  return grant;
}
