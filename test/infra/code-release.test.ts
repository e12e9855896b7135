// Code releases: the deployment group CodeDeploy shifts the `live` alias with, its canary config,
// the alarms that roll it back, the alias's update policy, and the stamp that keeps a model
// release's pins out of the versions a deploy publishes.
import { App, Duration, Stack, Tags } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { CODE_DEPLOY_ENV } from '../../functions/lib/releases/code-deploy-guard.ts';
import {
  CodeRelease,
  DEPLOY_REVISION_ENV,
  pickAlarms,
  stampDeployRevision,
} from '../../infra/constructs/code-release.ts';
import { synthStack } from './synth-stack.ts';
import { idIn } from './template-queries.ts';

const { template } = synthStack();

const idOf = (type: string, props: Record<string, unknown> = {}) => idIn(template, type, props);
const alarmRef = (name: string) => ({ Ref: idOf('AWS::CloudWatch::Alarm', { AlarmName: name }) });

describe('deployment group', () => {
  it('shifts traffic on the Lambda platform with the 10% / 5 minutes canary by default', () => {
    const applicationId = idOf('AWS::CodeDeploy::Application', { ComputePlatform: 'Lambda' });
    template.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
      ApplicationName: { Ref: applicationId },
      DeploymentConfigName: 'CodeDeployDefault.LambdaCanary10Percent5Minutes',
      DeploymentStyle: { DeploymentType: 'BLUE_GREEN', DeploymentOption: 'WITH_TRAFFIC_CONTROL' },
    });
  });

  it('is stopped and rolled back by the served path’s three alarms, and only those', () => {
    template.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
      AlarmConfiguration: {
        Enabled: true,
        Alarms: [
          { Name: alarmRef('TestStack-PredictErrors') },
          { Name: alarmRef('TestStack-ApiServerErrorRate') },
          { Name: alarmRef('TestStack-ApiLatencyP99') },
        ],
        IgnorePollAlarmFailure: Match.absent(),
      },
    });
  });

  it('rolls back a failed, alarmed or stopped deployment', () => {
    const group = template.findResources('AWS::CodeDeploy::DeploymentGroup');
    const rollback = Object.values(group)[0]?.Properties.AutoRollbackConfiguration;
    expect(rollback.Enabled).toBe(true);
    expect([...rollback.Events].sort()).toEqual([
      'DEPLOYMENT_FAILURE',
      'DEPLOYMENT_STOP_ON_ALARM',
      'DEPLOYMENT_STOP_ON_REQUEST',
    ]);
  });

  it('runs as a role CodeDeploy assumes, with the AWS policy for Lambda deployments', () => {
    const roleId = idOf('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'codedeploy.amazonaws.com' } })],
      }),
    });
    template.hasResourceProperties('AWS::IAM::Role', {
      ManagedPolicyArns: [
        {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited',
            ],
          ],
        },
      ],
    });
    template.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
      ServiceRoleArn: { 'Fn::GetAtt': [roleId, 'Arn'] },
    });
  });

  it.each([
    [
      'linear',
      codedeploy.LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_1MINUTE,
      'LambdaLinear10PercentEvery1Minute',
    ],
    ['all-at-once', codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE, 'LambdaAllAtOnce'],
    [
      'a longer canary',
      codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_30MINUTES,
      'LambdaCanary10Percent30Minutes',
    ],
  ])('uses the config the stack is given (%s)', (_, deploymentConfig, name) => {
    synthStack({ codeRelease: { deploymentConfig } }).template.hasResourceProperties(
      'AWS::CodeDeploy::DeploymentGroup',
      { DeploymentConfigName: `CodeDeployDefault.${name}` },
    );
  });
});

describe('live alias', () => {
  it('is updated through the deployment group, not pointed at the new version directly', () => {
    const applicationId = idOf('AWS::CodeDeploy::Application');
    const groupId = idOf('AWS::CodeDeploy::DeploymentGroup');
    template.hasResource('AWS::Lambda::Alias', {
      Properties: Match.objectLike({ Name: 'live', RoutingConfig: Match.absent() }),
      UpdatePolicy: {
        CodeDeployLambdaAliasUpdate: {
          ApplicationName: { Ref: applicationId },
          DeploymentGroupName: { Ref: groupId },
        },
      },
    });
  });

  it('points at the predict function’s current version', () => {
    const predictId = idOf('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Online predictions'),
    });
    const versionId = idOf('AWS::Lambda::Version', { FunctionName: { Ref: predictId } });
    template.hasResourceProperties('AWS::Lambda::Alias', {
      Name: 'live',
      FunctionVersion: { 'Fn::GetAtt': [versionId, 'Version'] },
    });
  });

  it('stamps the predict function’s environment with its deploy revision, layers included', () => {
    const predictId = idOf('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Online predictions'),
    });
    const predict = template.toJSON().Resources[predictId].Properties;
    expect(predict.Layers).toHaveLength(1);
    expect(predict.Environment.Variables[DEPLOY_REVISION_ENV]).toEqual({
      'Fn::Join': [' ', [expect.stringMatching(/^[0-9a-f]{16}$/), ...predict.Layers]],
    });
  });
});

describe('code releases off', () => {
  const off = synthStack({ codeRelease: { enabled: false } }).template;

  it('declares no CodeDeploy resources and leaves the alias to CloudFormation', () => {
    off.resourceCountIs('AWS::CodeDeploy::Application', 0);
    off.resourceCountIs('AWS::CodeDeploy::DeploymentGroup', 0);
    off.hasResource('AWS::Lambda::Alias', {
      Properties: Match.objectLike({ Name: 'live' }),
      UpdatePolicy: Match.absent(),
    });
  });

  it('still stamps the deploy revision: pins must not leak into versions either way', () => {
    off.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Online predictions'),
      Environment: { Variables: Match.objectLike({ [DEPLOY_REVISION_ENV]: Match.anyValue() }) },
    });
  });

  it('allows a canary declared in the stack (liveRouting)', () => {
    synthStack({
      codeRelease: { enabled: false },
      liveRouting: { version: '7', weight: 0.05 },
    }).template.hasResourceProperties('AWS::Lambda::Alias', {
      Name: 'live',
      RoutingConfig: { AdditionalVersionWeights: [Match.objectLike({ FunctionWeight: 0.05 })] },
    });
  });

  it('fails when liveRouting is set while code releases are on, naming the way out', () => {
    expect(() => synthStack({ liveRouting: { version: '7', weight: 0.05 } })).toThrow(
      /liveRouting \(version 7 at 0.05\) conflicts with code releases.*codeRelease: \{ enabled: false \}/,
    );
  });
});

/** A function, its `live` alias on the current version and one alarm, in a bare stack. */
interface BareOptions {
  readonly memorySize?: number;
  readonly code?: string;
  readonly routing?: boolean;
  readonly reservedConcurrency?: number;
  readonly tag?: string;
}

function bareStack(options: BareOptions = {}) {
  const app = new App();
  const stack = new Stack(app, 'Bare');
  const fn = new lambda.Function(stack, 'Fn', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline(options.code ?? 'exports.handler = async () => 1;'),
    memorySize: options.memorySize ?? 256,
    timeout: Duration.seconds(3),
    reservedConcurrentExecutions: options.reservedConcurrency,
  });
  if (options.tag) Tags.of(fn).add('team', options.tag);
  stampDeployRevision(fn);
  const alias = new lambda.Alias(stack, 'Live', {
    aliasName: 'live',
    version: fn.currentVersion,
    additionalVersions: options.routing
      ? [{ version: lambda.Version.fromVersionArn(stack, 'Old', `${fn.functionArn}:1`), weight: 0.1 }]
      : undefined,
  });
  const alarm = new cloudwatch.Alarm(stack, 'Errors', {
    metric: fn.metricErrors(),
    threshold: 1,
    evaluationPeriods: 1,
  });
  return { app, stack, fn, alias, alarm };
}

const revisionOf = (t: Template): unknown => {
  const fns = Object.values(t.findResources('AWS::Lambda::Function'));
  return fns[0]?.Properties.Environment.Variables[DEPLOY_REVISION_ENV];
};
const synthRevision = (options: Parameters<typeof bareStack>[0]) => {
  const { stack } = bareStack(options);
  return revisionOf(Template.fromStack(stack));
};

describe('deploy revision', () => {
  it('is the same for the same function', () => {
    expect(synthRevision({})).toEqual(synthRevision({}));
    expect(synthRevision({})).toMatch(/^[0-9a-f]{16}$/);
  });

  it('changes with the code', () => {
    expect(synthRevision({ code: 'exports.handler = async () => 2;' })).not.toEqual(synthRevision({}));
  });

  it('changes with the configuration, not only the code', () => {
    expect(synthRevision({ memorySize: 512 })).not.toEqual(synthRevision({}));
  });

  it('ignores what makes no new version (tags, reserved concurrency): no canary for those', () => {
    expect(synthRevision({ tag: 'ml-platform' })).toEqual(synthRevision({}));
    expect(synthRevision({ reservedConcurrency: 10 })).toEqual(synthRevision({}));
  });
});

describe('CodeRelease', () => {
  it('fails without an alarm to judge the release', () => {
    const { stack, alias } = bareStack();
    expect(() => new CodeRelease(stack, 'CodeRelease', { alias, alarms: [] })).toThrow(/at least one alarm/);
  });

  it('fails when the alias already routes to additional versions', () => {
    const { stack, alias, alarm } = bareStack({ routing: true });
    expect(() => new CodeRelease(stack, 'CodeRelease', { alias, alarms: [alarm] })).toThrow(
      /alias "live" routes to additional versions; CodeDeploy manages its weights/,
    );
  });

  it('names a missing alarm and the known ones', () => {
    const { alarm } = bareStack();
    expect(() => pickAlarms({ PredictErrors: alarm })).toThrow(
      /no alarm "ApiServerErrorRate" to judge code releases \(known: PredictErrors\)/,
    );
  });
});

describe('grants', () => {
  it('bindTo names the deployment group in the environment and grants ListDeployments on it', () => {
    const { stack, alias, alarm } = bareStack();
    const release = new CodeRelease(stack, 'CodeRelease', { alias, alarms: [alarm] });
    const reader = new lambda.Function(stack, 'Reader', {
      description: 'asks whether a code release is under way',
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => 1;'),
    });
    release.bindTo(reader);
    const t = Template.fromStack(stack);
    const applicationId = idIn(t, 'AWS::CodeDeploy::Application');
    const groupId = idIn(t, 'AWS::CodeDeploy::DeploymentGroup');
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'asks whether a code release is under way',
      Environment: {
        Variables: {
          [CODE_DEPLOY_ENV.application]: { Ref: applicationId },
          [CODE_DEPLOY_ENV.deploymentGroup]: { Ref: groupId },
        },
      },
    });
    const readerId = idIn(t, 'AWS::Lambda::Function', {
      Description: 'asks whether a code release is under way',
    });
    const readerRole = t.toJSON().Resources[readerId].Properties.Role['Fn::GetAtt'][0];
    const statements = Object.values(
      t.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: readerRole }] } }),
    ).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toEqual([
      {
        Action: 'codedeploy:ListDeployments',
        Effect: 'Allow',
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':codedeploy:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':deploymentgroup:',
              { Ref: applicationId },
              '/',
              { Ref: groupId },
            ],
          ],
        },
      },
    ]);
  });
});
