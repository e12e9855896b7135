// Shadow releases: the predict function's `shadow` alias (the challenger answers copies of live
// requests there, asynchronously, and only logs its answers into the capture), the predict
// function's right to invoke exactly that alias, and the two release steps that start a shadow
// (point the alias at a version pinned to the challenger, write the shadow item) and finish it
// (stop copying, compare the window's captures, write the report). The release state machine
// calls the two steps for strategy `shadow`.
import { fileURLToPath } from 'node:url';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import {
  DEFAULT_SHADOW_WINDOW_SECONDS,
  MAX_SHADOW_SECONDS,
} from '../../functions/lib/releases/release-plan.ts';
import { SHADOW_ALIAS_NAME } from '../../functions/lib/releases/shadow-config.ts';
import { CAPTURE_PREFIX } from '../../functions/lib/storage/s3-layout.ts';
import type { ArtifactStore } from './artifact-store.ts';
import { DATA_BUCKET_ENV, type DataStore } from './data-store.ts';
import { MlFunction } from './ml-function.ts';
import type { ModelRegistry } from './model-registry.ts';

const fromRoot = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** Environment variables of the predict function and the shadow steps (read by their handlers). */
export const SHADOW_ENV = {
  /** On the predict function: the alias copies go to. */
  alias: 'SHADOW_ALIAS',
  /** On the predict function: longest an answer waits for its copy to be handed over. */
  sendBudgetMs: 'SHADOW_SEND_BUDGET_MS',
  predictFunction: 'PREDICT_FUNCTION_NAME',
  liveAlias: 'LIVE_ALIAS',
  captureSettleSeconds: 'CAPTURE_SETTLE_SECONDS',
  /** On StartShadow: a shadow release's window when its request names no bake. */
  windowSeconds: 'SHADOW_WINDOW_SECONDS',
  artifactsBucket: 'ARTIFACTS_BUCKET',
} as const;

/** What StartShadow does to the predict function: read both aliases and versions, publish, move `shadow`. */
export const START_SHADOW_LAMBDA_ACTIONS = {
  readAliases: ['lambda:GetAlias'],
  moveShadowAlias: ['lambda:UpdateAlias'],
  readVersions: ['lambda:GetFunctionConfiguration'],
  publish: ['lambda:UpdateFunctionConfiguration', 'lambda:PublishVersion'],
  warmUp: ['lambda:InvokeFunction'],
} as const;

export interface ShadowReleaseProps {
  /** The predict function: its `shadow` alias is created here, and it is granted to invoke it. */
  readonly predictFunction: lambda.Function;
  /** The alias that serves clients; a shadow version copies its version's configuration. @default 'live' */
  readonly liveAliasName?: string;
  /** The shadow item lives in the registry table; StartShadow reads the challenger's stage there. */
  readonly registry: ModelRegistry;
  /** Capture records are read from it (`capture/`). */
  readonly data: DataStore;
  /** Comparison reports are written to it (`releases/`). */
  readonly artifacts: ArtifactStore;
  /**
   * Longest a live answer waits for its copy to be handed to Lambda. Zero never waits (a copy in
   * flight when the environment freezes is sent when it thaws, or lost and counted as
   * champion-only in the report); a few tens of ms make copies reliable at that cost in latency.
   * @default Duration.millis(0)
   */
  readonly sendBudget?: Duration;
  /**
   * How long after a shadow window its last capture records may still be arriving (the capture
   * stream's buffering plus the log subscription): the report waits this long after the window.
   * @default Duration.minutes(2)
   */
  readonly captureSettle?: Duration;
  /**
   * How long a shadow release copies live requests when its request names no bake
   * (`mlops release <model> <version> --strategy shadow` without `--bake`). At most 7 days.
   * @default Duration.hours(1)
   */
  readonly defaultWindow?: Duration;
}

export class ShadowRelease extends Construct {
  /** The predict function's `shadow` alias (starts at its current version; StartShadow moves it). */
  readonly alias: lambda.Alias;
  /** Release step StartShadow (functions/start-shadow). */
  readonly startShadowFunction: MlFunction;
  /** Release step FinishShadow (functions/finish-shadow). */
  readonly finishShadowFunction: MlFunction;

  constructor(scope: Construct, id: string, props: ShadowReleaseProps) {
    super(scope, id);
    const budgetMs = (props.sendBudget ?? Duration.millis(0)).toMilliseconds();
    if (!(Number.isInteger(budgetMs) && budgetMs >= 0 && budgetMs <= 1_000))
      throw new Error(`sendBudget must be whole milliseconds between 0 and 1000, got ${budgetMs} ms`);
    const settleSeconds = (props.captureSettle ?? Duration.minutes(2)).toSeconds({ integral: false });
    if (!(Number.isInteger(settleSeconds) && settleSeconds >= 0 && settleSeconds <= 3_600))
      throw new Error(`captureSettle must be whole seconds up to an hour, got ${settleSeconds} s`);
    const windowSeconds = (props.defaultWindow ?? Duration.seconds(DEFAULT_SHADOW_WINDOW_SECONDS)).toSeconds({
      integral: false,
    });
    if (!(Number.isInteger(windowSeconds) && windowSeconds >= 1 && windowSeconds <= MAX_SHADOW_SECONDS))
      throw new Error(`defaultWindow must be whole seconds from 1 s to 7 days, got ${windowSeconds} s`);
    const predict = props.predictFunction;
    const liveAliasName = props.liveAliasName ?? 'live';

    this.alias = new lambda.Alias(this, 'Alias', {
      aliasName: SHADOW_ALIAS_NAME,
      version: predict.currentVersion,
      description: 'Shadow challenger: scores asynchronous copies of live requests, answers nobody',
    });
    // A copy is compared once or not at all: a retry would score it twice, and an old copy waiting
    // in the queue only delays the report.
    this.alias.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.hours(1) });

    // The alias name, not its ARN: the function cannot reference its own alias (alias → version →
    // function would be a cycle). The handler invokes `AWS_LAMBDA_FUNCTION_NAME:SHADOW_ALIAS`.
    predict.addEnvironment(SHADOW_ENV.alias, SHADOW_ALIAS_NAME);
    predict.addEnvironment(SHADOW_ENV.sendBudgetMs, String(budgetMs));
    // A policy of its own, not the role's default one: the function waits for its default policy,
    // and the default policy naming the alias would close the cycle above.
    const role = predict.role;
    if (!role)
      throw new Error('the predict function has no execution role to grant the shadow invocation to');
    new iam.Policy(this, 'InvokeShadowAlias', {
      roles: [role as iam.IRole],
      statements: [
        new iam.PolicyStatement({
          sid: 'SendShadowCopies',
          actions: ['lambda:InvokeFunction'],
          resources: [this.alias.functionArn],
        }),
      ],
    });

    const functionArn = predict.functionArn;
    const versionsArn = `${functionArn}:*`;
    const liveAliasArn = `${functionArn}:${liveAliasName}`;

    this.startShadowFunction = new MlFunction(this, 'StartShadow', {
      entry: fromRoot('functions/start-shadow/handler.ts'),
      description: 'Release step StartShadow: point the shadow alias at the challenger, start copying',
      timeout: Duration.minutes(5),
      environment: {
        [SHADOW_ENV.predictFunction]: predict.functionName,
        [SHADOW_ENV.liveAlias]: liveAliasName,
        [SHADOW_ENV.alias]: SHADOW_ALIAS_NAME,
        [SHADOW_ENV.captureSettleSeconds]: String(settleSeconds),
        [SHADOW_ENV.windowSeconds]: String(windowSeconds),
      },
    });
    const start = this.startShadowFunction;
    props.registry.bindTo(start, 'readWrite');
    const grant = (actions: readonly string[], resources: string[]) =>
      iam.Grant.addToPrincipal({ grantee: start, actions: [...actions], resourceArns: resources });
    grant(START_SHADOW_LAMBDA_ACTIONS.readAliases, [liveAliasArn, this.alias.functionArn]);
    grant(START_SHADOW_LAMBDA_ACTIONS.moveShadowAlias, [this.alias.functionArn]);
    grant(START_SHADOW_LAMBDA_ACTIONS.readVersions, [functionArn, versionsArn]);
    grant(START_SHADOW_LAMBDA_ACTIONS.publish, [functionArn]);
    grant(START_SHADOW_LAMBDA_ACTIONS.warmUp, [versionsArn]);
    Validations.of(start.role ?? start).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).resolve((predict.node.defaultChild as lambda.CfnFunction).logicalId)}.Arn>:*]`,
      reason:
        "Versions of the predict function are published at run time: StartShadow reads a version's configuration and warms the version it published, whose number is not known at deploy time.",
    });

    this.finishShadowFunction = new MlFunction(this, 'FinishShadow', {
      entry: fromRoot('functions/finish-shadow/handler.ts'),
      description: "Release step FinishShadow: stop copying, compare the window's captures, write the report",
      // A long shadow's window is read whole; its rows are held in memory.
      memorySize: 3008,
      timeout: Duration.minutes(10),
      environment: {
        [SHADOW_ENV.predictFunction]: predict.functionName,
        [SHADOW_ENV.alias]: SHADOW_ALIAS_NAME,
        [DATA_BUCKET_ENV]: props.data.bucket.bucketName,
        [SHADOW_ENV.artifactsBucket]: props.artifacts.bucket.bucketName,
      },
    });
    const finish = this.finishShadowFunction;
    props.registry.bindTo(finish, 'readWrite');
    props.data.grantPrefix(finish, CAPTURE_PREFIX, ['s3:GetObject']);
    props.data.grantListPrefix(finish, CAPTURE_PREFIX);
    props.artifacts.grantWriteReleaseReports(finish);
    iam.Grant.addToPrincipal({
      grantee: finish,
      actions: ['cloudwatch:GetMetricData'],
      resourceArns: ['*'],
    });
    Validations.of(finish.role ?? finish).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        "cloudwatch:GetMetricData has no resource-level permissions; FinishShadow reads only the challenger's error counts with it.",
    });
  }
}
