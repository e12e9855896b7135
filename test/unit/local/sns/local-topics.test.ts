// Local SNS topics: a message published (directly or by a state machine's sns:publish task)
// is one line in <dataDir>/sns/<topic>.jsonl.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  LocalTopics,
  readTopics,
  SNS_PUBLISH_RESOURCE,
  topicArn,
} from '../../../../local/sns/local-topics.ts';
import { stackResolution } from '../../../../local/stack-resolution.ts';
import { stateMachineArn } from '../../../../local/stepfunctions/arns.ts';
import { LocalStepFunctions } from '../../../../local/stepfunctions/local-step-functions.ts';
import type { AssemblyStack } from '../../../../local/template/cloud-assembly.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'mlops-sns-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const lines: string[] = [];
const topics = new LocalTopics({ dataDir, log: (line) => lines.push(line) });
const alerts = topics.addTopic('alerts');
const messages = (name: string) =>
  readFileSync(join(dataDir, 'sns', `${name}.jsonl`), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));

describe('LocalTopics', () => {
  it('appends each published message to the topic file and logs its subject', () => {
    const { MessageId } = topics.publish({
      TopicArn: alerts,
      Subject: 'Drift',
      Message: 'PSI 0.31 on distance',
    });
    expect(alerts).toBe(topicArn('alerts'));
    expect(messages('alerts').at(-1)).toEqual({
      MessageId,
      TopicArn: alerts,
      Subject: 'Drift',
      Message: 'PSI 0.31 on distance',
      Timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(lines.at(-1)).toBe('[sns] alerts: Drift');
  });

  it('fails for a topic that does not exist', () => {
    expect(() => topics.publish({ TopicArn: topicArn('nope'), Message: 'x' })).toThrow(/does not exist/);
  });
});

describe('the sns:publish task', () => {
  it('publishes from a state machine, with a JSON message as its text', async () => {
    const sfn = new LocalStepFunctions({
      invokeLambda: async () => ({}),
      log: () => undefined,
      dataDir,
      integrations: { [SNS_PUBLISH_RESOURCE]: topics.publishTask },
    });
    sfn.addStateMachine({
      logicalId: 'Notify',
      name: 'Notify',
      arn: stateMachineArn('Notify'),
      type: 'STANDARD',
      definition: JSON.stringify({
        StartAt: 'Page',
        States: {
          Page: {
            Type: 'Task',
            Resource: SNS_PUBLISH_RESOURCE,
            Parameters: { TopicArn: alerts, 'Message.$': '$.detail' },
            Next: 'Unknown',
          },
          Unknown: {
            Type: 'Task',
            Resource: SNS_PUBLISH_RESOURCE,
            Parameters: { TopicArn: topicArn('nope'), Message: 'x' },
            End: true,
          },
        },
      }),
    });
    const { executionArn } = sfn.startExecution({
      stateMachineArn: stateMachineArn('Notify'),
      input: '{"detail":{"model":"flight-delay","psi":0.31}}',
    });
    const done = await sfn.waitForExecution(executionArn, 5000);
    expect(messages('alerts').at(-1)).toMatchObject({ Message: '{"model":"flight-delay","psi":0.31}' });
    expect(lines.at(-1)).toBe('[sns] alerts: {"model":"flight-delay","psi":0.31}');
    expect(done).toMatchObject({ status: 'FAILED', error: 'SNS.NotFoundException' });
  });
});

describe('readTopics', () => {
  it('says where the messages of a subscription go instead', () => {
    const stack = {
      stackName: 'Mlops',
      artifactId: 'Mlops',
      displayName: 'Mlops',
      templateFile: '/dev/null',
      template: {
        Resources: {
          Alerts: { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'alerts' } },
          OnCall: {
            Type: 'AWS::SNS::Subscription',
            Properties: { Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: { Ref: 'Alerts' } },
          },
        },
      },
      assets: new Map(),
      dockerImages: [],
      environment: {},
    } satisfies AssemblyStack;
    const read = readTopics(stack, stackResolution(stack, 'http://127.0.0.1:1'), '/data');
    expect(read.topics).toEqual([{ logicalId: 'Alerts', name: 'alerts' }]);
    expect(read.warnings).toEqual([
      'OnCall: the email subscription to alerts gets nothing locally; messages published to alerts are appended to /data/sns/alerts.jsonl',
    ]);
  });
});
