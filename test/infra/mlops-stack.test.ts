import { Match } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { synthStack } from './synth-stack.ts';
import { idIn, roleIn, statementsIn } from './template-queries.ts';

const { template, stack } = synthStack();

const idOf = (type: string, props: Record<string, unknown> = {}) => idIn(template, type, props);

const predictId = idOf('AWS::Lambda::Function', {
  Description: Match.stringLikeRegexp('Online predictions'),
});
const registerId = idOf('AWS::Lambda::Function', {
  Description: Match.stringLikeRegexp('register the version as Staging'),
});
const validateId = idOf('AWS::Lambda::Function', {
  Description: Match.stringLikeRegexp('data validation gate'),
});
const tableId = idOf('AWS::DynamoDB::Table', {
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
});
const roleOf = (fnId: string) => roleIn(template, fnId);
const statementsOf = (roleId: string) => statementsIn(template, roleId);
const actionsOf = (roleId: string) =>
  statementsOf(roleId)
    .flatMap((s) => [s.Action].flat())
    .sort();

describe('online prediction', () => {
  it('integrates POST /models/{model}/predict with the live alias', () => {
    const aliasId = idOf('AWS::Lambda::Alias', { Name: 'live' });
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: '{model}' });
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      ApiKeyRequired: true,
      Integration: {
        Type: 'AWS_PROXY',
        Uri: { 'Fn::Join': ['', Match.arrayWith([{ Ref: aliasId }])] },
      },
    });
  });

  it('points the live alias at a published version of the predict function', () => {
    template.hasResourceProperties('AWS::Lambda::Alias', {
      Name: 'live',
      FunctionName: { Ref: predictId },
      FunctionVersion: { 'Fn::GetAtt': [Match.anyValue(), 'Version'] },
    });
  });

  it('attaches the onnxruntime layer to the predict function only', () => {
    const layerId = idOf('AWS::Lambda::LayerVersion', { CompatibleArchitectures: ['x86_64'] });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Online'),
      Layers: [{ Ref: layerId }],
    });
    expect(template.toJSON().Resources[registerId].Properties.Layers).toBeUndefined();
  });

  it('runs functions on nodejs24.x with the registry and bucket in their environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Online'),
      Runtime: 'nodejs24.x',
      MemorySize: 1769,
      Environment: {
        Variables: Match.objectLike({
          REGISTRY_TABLE: { Ref: tableId },
          ARTIFACTS_BUCKET: { Ref: Match.anyValue() },
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('register the version as Staging'),
      Runtime: 'nodejs24.x',
      Environment: { Variables: Match.objectLike({ REGISTRY_TABLE: { Ref: tableId } }) },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('data validation gate'),
      Runtime: 'nodejs24.x',
      Environment: { Variables: Match.objectLike({ DATA_BUCKET: { Ref: Match.anyValue() } }) },
    });
  });

  it('throttles clients through a usage plan and the stage', () => {
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 1000, BurstLimit: 2000 },
    });
    template.hasResourceProperties('AWS::ApiGateway::UsagePlanKey', { KeyType: 'API_KEY' });
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
      MethodSettings: Match.arrayWith([
        Match.objectLike({ ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 }),
      ]),
    });
  });

  it('answers gateway errors in the platform error envelope', () => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'THROTTLED',
      StatusCode: '429',
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"error"') },
    });
  });

  it("keeps API Gateway's own status codes for the default 4xx and 5xx responses", () => {
    for (const type of ['DEFAULT_4XX', 'DEFAULT_5XX']) {
      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        StatusCode: Match.absent(),
        ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"error"') },
      });
    }
  });

  it('expresses a canary as an additional version weight on the live alias', () => {
    const canary = synthStack({
      liveRouting: { version: '7', weight: 0.05 },
      codeRelease: { enabled: false },
    }).template;
    canary.hasResourceProperties('AWS::Lambda::Alias', {
      Name: 'live',
      RoutingConfig: {
        AdditionalVersionWeights: [{ FunctionVersion: Match.anyValue(), FunctionWeight: 0.05 }],
      },
    });
  });

  it('fails when the canary weight is outside (0, 1)', () => {
    expect(() => synthStack({ liveRouting: { version: '7', weight: 1.5 } })).toThrow(/between 0 and 1/);
  });
});

describe('storage', () => {
  it('encrypts the registry table and keeps point-in-time recovery', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      },
    });
  });

  it('encrypts every bucket and blocks public access', () => {
    const buckets = template.findResources('AWS::S3::Bucket');
    expect(Object.keys(buckets).length).toBeGreaterThanOrEqual(3);
    for (const bucket of Object.values(buckets)) {
      expect(
        bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault
          .SSEAlgorithm,
      ).toBe('AES256');
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
    }
  });

  it('denies non-TLS access to every bucket', () => {
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy'));
    expect(policies.length).toBe(Object.keys(template.findResources('AWS::S3::Bucket')).length);
    for (const policy of policies) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });
});

describe('grants', () => {
  it('gives no policy a wildcard action', () => {
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        for (const action of [statement.Action].flat()) expect(action).not.toMatch(/^\*$|:\*$/);
      }
    }
  });

  it('lets the predict function read the registry and model artifacts, and send shadow copies, only', () => {
    expect(actionsOf(roleOf(predictId))).toEqual(
      [
        'dynamodb:GetItem',
        'dynamodb:Query',
        'dynamodb:Scan',
        'lambda:InvokeFunction', // its `shadow` alias only (test/infra/shadow-release.test.ts)
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:GetObject',
      ].sort(),
    );
    const s3Statement = statementsOf(roleOf(predictId)).find((s) => s.Action === 's3:GetObject');
    expect(JSON.stringify(s3Statement?.Resource)).toContain('/models/*');
  });

  it('lets the register step write models and the registry, and nothing it does not need', () => {
    expect(actionsOf(roleOf(registerId))).toEqual(
      [
        'dynamodb:GetItem', // run log
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query', // run log
        'dynamodb:Query',
        'dynamodb:Scan',
        'dynamodb:UpdateItem', // run log
        'dynamodb:UpdateItem',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:GetObject', // runs/
        's3:PutObject', // runs/
        's3:PutObject', // models/
      ].sort(),
    );
    const modelWrites = statementsOf(roleOf(registerId)).filter((s) =>
      JSON.stringify(s.Resource).includes('/models/*'),
    );
    expect(modelWrites.map((s) => s.Action)).toEqual(['s3:PutObject']);
  });

  it('lets the validation step read datasets but not the registry', () => {
    const actions = actionsOf(roleOf(validateId));
    expect(actions).not.toContain('dynamodb:PutItem');
    const datasetReads = statementsOf(roleOf(validateId)).filter((s) =>
      JSON.stringify(s.Resource).includes('/datasets/*'),
    );
    expect(datasetReads.map((s) => s.Action)).toEqual(['s3:GetObject']);
  });
});

describe('cdk-nag', () => {
  it('synthesizes with no unacknowledged AwsSolutions finding', () => {
    expect(stack.stackName).toBe('TestStack');
  });

  it('fails synthesis when a resource breaks a rule', () => {
    expect(() =>
      synthStack({}, { mutate: (s) => new s3.Bucket(s, 'Careless', { enforceSSL: false }) }),
    ).toThrow(/AwsSolutions-S1|AwsSolutions-S10/);
  });
});
