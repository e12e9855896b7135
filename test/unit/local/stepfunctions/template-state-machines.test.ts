// Reading state machines (and what Ref/GetAtt give for them and for topics) from a template
// shaped like CDK's output: a Fn::Join definition with DefinitionSubstitutions.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} placeholders in ASL text are what these tests are about
import { describe, expect, it } from 'vitest';
import { stackResolution } from '../../../../local/stack-resolution.ts';
import {
  DefinitionSubstitutionError,
  readStateMachines,
  substituteDefinition,
} from '../../../../local/stepfunctions/template-state-machines.ts';
import type { CfnTemplate } from '../../../../local/template/cfn-template.ts';
import type { AssemblyStack } from '../../../../local/template/cloud-assembly.ts';
import { resolveValue } from '../../../../local/template/intrinsics.ts';

const template: CfnTemplate = {
  Resources: {
    TrainFn: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'train-fn' } },
    Alerts: { Type: 'AWS::SNS::Topic' },
    Role: { Type: 'AWS::IAM::Role' },
    Pipeline: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: {
        StateMachineName: 'TrainingPipeline',
        RoleArn: { 'Fn::GetAtt': ['Role', 'Arn'] },
        DefinitionString: {
          'Fn::Join': [
            '',
            [
              '{"StartAt":"Train","States":{"Train":{"Type":"Task","Resource":"${TrainArn}","Next":"Page"},',
              '"Page":{"Type":"Task","Resource":"arn:aws:states:::sns:publish","Parameters":{"TopicArn":"${Topic}","Message":"done"},"End":true}}}',
            ],
          ],
        },
        DefinitionSubstitutions: {
          TrainArn: { 'Fn::GetAtt': ['TrainFn', 'Arn'] },
          Topic: { Ref: 'Alerts' },
        },
      },
    },
    Express: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: {
        StateMachineType: 'EXPRESS',
        Definition: { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } },
      },
    },
    Unfilled: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: { DefinitionString: '{"Comment":"${Missing}"}' },
    },
  },
};

const stack = {
  stackName: 'Mlops',
  artifactId: 'Mlops',
  displayName: 'Mlops',
  templateFile: '/dev/null',
  template,
  assets: new Map(),
  dockerImages: [],
  environment: {},
} satisfies AssemblyStack;

const resolution = stackResolution(stack, 'http://127.0.0.1:1');

describe('readStateMachines', () => {
  const { machines, warnings } = readStateMachines(stack, resolution);

  it('resolves the definition and applies DefinitionSubstitutions', () => {
    const pipeline = machines.find((m) => m.logicalId === 'Pipeline');
    expect(pipeline).toMatchObject({
      name: 'TrainingPipeline',
      arn: 'arn:aws:states:us-east-1:000000000000:stateMachine:TrainingPipeline',
      type: 'STANDARD',
    });
    const asl = JSON.parse(pipeline?.definition ?? '');
    expect(asl.States.Train.Resource).toBe('arn:aws:lambda:us-east-1:000000000000:function:train-fn');
    expect(asl.States.Page.Parameters.TopicArn).toBe('arn:aws:sns:us-east-1:000000000000:Mlops-Alerts');
    expect(pipeline?.substitutions?.TrainArn).toBe(asl.States.Train.Resource);
  });

  it('names a state machine without StateMachineName after stack and logical id, and keeps its type', () => {
    const express = machines.find((m) => m.logicalId === 'Express');
    expect(express).toMatchObject({ name: 'Mlops-Express', type: 'EXPRESS' });
    expect(JSON.parse(express?.definition ?? '')).toEqual({
      StartAt: 'Done',
      States: { Done: { Type: 'Succeed' } },
    });
  });

  it('leaves out a definition with an unfilled placeholder, with a warning naming it and the key', () => {
    expect(machines.map((m) => m.logicalId)).not.toContain('Unfilled');
    expect(warnings).toEqual([expect.stringMatching(/^Unfilled: .*\$\{Missing\}/)]);
  });
});

describe('substituteDefinition', () => {
  it('replaces every occurrence as text', () => {
    expect(substituteDefinition('"${A}-${A}" ${N}', { A: 'x', N: 3 })).toBe('"x-x" 3');
  });

  it('fails naming a key it has no value for', () => {
    expect(() => substituteDefinition('${Nope}', {})).toThrow(DefinitionSubstitutionError);
    expect(() => substituteDefinition('${Nope}', {})).toThrow(/Nope/);
  });
});

describe('stackResolution for state machines and topics', () => {
  const resolve = (value: unknown) => resolveValue(value, resolution.ctx);

  it('answers Ref with the ARN and GetAtt with the ARN and name', () => {
    expect(resolve({ Ref: 'Pipeline' })).toBe(
      'arn:aws:states:us-east-1:000000000000:stateMachine:TrainingPipeline',
    );
    expect(resolve({ 'Fn::GetAtt': ['Pipeline', 'Name'] })).toBe('TrainingPipeline');
    expect(resolve({ 'Fn::GetAtt': ['Pipeline', 'Arn'] })).toBe(resolve({ Ref: 'Pipeline' }));
    expect(resolve({ Ref: 'Alerts' })).toBe('arn:aws:sns:us-east-1:000000000000:Mlops-Alerts');
    expect(resolve({ 'Fn::GetAtt': ['Alerts', 'TopicName'] })).toBe('Mlops-Alerts');
    expect(resolve({ 'Fn::GetAtt': ['Alerts', 'TopicArn'] })).toBe(resolve({ Ref: 'Alerts' }));
  });
});
