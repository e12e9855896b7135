// Batch scoring: its ASL file (valid against the spec, filled in exactly by the stack's
// substitutions, every Lambda task retried and every failure routed to the alarm) and what the
// stack synthesizes around it (the S3 → EventBridge rule, the state machine and its role, the
// step functions' grants, the failed-executions alarm).
import { readFileSync } from 'node:fs';
import aslValidator from 'asl-validator';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { BATCH_SCORING_ASL_FILE } from '../../infra/constructs/batch-scoring.ts';
import { synthStack } from './synth-stack.ts';

interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly Retry?: Array<{ ErrorEquals: string[]; BackoffRate?: number; JitterStrategy?: string }>;
  readonly Catch?: Array<{ ErrorEquals: string[]; Next: string; ResultPath?: string }>;
  readonly ItemReader?: { ReaderConfig: { InputType: string } };
  readonly ItemBatcher?: Record<string, unknown>;
  readonly ItemProcessor?: { States: Record<string, AslState> };
}

const PLACEHOLDER = /\$\{([^}]*)\}/g;
const aslText = readFileSync(BATCH_SCORING_ASL_FILE, 'utf8');
const placeholders = [...new Set([...aslText.matchAll(PLACEHOLDER)].map((m) => m[1] ?? ''))].sort();
const filled = aslText.replace(PLACEHOLDER, (_, name: string) =>
  name.endsWith('FunctionArn')
    ? `arn:aws:lambda:eu-west-1:123456789012:function:mlops-${name}`
    : 'arn:aws:sns:eu-west-1:123456789012:mlops-alarms',
);
const asl = JSON.parse(filled) as { States: Record<string, AslState> };
const allStates = (states: Record<string, AslState>): Array<[string, AslState]> =>
  Object.entries(states).flatMap(
    ([name, s]): Array<[string, AslState]> => [
      [name, s],
      ...(s.ItemProcessor ? allStates(s.ItemProcessor.States) : []),
    ],
  );

const { template } = synthStack();
const machines = template.findResources('AWS::StepFunctions::StateMachine', {
  Properties: { DefinitionString: Match.stringLikeRegexp('PlanBatch') },
});
const [machineId, machine] = Object.entries(machines)[0] ?? [];

describe('batch-scoring ASL (statemachines/batch-scoring.asl.json)', () => {
  it('passes asl-validator once its placeholders hold realistic ARNs', () => {
    const result = aslValidator(JSON.parse(filled));
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('reads large CSV and JSON Lines inputs with a Distributed Map batched by the plan', () => {
    for (const [name, type] of [
      ['ScoreCsvInBatches', 'CSV'],
      ['ScoreJsonlInBatches', 'JSONL'],
    ] as const) {
      const map = asl.States[name];
      expect(map?.ItemReader?.ReaderConfig.InputType, name).toBe(type);
      expect(map?.ItemBatcher, name).toMatchObject({ MaxItemsPerBatchPath: '$.plan.batchSize' });
      expect(map?.Catch?.[0]).toMatchObject({ ErrorEquals: ['States.ALL'], Next: 'RecordFailure' });
    }
  });

  it('retries every Lambda task on TransientError and Lambda throttling with jittered backoff', () => {
    const lambdaTasks = allStates(asl.States).filter(([, s]) => s.Resource?.startsWith('arn:aws:lambda:'));
    expect(lambdaTasks.length).toBe(6);
    for (const [name, state] of lambdaTasks) {
      const retrier = state.Retry?.find(
        (r) =>
          r.ErrorEquals.includes('TransientError') &&
          r.ErrorEquals.includes('Lambda.TooManyRequestsException'),
      );
      expect(retrier?.BackoffRate, name).toBeGreaterThan(1);
      expect(retrier?.JitterStrategy, name).toBe('FULL');
    }
  });

  it('routes every failure of the main path to RecordFailure', () => {
    for (const name of ['PlanBatch', 'ScoreFile', 'ScoreCsvInBatches', 'ScoreJsonlInBatches', 'Finalize'])
      expect(asl.States[name]?.Catch, name).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailure' },
      ]);
  });

  it('has exactly the stack substitutions as placeholders', () => {
    const substitutions = Object.keys(machine?.Properties.DefinitionSubstitutions ?? {}).sort();
    expect(substitutions).toEqual(placeholders);
  });
});

describe('batch-scoring stack', () => {
  it('sends the data bucket object events to EventBridge without a notifications custom resource', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
    });
    expect(Object.keys(template.findResources('Custom::S3BucketNotifications'))).toEqual([]);
  });

  it('starts the state machine for objects created under incoming/ only', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: [Match.anyValue()] }, object: { key: [{ prefix: 'incoming/' }] } },
      },
      Targets: [Match.objectLike({ Arn: { Ref: machineId } })],
    });
  });

  it('lets the state machine start and stop its own child executions, read inputs, and invoke only its steps', () => {
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: machine?.Properties.RoleArn['Fn::GetAtt'][0] }] },
    });
    const statements = Object.values(policies).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>,
    );
    const actions = statements.flatMap((s) => [s.Action].flat()).sort();
    expect(actions).toEqual(
      expect.arrayContaining([
        'lambda:InvokeFunction',
        'states:StartExecution',
        'states:DescribeExecution',
        's3:GetObject',
        'sns:Publish',
      ]),
    );
    const invoke = statements.find((s) => s.Action === 'lambda:InvokeFunction');
    expect(invoke?.Resource).toHaveLength(5);
    expect(JSON.stringify(statements)).not.toMatch(/states:\*|s3:\*/);
  });

  it('pages on failed executions through the alarms topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ExecutionsFailed',
      Namespace: 'AWS/States',
      Threshold: 1,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('AlarmsTopic') }],
    });
  });

  it('keeps the scoring functions away from the registry writes and the models prefix', () => {
    const scoreFile = Object.entries(
      template.findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp('score a small input') },
      }),
    )[0];
    const role = scoreFile?.[1].Properties.Role['Fn::GetAtt'][0];
    const statements = Object.values(
      template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([{ Ref: role }]) } }),
    ).flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[] }>);
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions).not.toContain('dynamodb:PutItem');
    expect(actions).not.toContain('s3:DeleteObject');
  });
});
