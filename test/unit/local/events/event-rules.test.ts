// Reading a stack's EventBridge rules and EventBridge-enabled buckets from a template shaped as
// CDK synthesizes them (Bucket eventBridgeEnabled, Rule with a state machine and a Lambda target).
import { describe, expect, it } from 'vitest';
import { readEventRules } from '../../../../local/events/event-rules.ts';
import { eventBridgeBuckets } from '../../../../local/events/s3-event-source.ts';
import { classifyResources } from '../../../../local/resource-support.ts';
import { stackResolution } from '../../../../local/stack-resolution.ts';
import { stateMachineArn } from '../../../../local/stepfunctions/arns.ts';
import type { CfnTemplate } from '../../../../local/template/cfn-template.ts';
import type { AssemblyStack } from '../../../../local/template/cloud-assembly.ts';
import { resolveValue } from '../../../../local/template/intrinsics.ts';

/** A stack as CDK 2 synthesizes `eventBridgeEnabled: true` and an S3-pattern rule. */
function template(): CfnTemplate {
  return {
    Resources: {
      Data: { Type: 'AWS::S3::Bucket' },
      Quiet: { Type: 'AWS::S3::Bucket' },
      Direct: {
        Type: 'AWS::S3::Bucket',
        Properties: { NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } } },
      },
      DataNotifications: {
        Type: 'Custom::S3BucketNotifications',
        Properties: {
          ServiceToken: { 'Fn::GetAtt': ['NotificationsHandler', 'Arn'] },
          BucketName: { Ref: 'Data' },
          NotificationConfiguration: { EventBridgeConfiguration: {} },
          Managed: true,
        },
      },
      NotificationsHandler: {
        Type: 'AWS::Lambda::Function',
        Properties: { Runtime: 'python3.13', Handler: 'index.handler', Code: { ZipFile: '…' } },
      },
      Scoring: {
        Type: 'AWS::StepFunctions::StateMachine',
        Properties: { StateMachineName: 'S-BatchScoring', DefinitionString: '{}' },
      },
      Notify: {
        Type: 'AWS::Lambda::Function',
        Properties: { Runtime: 'nodejs22.x', Handler: 'index.handler' },
      },
      EventsRole: { Type: 'AWS::IAM::Role' },
      InputDropped: {
        Type: 'AWS::Events::Rule',
        Properties: {
          EventPattern: {
            source: ['aws.s3'],
            'detail-type': ['Object Created'],
            detail: { bucket: { name: [{ Ref: 'Data' }] }, object: { key: [{ prefix: 'incoming/' }] } },
          },
          State: 'ENABLED',
          Targets: [
            { Arn: { Ref: 'Scoring' }, Id: 'Target0', RoleArn: { 'Fn::GetAtt': ['EventsRole', 'Arn'] } },
            {
              Arn: { 'Fn::GetAtt': ['Notify', 'Arn'] },
              Id: 'Target1',
              InputTransformer: {
                InputPathsMap: { 'detail-object-key': '$.detail.object.key' },
                InputTemplate: '{"key":<detail-object-key>}',
              },
            },
          ],
        },
      },
      Nightly: {
        Type: 'AWS::Events::Rule',
        Properties: { ScheduleExpression: 'cron(0 2 * * ? *)', State: 'ENABLED', Targets: [] },
      },
      Regex: {
        Type: 'AWS::Events::Rule',
        Properties: { EventPattern: { source: [{ regex: '^aws' }] }, Targets: [] },
      },
    },
  };
}

function stack(t: CfnTemplate = template()): AssemblyStack {
  return {
    stackName: 'S',
    artifactId: 'S',
    displayName: 'S',
    templateFile: 'S.template.json',
    template: t,
    assets: new Map(),
    dockerImages: [],
    environment: {},
  };
}

describe('readEventRules', () => {
  it('resolves the pattern and the targets of an S3-pattern rule', () => {
    const s = stack();
    const resolution = stackResolution(s, 'http://127.0.0.1:9');

    const { rules, notEmulated, warnings } = readEventRules(s, resolution);

    // Nightly, the schedule rule, is read too (scheduler.test.ts).
    expect(rules.filter((r) => r.pattern)).toEqual([
      {
        logicalId: 'InputDropped',
        name: 'S-InputDropped',
        arn: 'arn:aws:events:us-east-1:000000000000:rule/S-InputDropped',
        eventBusName: 'default',
        enabled: true,
        pattern: {
          source: ['aws.s3'],
          'detail-type': ['Object Created'],
          detail: { bucket: { name: ['s-data'] }, object: { key: [{ prefix: 'incoming/' }] } },
        },
        targets: [
          {
            id: 'Target0',
            arn: stateMachineArn('S-BatchScoring'),
            roleArn: 'arn:aws:local:us-east-1:000000000000:AWS::IAM::Role/S-EventsRole',
          },
          {
            id: 'Target1',
            arn: 'arn:aws:lambda:us-east-1:000000000000:function:S-Notify',
            inputTransformer: {
              inputPathsMap: { 'detail-object-key': '$.detail.object.key' },
              inputTemplate: '{"key":<detail-object-key>}',
            },
          },
        ],
      },
    ]);
    expect(notEmulated).toEqual([
      { logicalId: 'Regex', reason: 'event pattern: source: unknown operator "regex"' },
    ]);
    expect(warnings).toEqual([]);
  });

  it('answers Ref with the rule name and Arn with its ARN', () => {
    const s = stack();
    const { ctx } = stackResolution(s, 'http://127.0.0.1:9');

    expect(resolveValue({ Ref: 'InputDropped' }, ctx)).toBe('S-InputDropped');
    expect(resolveValue({ 'Fn::GetAtt': ['InputDropped', 'Arn'] }, ctx)).toBe(
      'arn:aws:events:us-east-1:000000000000:rule/S-InputDropped',
    );
  });

  it('reads a pattern given as JSON text, and a target it cannot deliver to', () => {
    const t = template();
    const s = stack({
      Resources: {
        Text: {
          Type: 'AWS::Events::Rule',
          Properties: {
            EventPattern: '{"source":["my.app"]}',
            Targets: [{ Arn: 'arn:aws:sqs:us-east-1:000000000000:queue', Id: 'Q' }],
          },
        },
        Scoring: t.Resources.Scoring as never,
      },
    });

    const { rules, warnings } = readEventRules(s, stackResolution(s, 'http://127.0.0.1:9'));

    expect(rules[0]?.pattern).toEqual({ source: ['my.app'] });
    expect(warnings).toEqual([
      'Text: target Q (arn:aws:sqs:us-east-1:000000000000:queue) is not emulated locally: only state machines and Lambda functions get events',
    ]);
  });
});

describe('the start-up report', () => {
  it('emulates pattern and schedule rules and CDK bucket notifications', () => {
    const report = classifyResources('S', template().Resources);

    expect(report.emulated).toEqual(
      expect.arrayContaining(['InputDropped', 'Regex', 'Nightly', 'DataNotifications']),
    );
    expect(report.notEmulated).toEqual([]);
    expect(report.noLocalMeaning).toContain(
      'NotificationsHandler (custom resource provider, replaced by a built-in emulation)',
    );
  });
});

describe('eventBridgeBuckets', () => {
  it("finds the buckets CDK's notifications resource and the bucket's own property turn on", () => {
    const s = stack();

    const { buckets, warnings } = eventBridgeBuckets(s, stackResolution(s, 'http://127.0.0.1:9'));

    expect(buckets.sort()).toEqual(['s-data', 's-direct']);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/only "Object Created" events/);
  });

  it('reports the other notification kinds of a notifications resource', () => {
    const t = template();
    const notifications = t.Resources.DataNotifications as { Properties: Record<string, unknown> };
    const s = stack({
      Resources: {
        ...t.Resources,
        DataNotifications: {
          Type: 'Custom::S3BucketNotifications',
          Properties: {
            ...notifications.Properties,
            NotificationConfiguration: { EventBridgeConfiguration: {}, QueueConfigurations: [{}] },
          },
        },
      },
    });

    const { warnings } = eventBridgeBuckets(s, stackResolution(s, 'http://127.0.0.1:9'));

    expect(warnings).toContain(
      "DataNotifications: QueueConfigurations are not emulated locally: only EventBridge gets the bucket's events",
    );
  });
});
