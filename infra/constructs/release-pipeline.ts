// Model releases (issue 6): the Standard state machine whose definition is
// statemachines/release.asl.json — publish a predict function version pinned to the model version,
// shift the `live` alias along the plan with a bake per step, check the served path's alarms and
// the challenger against the champion during every bake, roll back at once on any breach, promote
// by compare-and-set on success and hand the alias back at rest to the version it started from —
// and its six functions, each granted exactly what it calls. Strategy `shadow` runs the
// ShadowRelease construct's two steps instead (the state machine may invoke them).
import { fileURLToPath } from 'node:url';
import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type {
  DecisionMetric,
  DecisionPolicyOverrides,
} from '../../functions/lib/releases/champion-challenger.ts';
import type { HealthThresholds } from '../../functions/lib/releases/health.ts';
import {
  ReleasePolicy,
  type ReleaseSettingsOverrides,
  type Strategy,
} from '../../functions/lib/releases/release-plan.ts';
import { CAPTURE_PREFIX, GROUND_TRUTH_PREFIX } from '../../functions/lib/storage/s3-layout.ts';
import { ARTIFACTS_BUCKET_ENV, type ArtifactStore } from './artifact-store.ts';
import { AslStateMachine } from './asl-state-machine.ts';
import { DATA_BUCKET_ENV, type DataStore } from './data-store.ts';
import { MlFunction } from './ml-function.ts';
import type { ModelRegistry } from './model-registry.ts';

const fromRoot = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** The ASL file the release deploys (and the local runtime runs). */
export const RELEASE_ASL_FILE = fromRoot('statemachines/release.asl.json');

/** Environment variables of the release functions (functions/lib/releases/release-handler.ts). */
export const RELEASE_ENV = {
  predictFunction: 'PREDICT_FUNCTION_NAME',
  alias: 'LIVE_ALIAS_NAME',
  policy: 'RELEASE_POLICY',
  alarmNames: 'RELEASE_ALARM_NAMES',
  registryCacheTtlMs: 'REGISTRY_CACHE_TTL_MS',
} as const;

/** Lambda actions each release function needs, by what it touches. */
export const RELEASE_LAMBDA_ACTIONS = {
  readAlias: ['lambda:GetAlias'],
  moveAlias: ['lambda:GetAlias', 'lambda:UpdateAlias'],
  readVersions: ['lambda:GetFunctionConfiguration'],
  publish: ['lambda:UpdateFunctionConfiguration', 'lambda:PublishVersion'],
  warmUp: ['lambda:InvokeFunction'],
} as const;

/** Release settings of the deployment, or of one model. */
export interface ReleaseDefaults {
  /** @default 'canary' */
  readonly strategy?: Strategy;
  /** Plans (percent per step, ending at 100) by strategy. @default canary 5,25,50,100; linear 25,50,75,100 */
  readonly plans?: Partial<Record<Strategy, readonly number[]>>;
  /** How long each step bakes. @default Duration.minutes(5) */
  readonly bake?: Duration;
  /** How often a bake is checked. @default a fifth of the bake, at most every 30 s */
  readonly checkInterval?: Duration;
  /** How a champion/challenger release decides. @default DEFAULT_DECISION_POLICY */
  readonly decision?: DecisionDefaults;
}

/** How a champion/challenger release decides (functions/lib/releases/champion-challenger.ts). */
export interface DecisionDefaults {
  /** How long the challenger serves its slice before the decision. @default Duration.hours(24) */
  readonly window?: Duration;
  /** The agreed metric. @default 'auc' */
  readonly metric?: DecisionMetric;
  /** Least improvement that counts as beating the champion. @default 0.005 */
  readonly minGain?: number;
  /** One-sided confidence that the gain is above zero. @default 0.95 */
  readonly confidence?: number;
  /** Fewest labelled predictions per arm. @default 200 */
  readonly minLabelledRows?: number;
  /** Most AUC a subgroup may lose against the champion (ε). @default 0.02 */
  readonly maxSubgroupAucLoss?: number;
  /** Subgroups with fewer labelled predictions in an arm are not gated. @default 200 */
  readonly minSubgroupRows?: number;
}

export interface ReleasePipelineProps {
  /** The function whose alias releases shift (the predict function). */
  readonly predictFunction: lambda.IFunction;
  /** Its serving alias (`live`). */
  readonly liveAlias: lambda.IAlias;
  readonly registry: ModelRegistry;
  /** Every outcome (released, rolled back and why, a failed rollback) is published here. */
  readonly notificationsTopic: sns.ITopic;
  /** The served path's alarms: any of them in ALARM during a bake rolls the release back. */
  readonly alarms: readonly cloudwatch.IAlarm[];
  /** @default canary 5 → 25 → 50 → 100 %, 5-minute bakes */
  readonly defaults?: ReleaseDefaults;
  /** Settings per model, over the defaults. @default - none */
  readonly models?: Readonly<Record<string, ReleaseDefaults>>;
  /** When the challenger counts as worse than the champion. @default DEFAULT_THRESHOLDS */
  readonly thresholds?: Partial<HealthThresholds>;
  /** The shadow release's steps (ShadowRelease), which strategy `shadow` runs. */
  readonly shadow: ShadowSteps;
  /** Capture records and ground truth are read from it (champion/challenger decisions). */
  readonly data: DataStore;
  /** Decision reports are written to it (`releases/`). */
  readonly artifacts: ArtifactStore;
  /**
   * How long after a champion/challenger window its last capture records may still be arriving
   * (the capture stream's buffering): the decision waits this long after the window.
   * @default Duration.minutes(2)
   */
  readonly captureSettle?: Duration;
  /**
   * How long the predict function reuses a registry answer: its REGISTRY_CACHE_TTL_MS. After
   * promoting, a release waits this long (and a second) before it hands the alias back to the
   * unpinned version, so that version serves the new Production version everywhere.
   * @default Duration.seconds(5), the predict function's default
   */
  readonly registryCacheTtl?: Duration;
}

/** The two functions of a shadow release (ShadowRelease's). */
export interface ShadowSteps {
  /** functions/start-shadow. */
  readonly startShadowFunction: lambda.IFunction;
  /** functions/finish-shadow. */
  readonly finishShadowFunction: lambda.IFunction;
}

/** The predict function's registry cache TTL when it sets none (functions/predict/handler.ts). */
export const DEFAULT_REGISTRY_CACHE_TTL = Duration.seconds(5);

export class ReleasePipeline extends Construct {
  readonly stateMachine: sfn.StateMachine;
  /** Step functions by construct id (StartRelease, PublishReleaseVersion, …). */
  readonly functions: Readonly<Record<string, MlFunction>>;
  /** Names of the alarms every bake watches. */
  readonly alarmNames: readonly string[];

  constructor(scope: Construct, id: string, props: ReleasePipelineProps) {
    super(scope, id);
    const policy = deploymentPolicy(props);
    const predict = props.predictFunction;
    const aliasArn = props.liveAlias.functionArn;
    const versionsArn = `${predict.functionArn}:*`;
    this.alarmNames = props.alarms.map(alarmNameOf);
    const stack = Stack.of(this);

    const fn = (fid: string, entry: string, description: string, timeout: Duration, memorySize = 256) => {
      const f = new MlFunction(this, fid, {
        entry: fromRoot(`functions/${entry}/handler.ts`),
        description: `Release: ${description}`,
        memorySize,
        timeout,
        environment: {
          [RELEASE_ENV.predictFunction]: predict.functionName,
          [RELEASE_ENV.alias]: props.liveAlias.aliasName,
          [RELEASE_ENV.policy]: JSON.stringify(policy),
          [RELEASE_ENV.alarmNames]: stack.toJsonString(this.alarmNames),
        },
      });
      // Every step writes the release record; the start and the end write the alias lock.
      props.registry.bindTo(f, 'readWrite');
      return f;
    };
    const minute = Duration.minutes(1);
    const start = fn('StartRelease', 'start-release', 'check, lock and record a release', minute);
    const publish = fn(
      'PublishReleaseVersion',
      'publish-release-version',
      'publish and warm the version pinned to the model version',
      Duration.minutes(10),
    );
    const shift = fn('ShiftTraffic', 'shift-traffic', "move the live alias to the plan's next step", minute);
    const check = fn(
      'CheckReleaseHealth',
      'check-release-health',
      'alarms and challenger vs champion',
      minute,
    );
    const rollback = fn(
      'RollbackRelease',
      'rollback-release',
      'all traffic back on the previous version',
      minute,
    );
    const finish = fn(
      'FinishRelease',
      'finish-release',
      'promote the released model version and hand the alias back',
      minute,
    );
    const decide = fn(
      'DecideChallenger',
      'decide-challenger',
      "champion/challenger: judge the slice's outcomes against the champion's",
      Duration.minutes(10),
      // A long window's labelled predictions are held in memory.
      3008,
    );
    decide.addEnvironment(DATA_BUCKET_ENV, props.data.bucket.bucketName);
    decide.addEnvironment(ARTIFACTS_BUCKET_ENV, props.artifacts.bucket.bucketName);
    for (const prefix of [CAPTURE_PREFIX, GROUND_TRUTH_PREFIX]) {
      props.data.grantPrefix(decide, prefix, ['s3:GetObject']);
      props.data.grantListPrefix(decide, prefix);
    }
    props.artifacts.grantWriteReleaseReports(decide);
    const ttl = props.registryCacheTtl ?? DEFAULT_REGISTRY_CACHE_TTL;
    finish.addEnvironment(RELEASE_ENV.registryCacheTtlMs, String(ttl.toMilliseconds()));
    this.functions = {
      StartRelease: start,
      PublishReleaseVersion: publish,
      ShiftTraffic: shift,
      CheckReleaseHealth: check,
      RollbackRelease: rollback,
      FinishRelease: finish,
      DecideChallenger: decide,
    };

    const grant = (grantee: iam.IGrantable, actions: readonly string[], resourceArns: string[]) =>
      iam.Grant.addToPrincipal({ grantee, actions: [...actions], resourceArns });
    grant(start, RELEASE_LAMBDA_ACTIONS.readAlias, [aliasArn]);
    grant(check, RELEASE_LAMBDA_ACTIONS.readAlias, [aliasArn]);
    grant(shift, RELEASE_LAMBDA_ACTIONS.moveAlias, [aliasArn]);
    // The hand back: the version the release started from is warmed, then takes the alias whole.
    grant(finish, RELEASE_LAMBDA_ACTIONS.moveAlias, [aliasArn]);
    grant(finish, RELEASE_LAMBDA_ACTIONS.warmUp, [versionsArn]);
    grant(rollback, RELEASE_LAMBDA_ACTIONS.moveAlias, [aliasArn]);
    // A version's configuration is read by its qualified ARN; $LATEST's by the function's.
    grant(publish, RELEASE_LAMBDA_ACTIONS.readVersions, [predict.functionArn, versionsArn]);
    grant(publish, RELEASE_LAMBDA_ACTIONS.publish, [predict.functionArn]);
    grant(publish, RELEASE_LAMBDA_ACTIONS.warmUp, [versionsArn]);
    const predictId = stack.resolve((predict.node.defaultChild as lambda.CfnFunction | undefined)?.logicalId);
    Validations.of(publish.role ?? publish).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${predictId}.Arn>:*]`,
      reason:
        "Versions of the predict function are published at run time: PublishReleaseVersion reads the live version's configuration and warms the version it published, whose numbers are not known at deploy time.",
    });
    Validations.of(finish.role ?? finish).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${predictId}.Arn>:*]`,
      reason:
        'FinishRelease warms the version the release started from before it hands the alias back to it; which version that is is known only at run time.',
    });
    if (props.alarms.length > 0) {
      // Metric alarms are read by their ARNs; a composite alarm can only be read with `*`.
      const composite = props.alarms.some((a) => a instanceof cloudwatch.CompositeAlarm);
      const alarmArns = composite ? ['*'] : props.alarms.map((a) => a.alarmArn);
      for (const f of [start, check]) {
        grant(f, ['cloudwatch:DescribeAlarms'], alarmArns);
        if (composite)
          Validations.of(f.role ?? f).acknowledge({
            id: 'AwsSolutions-IAM5[Resource::*]',
            reason:
              'CloudWatch returns composite alarms only to a DescribeAlarms permission on *; the release reads the states of the alarms it watches.',
          });
      }
    }
    grant(check, ['cloudwatch:GetMetricData'], ['*']);
    Validations.of(check.role ?? check).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        "cloudwatch:GetMetricData has no resource-level permissions; CheckReleaseHealth reads only the release's per-version Lambda and MLOps metrics with it.",
    });

    this.stateMachine = new AslStateMachine(this, 'StateMachine', {
      aslFile: RELEASE_ASL_FILE,
      comment:
        'Model release: canary on the live alias with bakes, alarm checks, rollback, promotion and hand back; or a shadow',
      substitutions: {
        StartReleaseFunctionArn: start.functionArn,
        PublishReleaseVersionFunctionArn: publish.functionArn,
        ShiftTrafficFunctionArn: shift.functionArn,
        CheckReleaseHealthFunctionArn: check.functionArn,
        RollbackReleaseFunctionArn: rollback.functionArn,
        FinishReleaseFunctionArn: finish.functionArn,
        DecideChallengerFunctionArn: decide.functionArn,
        StartShadowFunctionArn: props.shadow.startShadowFunction.functionArn,
        FinishShadowFunctionArn: props.shadow.finishShadowFunction.functionArn,
        NotificationsTopicArn: props.notificationsTopic.topicArn,
      },
      invokes: [
        ...Object.values(this.functions),
        props.shadow.startShadowFunction,
        props.shadow.finishShadowFunction,
      ],
      // Ten steps of at most 6-hour bakes, with the publication and the checks around them.
      timeout: Duration.days(3),
    }).stateMachine;
    props.notificationsTopic.grantPublish(this.stateMachine);
  }
}

/**
 * The alarm's name as CloudWatch knows it: the literal AlarmName when the stack sets one (so the
 * local runtime, which resolves an alarm's Ref by logical id, sees the real name), else its token.
 */
function alarmNameOf(alarm: cloudwatch.IAlarm): string {
  const cfn = alarm.node.defaultChild;
  if (
    cfn instanceof cloudwatch.CfnAlarm &&
    typeof cfn.alarmName === 'string' &&
    !Token.isUnresolved(cfn.alarmName)
  )
    return cfn.alarmName;
  return alarm.alarmName;
}

/** The deployment's policy, checked now (a bad value fails synth, naming it). */
function deploymentPolicy(props: ReleasePipelineProps): ReleasePolicy {
  const settle = props.captureSettle?.toSeconds({ integral: false });
  const level = (d: ReleaseDefaults | undefined, deployment: boolean): ReleaseSettingsOverrides => ({
    ...(d?.strategy ? { strategy: d.strategy } : {}),
    ...(d?.plans
      ? { plans: Object.fromEntries(Object.entries(d.plans).map(([k, v]) => [k, [...(v ?? [])]])) }
      : {}),
    ...(d?.bake ? { bakeSeconds: d.bake.toSeconds() } : {}),
    ...(d?.checkInterval ? { checkIntervalSeconds: d.checkInterval.toSeconds() } : {}),
    ...(d?.decision || (deployment && settle !== undefined)
      ? { decision: decisionLevel(d?.decision, deployment ? settle : undefined) }
      : {}),
  });
  const raw = {
    defaults: level(props.defaults, true),
    models: Object.fromEntries(Object.entries(props.models ?? {}).map(([m, d]) => [m, level(d, false)])),
    thresholds: { ...props.thresholds },
  };
  const parsed = ReleasePolicy.safeParse(raw);
  if (!parsed.success)
    throw new Error(
      `ReleasePipeline: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

/** One level's decision settings in the policy's units (seconds), unset fields left out. */
function decisionLevel(
  d: DecisionDefaults | undefined,
  settleSeconds: number | undefined,
): DecisionPolicyOverrides {
  const { window, ...rest } = d ?? {};
  return Object.fromEntries(
    Object.entries({
      ...rest,
      windowSeconds: window?.toSeconds({ integral: false }),
      settleSeconds,
    }).filter(([, v]) => v !== undefined),
  );
}
