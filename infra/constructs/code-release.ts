// Code releases: a `cdk deploy` that changes the predict function shifts its `live` alias to the
// new version through CodeDeploy, as a canary judged by the served path's alarms, and rolls
// back by itself. Model releases shift the same alias at run time; who owns it when is below.
import { createHash } from 'node:crypto';
import { Lazy, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { CODE_DEPLOY_ENV } from '../../functions/lib/releases/code-deploy-guard.ts';

/**
 * Keys of ServiceMonitoring's alarms that judge the served path: the predict function's errors,
 * the API's 5xx rate and its p99 latency. A code release in ALARM on any of them rolls back.
 */
export const SERVED_PATH_ALARMS = ['PredictErrors', 'ApiServerErrorRate', 'ApiLatencyP99'] as const;

/** Pick alarms by key from a record such as `ServiceMonitoring.alarms`; fails naming a missing key. */
export function pickAlarms(
  alarms: Readonly<Record<string, cloudwatch.IAlarm>>,
  keys: readonly string[] = SERVED_PATH_ALARMS,
): cloudwatch.IAlarm[] {
  return keys.map((key) => {
    const alarm = alarms[key];
    if (!alarm) {
      throw new Error(`no alarm "${key}" to judge code releases (known: ${Object.keys(alarms).join(', ')})`);
    }
    return alarm;
  });
}

/**
 * Function properties that do not make a new version (CDK's classification in `currentVersion`),
 * plus the environment, which holds the stamp itself.
 */
const NOT_VERSIONED = new Set([
  'environment',
  'codeSigningConfigArn',
  'reservedConcurrentExecutions',
  'tags',
  'tenancyConfig',
]);

/** Environment variable holding the revision of a function's code and configuration as deployed. */
export const DEPLOY_REVISION_ENV = 'DEPLOY_REVISION';

/**
 * Make every change of `fn` in the template (code, layers, memory, any property) also change its
 * environment, so CloudFormation writes the template's whole environment to `$LATEST` before it
 * publishes a new version.
 *
 * Why: a model release publishes its pinned version from `$LATEST` after setting
 * `MODEL_VERSION_PINS` there, and CloudFormation does not rewrite an environment it did not
 * change in the template. Without this stamp, the next version a deploy publishes would carry
 * whatever pins the last model release left on `$LATEST` — a rolled-back challenger's included.
 */
export function stampDeployRevision(fn: lambda.Function): void {
  const cfn = fn.node.defaultChild as lambda.CfnFunction;
  const stack = Stack.of(fn);
  fn.addEnvironment(
    DEPLOY_REVISION_ENV,
    Token.asString(
      Lazy.any({
        produce: () => {
          // Every property that makes a new version (CDK's `currentVersion` hashes the same ones);
          // `cfnProperties` is how an L1 renders itself, so none can be forgotten here.
          const properties = (cfn as unknown as { cfnProperties: Record<string, unknown> }).cfnProperties;
          const rest = Object.fromEntries(
            Object.entries(properties).filter(([key]) => !NOT_VERSIONED.has(key)),
          );
          const revision = createHash('sha256')
            .update(JSON.stringify(stack.resolve(rest)))
            .digest('hex')
            .slice(0, 16);
          // Layer ARNs are known at deploy time only: CloudFormation joins them in, so a new
          // layer version is a new revision too.
          const layers = (stack.resolve(cfn.layers) as unknown[] | undefined) ?? [];
          return layers.length > 0 ? { 'Fn::Join': [' ', [revision, ...layers]] } : revision;
        },
      }),
    ),
  );
}

export interface CodeReleaseProps {
  /**
   * The alias CodeDeploy shifts. Its version must be the function's `currentVersion` (so a code
   * change is a new version) and it must have no additional versions: CodeDeploy starts from an
   * alias at rest.
   */
  readonly alias: lambda.Alias;
  /** Alarms that stop a deployment and roll it back while any is in ALARM; at least one. */
  readonly alarms: readonly cloudwatch.IAlarm[];
  /**
   * How traffic moves to the new version: canary, linear or all at once.
   * @default codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_5MINUTES
   */
  readonly deploymentConfig?: codedeploy.ILambdaDeploymentConfig;
}

/**
 * A CodeDeploy application and deployment group for the predict function's `live` alias; the
 * alias gets CloudFormation's `CodeDeployLambdaAliasUpdate` update policy, so a changed version
 * is released through the deployment group instead of being pointed at directly.
 *
 * **Who owns the `live` alias when.**
 * - *At rest* (all traffic on one version, no additional version): nobody. CloudFormation
 *   recorded a version for the alias at the last deploy; the alias must be back on that version
 *   whenever no release runs, because CodeDeploy refuses a deployment whose alias is not on the
 *   version its AppSpec calls current (`INVALID_LAMBDA_CONFIGURATION`: "The Lambda function
 *   alias version does not match the current version in AppSpec file").
 * - *During a `cdk deploy` that changes the function*: CodeDeploy, from the moment the deployment
 *   is created until it succeeds or rolls back (statuses Created, Queued, InProgress, Ready,
 *   Baking). A model release refuses to start then, and re-checks before each alias write
 *   (`assertNoCodeDeployment`, functions/lib/releases/code-deploy-guard.ts); if a deployment
 *   appears mid-release, the release stops without touching the alias or the registry.
 * - *During a model release*: the release (one at a time, by its lock). It starts only from an
 *   alias at rest (`assertModelReleaseMayStart`), and hands it back at rest on the version it
 *   started from: CloudFormation's versions carry no model pins, so they serve the registry's
 *   Production version — the new model after a promotion, the old one after a rollback. The
 *   pinned version is only the challenger's vehicle during the bake. The hand back (FinishRelease)
 *   waits out the predict function's registry cache after the promotion, then warms that version
 *   and flips only once every answer names the new model version; otherwise the alias stays on
 *   the pinned version and the release ends `AliasNotHandedBack`, telling a person to move it back
 *   before the next `cdk deploy`. `mlops rollback` of a finished release then only re-promotes the
 *   previous model version: the alias, at rest, follows it.
 * - The `shadow` alias is CloudFormation's too, but not CodeDeploy's: a shadow release points it
 *   at its challenger (StartShadow checks the guard first) and a deploy simply re-points it.
 *
 * The release steps that write an alias — StartRelease, ShiftTraffic, FinishRelease,
 * RollbackRelease, StartShadow — are bound to the deployment group (`bindTo`, in MlopsStack).
 *
 * Because code versions never pin models (`stampDeployRevision`), what a code release ships
 * serves exactly the models the registry says are in Production, whichever order the two
 * kinds of release ran in.
 */
export class CodeRelease extends Construct {
  readonly application: codedeploy.LambdaApplication;
  readonly deploymentGroup: codedeploy.LambdaDeploymentGroup;

  constructor(scope: Construct, id: string, props: CodeReleaseProps) {
    super(scope, id);
    if (props.alarms.length === 0) {
      throw new Error(
        'CodeRelease needs at least one alarm: without one a bad code version is only rolled back if it fails to deploy',
      );
    }
    const cfnAlias = props.alias.node.defaultChild as lambda.CfnAlias;
    if (cfnAlias.routingConfig !== undefined) {
      throw new Error(
        `alias "${props.alias.aliasName}" routes to additional versions; CodeDeploy manages its weights and must start ` +
          'from an alias at rest: remove the additional versions (the stack prop liveRouting) or turn code releases off',
      );
    }

    this.application = new codedeploy.LambdaApplication(this, 'Application');
    this.deploymentGroup = new codedeploy.LambdaDeploymentGroup(this, 'DeploymentGroup', {
      application: this.application,
      alias: props.alias,
      deploymentConfig: props.deploymentConfig ?? codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_5MINUTES,
      alarms: [...props.alarms],
      autoRollback: {
        failedDeployment: true,
        deploymentInAlarm: true,
        // A stopped deployment would otherwise leave the alias split between two versions.
        stoppedDeployment: true,
      },
    });
    Validations.of(this.deploymentGroup).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]',
      reason:
        "CodeDeploy's service role for Lambda deployments; this AWS managed policy is the documented minimum (update the alias, read the alarms).",
    });
  }

  /**
   * Let `fn` ask whether a code release is under way: the deployment group's names in its
   * environment (`CODE_DEPLOY_APPLICATION`, `CODE_DEPLOY_DEPLOYMENT_GROUP`) and
   * `codedeploy:ListDeployments` on the deployment group.
   */
  bindTo(fn: lambda.Function): iam.Grant {
    fn.addEnvironment(CODE_DEPLOY_ENV.application, this.application.applicationName);
    fn.addEnvironment(CODE_DEPLOY_ENV.deploymentGroup, this.deploymentGroup.deploymentGroupName);
    return this.grantReadDeployments(fn);
  }

  /** `codedeploy:ListDeployments` on this deployment group. */
  grantReadDeployments(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['codedeploy:ListDeployments'],
      resourceArns: [this.deploymentGroup.deploymentGroupArn],
    });
  }
}
