// Reading a REST API from a template: routes, enabled keys, and warnings for what is declared
// but not enforced locally.
import { describe, expect, it } from 'vitest';
import {
  readRestApiSetup,
  readRestApis,
  type TemplateResources,
} from '../../../../local/gateway/rest-api-model.ts';

const apiRef = { Ref: 'Api' };
const template: TemplateResources = {
  Resources: {
    Api: { Type: 'AWS::ApiGateway::RestApi', Properties: { Name: 'Api' } },
    Stage: {
      Type: 'AWS::ApiGateway::Stage',
      Properties: {
        RestApiId: apiRef,
        StageName: 'v1',
        MethodSettings: [
          { ResourcePath: '/*', HttpMethod: '*', ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
          { ResourcePath: '/~1models~1{model}~1predict', HttpMethod: 'POST', ThrottlingRateLimit: 5 },
        ],
      },
    },
    Models: {
      Type: 'AWS::ApiGateway::Resource',
      Properties: {
        RestApiId: apiRef,
        ParentId: { 'Fn::GetAtt': ['Api', 'RootResourceId'] },
        PathPart: 'models',
      },
    },
    Model: {
      Type: 'AWS::ApiGateway::Resource',
      Properties: { RestApiId: apiRef, ParentId: { Ref: 'Models' }, PathPart: '{model}' },
    },
    Predict: {
      Type: 'AWS::ApiGateway::Resource',
      Properties: { RestApiId: apiRef, ParentId: { Ref: 'Model' }, PathPart: 'predict' },
    },
    PredictPost: {
      Type: 'AWS::ApiGateway::Method',
      Properties: {
        RestApiId: apiRef,
        ResourceId: { Ref: 'Predict' },
        HttpMethod: 'POST',
        ApiKeyRequired: true,
        AuthorizationType: 'CUSTOM',
        AuthorizerId: { Ref: 'Authorizer' },
        RequestValidatorId: { Ref: 'Validator' },
        Integration: {
          Type: 'AWS_PROXY',
          Uri: 'arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:predict:live/invocations',
        },
      },
    },
    Authorizer: { Type: 'AWS::ApiGateway::Authorizer', Properties: { RestApiId: apiRef, Type: 'TOKEN' } },
    Validator: {
      Type: 'AWS::ApiGateway::RequestValidator',
      Properties: { RestApiId: apiRef, ValidateRequestBody: true },
    },
    BodyModel: { Type: 'AWS::ApiGateway::Model', Properties: { RestApiId: apiRef, Schema: {} } },
    EnabledKey: { Type: 'AWS::ApiGateway::ApiKey', Properties: { Enabled: true } },
    DisabledKey: { Type: 'AWS::ApiGateway::ApiKey', Properties: { Enabled: false } },
    Plan: {
      Type: 'AWS::ApiGateway::UsagePlan',
      Properties: {
        ApiStages: [
          {
            ApiId: apiRef,
            Stage: { Ref: 'Stage' },
            Throttle: { '/models/{model}/predict/POST': { RateLimit: 1 } },
          },
        ],
        Throttle: { RateLimit: 10, BurstLimit: 20 },
        Quota: { Limit: 1000, Period: 'DAY' },
      },
    },
    PlanEnabledKey: {
      Type: 'AWS::ApiGateway::UsagePlanKey',
      Properties: { KeyId: { Ref: 'EnabledKey' }, KeyType: 'API_KEY', UsagePlanId: { Ref: 'Plan' } },
    },
    PlanDisabledKey: {
      Type: 'AWS::ApiGateway::UsagePlanKey',
      Properties: { KeyId: { Ref: 'DisabledKey' }, KeyType: 'API_KEY', UsagePlanId: { Ref: 'Plan' } },
    },
  },
};
const resolve = (value: unknown) => value;

describe('readRestApiSetup', () => {
  it('reads the route, stage throttle and usage-plan throttle', () => {
    const [api] = readRestApiSetup(template, resolve).apis;
    expect(api).toMatchObject({
      stageName: 'v1',
      stageThrottle: { rateLimit: 100, burstLimit: 200 },
      routes: [
        {
          httpMethod: 'POST',
          resourcePath: '/models/{model}/predict',
          paramNames: ['model'],
          apiKeyRequired: true,
          functionArn: 'arn:aws:lambda:us-east-1:1:function:predict:live',
        },
      ],
    });
    expect(api?.keyThrottles.get('EnabledKey')).toEqual({ rateLimit: 10, burstLimit: 20 });
  });

  it('leaves out a key with Enabled: false, so the gateway refuses it', () => {
    const [api] = readRestApiSetup(template, resolve).apis;
    expect([...(api?.keyThrottles.keys() ?? [])]).toEqual(['EnabledKey']);
  });

  it('warns, by logical id, about each declared feature it does not enforce', () => {
    const { warnings } = readRestApiSetup(template, resolve);
    const features = warnings.map((w) =>
      /^(\S+): (\S+) is not emulated locally \(.+\)$/.exec(w)?.slice(1, 3),
    );
    expect(features).toEqual(
      expect.arrayContaining([
        ['Stage', 'MethodSettings'],
        ['PredictPost', 'AuthorizationType'],
        ['Authorizer', 'Authorizer'],
        ['Validator', 'RequestValidator'],
        ['BodyModel', 'Model'],
        ['Plan', 'Quota'],
        ['Plan', 'ApiStages.Throttle'],
      ]),
    );
    expect(warnings).toHaveLength(7);
    expect(warnings.find((w) => w.startsWith('Stage:'))).toContain('POST /~1models~1{model}~1predict');
  });

  it('warns about nothing for a plan with an empty per-stage throttle and no quota', () => {
    const plain = structuredClone(template) as { Resources: Record<string, any> };
    for (const id of ['Authorizer', 'Validator', 'BodyModel']) delete plain.Resources[id];
    plain.Resources.PredictPost.Properties.AuthorizationType = 'NONE';
    plain.Resources.Stage.Properties.MethodSettings.pop();
    plain.Resources.Plan.Properties.ApiStages[0].Throttle = {};
    delete plain.Resources.Plan.Properties.Quota;
    expect(readRestApiSetup(plain, resolve).warnings).toEqual([]);
  });
});

describe('readRestApis', () => {
  it('returns the same APIs as readRestApiSetup', () => {
    expect(readRestApis(template, resolve)).toEqual(readRestApiSetup(template, resolve).apis);
  });
});
