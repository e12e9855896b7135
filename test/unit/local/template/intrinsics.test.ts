import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CfnTemplate } from '../../../../local/template/cfn-template.ts';
import { findStack, loadCloudAssembly } from '../../../../local/template/cloud-assembly.ts';
import {
  evaluateCondition,
  type ResolveContext,
  resolveValue,
} from '../../../../local/template/intrinsics.ts';
import {
  LOCAL_BOOTSTRAP_VERSION,
  TemplateResolutionError,
} from '../../../../local/template/pseudo-parameters.ts';

const template: CfnTemplate = {
  Resources: {
    Registry: { Type: 'AWS::DynamoDB::Table' },
    Live: { Type: 'AWS::Lambda::Alias' },
    Db: { Type: 'AWS::RDS::DBInstance' },
    Queue: { Type: 'AWS::SQS::Queue' },
  },
  Parameters: {
    BootstrapVersion: {
      Type: 'AWS::SSM::Parameter::Value<String>',
      Default: '/cdk-bootstrap/hnb659fds/version',
    },
    Secret: { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/app/secret' },
    Stage: { Type: 'String', Default: 'dev' },
    Subnets: { Type: 'CommaDelimitedList', Default: 'a,b' },
    Required: { Type: 'String' },
  },
  Conditions: {
    IsProd: { 'Fn::Equals': [{ Ref: 'Stage' }, 'prod'] },
    IsDev: { 'Fn::Not': [{ Condition: 'IsProd' }] },
    DevInUsEast: {
      'Fn::And': [{ Condition: 'IsDev' }, { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] }],
    },
    Loop: { 'Fn::Not': [{ Condition: 'Loop' }] },
  },
  Mappings: { Sizes: { dev: { memory: 512 } } },
};

/** What the runtime knows locally: Queue and Registry.StreamArn are deliberately missing. */
const refs: Record<string, string> = {
  Registry: 'MlopsStack-Registry',
  Live: 'arn:aws:lambda:us-east-1:000000000000:function:predict:live',
};
const attributes: Record<string, string> = {
  'Registry.Arn': 'arn:aws:dynamodb:us-east-1:000000000000:table/MlopsStack-Registry',
  'Db.Endpoint.Address': 'db.local',
};

function context(overrides: Partial<ResolveContext> = {}): ResolveContext {
  return {
    stackName: 'MlopsStack',
    template,
    ref: (id) => refs[id],
    getAtt: (id, attr) => attributes[`${id}.${attr}`],
    ...overrides,
  };
}

const resolve = (value: unknown, overrides?: Partial<ResolveContext>) =>
  resolveValue(value, context(overrides));

describe('resolveValue', () => {
  it('leaves values without intrinsics as they are', () => {
    const value = { a: [1, 'x', { b: null, c: true }] };

    expect(resolve(value)).toEqual(value);
  });

  it('resolves Ref to a resource through the runtime callback', () => {
    expect(resolve({ Ref: 'Registry' })).toBe('MlopsStack-Registry');
    expect(resolve({ Ref: 'Live' })).toMatch(/:function:predict:live$/);
  });

  it('resolves pseudo parameters, with a configurable region', () => {
    expect(
      resolve(
        ['AWS::Region', 'AWS::AccountId', 'AWS::Partition', 'AWS::URLSuffix', 'AWS::StackName'].map(
          (Ref) => ({ Ref }),
        ),
      ),
    ).toEqual(['us-east-1', '000000000000', 'aws', 'amazonaws.com', 'MlopsStack']);
    expect(resolve({ Ref: 'AWS::Region' }, { region: 'eu-west-1' })).toBe('eu-west-1');
    expect(resolve({ Ref: 'AWS::StackId' })).toMatch(
      /^arn:aws:cloudformation:us-east-1:000000000000:stack\/MlopsStack\//,
    );
  });

  it('removes a key or list element set to AWS::NoValue', () => {
    expect(resolve({ keep: 1, drop: { Ref: 'AWS::NoValue' }, list: ['a', { Ref: 'AWS::NoValue' }] })).toEqual(
      {
        keep: 1,
        list: ['a'],
      },
    );
    expect(resolve({ Ref: 'AWS::NoValue' })).toBeUndefined();
  });

  it('resolves template parameters from their Default, or the value given', () => {
    expect(resolve({ Ref: 'Stage' })).toBe('dev');
    expect(resolve({ Ref: 'Subnets' })).toEqual(['a', 'b']);
    expect(resolve({ Ref: 'Stage' }, { parameterValues: { Stage: 'prod' } })).toBe('prod');
  });

  it("resolves CDK's BootstrapVersion SSM parameter to a local bootstrap version", () => {
    expect(resolve({ Ref: 'BootstrapVersion' })).toBe(LOCAL_BOOTSTRAP_VERSION);
  });

  it('fails naming the SSM parameter when another SSM-backed parameter has no value', () => {
    expect(() => resolve({ Ref: 'Secret' })).toThrow(/parameter Secret reads SSM parameter \/app\/secret/);
  });

  it('fails naming a parameter with neither Default nor value', () => {
    expect(() => resolve({ Ref: 'Required' })).toThrow(/parameter Required has no Default/);
  });

  it('resolves Fn::GetAtt in array and dotted string forms', () => {
    expect(resolve({ 'Fn::GetAtt': ['Registry', 'Arn'] })).toMatch(/:table\/MlopsStack-Registry$/);
    expect(resolve({ 'Fn::GetAtt': 'Registry.Arn' })).toMatch(/:table\/MlopsStack-Registry$/);
    expect(resolve({ 'Fn::GetAtt': 'Db.Endpoint.Address' })).toBe('db.local');
  });

  it('resolves Fn::Join over nested intrinsics', () => {
    const value = { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Registry', 'Arn'] }, '/index/*']] };

    expect(resolve(value)).toBe('arn:aws:dynamodb:us-east-1:000000000000:table/MlopsStack-Registry/index/*');
  });

  it('resolves Fn::Sub with pseudo parameters, attributes, refs, variables and escapes', () => {
    expect(resolve({ 'Fn::Sub': `cdk-hnb659fds-assets-\${AWS::AccountId}-\${AWS::Region}` })).toBe(
      'cdk-hnb659fds-assets-000000000000-us-east-1',
    );
    expect(
      resolve({
        'Fn::Sub': `\${Registry.Arn}|\${Registry}|\${!Literal}|\${AWS::Partition}.\${AWS::URLSuffix}`,
      }),
    ).toBe(
      `arn:aws:dynamodb:us-east-1:000000000000:table/MlopsStack-Registry|MlopsStack-Registry|\${Literal}|aws.amazonaws.com`,
    );
    expect(resolve({ 'Fn::Sub': [`\${Table}-\${Stage}`, { Table: { Ref: 'Registry' } }] })).toBe(
      'MlopsStack-Registry-dev',
    );
  });

  it('resolves Fn::Select and Fn::Split', () => {
    expect(resolve({ 'Fn::Select': [1, { 'Fn::Split': [':', 'arn:aws:s3'] }] })).toBe('aws');
    expect(resolve({ 'Fn::Select': ['0', { 'Fn::GetAZs': '' }] })).toBe('us-east-1a');
  });

  it('fails when Fn::Select is out of range', () => {
    expect(() => resolve({ 'Fn::Select': [5, ['a']] })).toThrow(/index 5 is outside the list of 1/);
  });

  it('resolves Fn::GetAZs for the local region', () => {
    expect(resolve({ 'Fn::GetAZs': { Ref: 'AWS::Region' } }, { region: 'eu-west-1' })).toEqual([
      'eu-west-1a',
      'eu-west-1b',
      'eu-west-1c',
    ]);
  });

  it('resolves Fn::If from template conditions, including AWS::NoValue branches', () => {
    const value = {
      Memory: { 'Fn::If': ['IsProd', 2048, { Ref: 'AWS::NoValue' }] },
      Mode: { 'Fn::If': ['IsDev', 'dev', 'prod'] },
    };

    expect(resolve(value)).toEqual({ Mode: 'dev' });
    expect(resolve(value, { parameterValues: { Stage: 'prod' } })).toEqual({ Memory: 2048, Mode: 'prod' });
  });

  it('evaluates conditions combining Condition, Fn::And, Fn::Not and Fn::Equals', () => {
    expect(evaluateCondition('DevInUsEast', context())).toBe(true);
    expect(evaluateCondition('DevInUsEast', context({ region: 'eu-west-1' }))).toBe(false);
  });

  it('fails when a condition depends on itself or does not exist', () => {
    expect(() => evaluateCondition('Loop', context())).toThrow(/condition Loop depends on itself/);
    expect(() => resolve({ 'Fn::If': ['Nope', 1, 2] })).toThrow(/condition Nope does not exist/);
  });

  it('resolves Fn::FindInMap and Fn::Base64', () => {
    expect(resolve({ 'Fn::FindInMap': ['Sizes', { Ref: 'Stage' }, 'memory'] })).toBe(512);
    expect(resolve({ 'Fn::Base64': 'hi' })).toBe('aGk=');
  });

  it('fails clearly on Fn::ImportValue unless the runtime provides the export', () => {
    expect(() => resolve({ 'Fn::ImportValue': 'SharedVpcId' })).toThrow(
      /export "SharedVpcId" is not available locally/,
    );
    expect(resolve({ 'Fn::ImportValue': 'SharedVpcId' }, { importValue: () => 'vpc-1' })).toBe('vpc-1');
  });

  it('fails naming the logical id and its type when a Ref has no local value', () => {
    expect(() =>
      resolveValue({ Env: { Q: { Ref: 'Queue' } } }, context(), 'Resources.Fn.Properties'),
    ).toThrow('Ref to Queue (AWS::SQS::Queue) has no local value (at Resources.Fn.Properties.Env.Q.Ref)');
  });

  it('fails naming the logical id and attribute when a Fn::GetAtt has no local value', () => {
    expect(() => resolve({ 'Fn::GetAtt': ['Queue', 'QueueName'] })).toThrow(
      /Fn::GetAtt Queue\.QueueName \(AWS::SQS::Queue\) has no local value/,
    );
    expect(() => resolve({ 'Fn::Sub': `\${Registry.StreamArn}` })).toThrow(/Fn::GetAtt Registry\.StreamArn/);
  });

  it('fails naming a logical id the template does not have', () => {
    expect(() => resolve({ Ref: 'Ghost' })).toThrow(TemplateResolutionError);
    expect(() => resolve({ 'Fn::GetAtt': ['Ghost', 'Arn'] })).toThrow(
      /Ghost is neither a resource nor a parameter/,
    );
  });

  it('fails on intrinsics local does not support', () => {
    expect(() => resolve({ 'Fn::Cidr': ['10.0.0.0/16', 2, 8] })).toThrow(
      /intrinsic Fn::Cidr is not supported locally/,
    );
  });

  it('resolves the environment and outputs of a synthesized template', () => {
    const stack = findStack(
      loadCloudAssembly(
        join(fileURLToPath(new URL('../../../fixtures/templates/', import.meta.url)), 'mlops-stack'),
      ),
      'MlopsStack',
    );
    const names = new Map(Object.keys(stack.template.Resources).map((id) => [id, `MlopsStack-${id}`]));
    const ctx: ResolveContext = {
      stackName: stack.stackName,
      template: stack.template,
      ref: (id) => names.get(id),
      getAtt: (id, attr) => (attr === 'Arn' ? `arn:aws:local:::${id}` : undefined),
    };
    const functions = Object.values(stack.template.Resources).filter(
      (r) => r.Type === 'AWS::Lambda::Function',
    );
    const predict = functions.find((r) => (r.Properties?.Environment as object | undefined) !== undefined);

    const env = resolveValue(predict?.Properties?.Environment, ctx) as { Variables: Record<string, string> };
    const outputs = resolveValue(stack.template.Outputs, ctx) as Record<string, { Value: string }>;

    expect(Object.values(env.Variables).every((v) => v.startsWith('MlopsStack-'))).toBe(true);
    for (const { Value } of Object.values(outputs)) {
      expect(Value).toMatch(
        /^https:\/\/MlopsStack-\w+\.execute-api\.us-east-1\.amazonaws\.com\/MlopsStack-\w+\/$/,
      );
    }
  });
});
