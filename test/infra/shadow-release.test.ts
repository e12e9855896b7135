// The ShadowRelease construct in a stack of its own (bundling skipped, cdk-nag on): the `shadow`
// alias and its asynchronous-invocation settings, the predict function's environment and its right
// to invoke that alias alone, the two release steps' configuration, and each grant exactly.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../infra/constructs/artifact-store.ts';
import { DataStore } from '../../infra/constructs/data-store.ts';
import { MlFunction } from '../../infra/constructs/ml-function.ts';
import { ModelRegistry } from '../../infra/constructs/model-registry.ts';
import { SecureBucket } from '../../infra/constructs/secure-bucket.ts';
import { ShadowRelease, type ShadowReleaseProps } from '../../infra/constructs/shadow-release.ts';
import { permissionLines } from './template-queries.ts';

const cdkJsonContext = (
  JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
    context: Record<string, unknown>;
  }
).context;

type Props = Partial<
  Pick<ShadowReleaseProps, 'sendBudget' | 'captureSettle' | 'liveAliasName' | 'defaultWindow'>
>;

/** Buckets, registry, a predict function with its `live` alias, and a ShadowRelease; cdk-nag throws on a finding. */
function synth(props: Props = {}) {
  const app = new App({ context: { ...cdkJsonContext, 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'ShadowStack', { env: { account: '123456789012', region: 'eu-west-1' } });
  const accessLogs = new SecureBucket(stack, 'AccessLogs').bucket;
  Validations.of(accessLogs).acknowledge({ id: 'AwsSolutions-S1', reason: 'The access-log bucket itself.' });
  const data = new DataStore(stack, 'DataStore', { accessLogs });
  const artifacts = new ArtifactStore(stack, 'ArtifactStore', { accessLogs });
  const registry = new ModelRegistry(stack, 'Registry');
  const predict = new MlFunction(stack, 'Predict', {
    entry: fileURLToPath(new URL('../../functions/predict/handler.ts', import.meta.url)),
  });
  registry.bindTo(predict, 'read');
  const live = new lambda.Alias(stack, 'LiveAlias', { aliasName: 'live', version: predict.currentVersion });
  const shadow = new ShadowRelease(stack, 'ShadowRelease', {
    predictFunction: predict,
    registry,
    data,
    artifacts,
    ...props,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
  const template = Template.fromStack(stack);
  const id = (construct: { node: { defaultChild?: unknown } }) =>
    stack.resolve((construct.node.defaultChild as { logicalId: string }).logicalId) as string;
  return {
    template,
    ids: {
      data: id(data.bucket),
      artifacts: id(artifacts.bucket),
      registry: id(registry.table),
      predict: id(predict),
      predictRole: id(predict.role as unknown as { node: { defaultChild?: unknown } }),
      live: id(live),
      shadow: id(shadow.alias),
      start: id(shadow.startShadowFunction),
      finish: id(shadow.finishShadowFunction),
    },
  };
}

const defaults = synth();
const resources = defaults.template.toJSON().Resources as Record<
  string,
  { Type: string; Properties?: Record<string, unknown>; DependsOn?: string | string[] }
>;

const permissionsOfRole = (roleId: string) => permissionLines(defaults.template, roleId);
/** A resource's properties; fails naming the id when the template has no such resource. */
function propertiesOf(id: string): Record<string, unknown> {
  const properties = resources[id]?.Properties;
  if (!properties) throw new Error(`the template has no resource ${id} with properties`);
  return properties;
}
const variablesOf = (fnId: string) =>
  (propertiesOf(fnId).Environment as { Variables: Record<string, unknown> }).Variables;
const roleOf = (fnId: string) =>
  (propertiesOf(fnId).Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
const permissionsOf = (fnId: string) => permissionsOfRole(roleOf(fnId));

const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const json = (value: unknown) => JSON.stringify(value);
const qualified = (suffix: string) => json({ 'Fn::Join': ['', [arnOf(defaults.ids.predict), suffix]] });
const objectsUnder = (bucketId: string, prefix: string) =>
  json({ 'Fn::Join': ['', [arnOf(bucketId), `/${prefix}*`]] });

/** Logical ids a resource refers to (Ref, GetAtt, DependsOn). */
function referencesOf(resource: (typeof resources)[string]): Set<string> {
  const found = new Set<string>([resource.DependsOn ?? []].flat());
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (k === 'Ref' && typeof v === 'string') found.add(v);
        else if (k === 'Fn::GetAtt' && Array.isArray(v)) found.add(String(v[0]));
        else walk(v);
      }
    }
  };
  walk(resource.Properties);
  return found;
}

describe('ShadowRelease', () => {
  it("creates the `shadow` alias on the predict function's current version, beside `live`", () => {
    const shadow = resources[defaults.ids.shadow]?.Properties;
    const live = resources[defaults.ids.live]?.Properties;
    expect(shadow).toMatchObject({ Name: 'shadow', FunctionName: { Ref: defaults.ids.predict } });
    expect(shadow?.FunctionVersion).toEqual(live?.FunctionVersion);
    expect(shadow?.RoutingConfig).toBeUndefined();
  });

  it('invokes the shadow alias asynchronously once per copy, for at most an hour', () => {
    defaults.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: defaults.ids.predict },
      Qualifier: Match.anyValue(),
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 3600,
    });
  });

  it('tells the predict function the alias to copy to, and never to wait for a copy by default', () => {
    const variables = variablesOf(defaults.ids.predict);
    expect(variables).toMatchObject({ SHADOW_ALIAS: 'shadow', SHADOW_SEND_BUDGET_MS: '0' });
  });

  it('passes a send budget and a capture settle time it is given', () => {
    const { template, ids } = synth({ sendBudget: Duration.millis(25), captureSettle: Duration.seconds(90) });
    const res = template.toJSON().Resources;
    expect(res[ids.predict].Properties.Environment.Variables.SHADOW_SEND_BUDGET_MS).toBe('25');
    expect(res[ids.start].Properties.Environment.Variables.CAPTURE_SETTLE_SECONDS).toBe('90');
  });

  it('configures StartShadow with the predict function, its aliases and the capture settle time', () => {
    const fn = resources[defaults.ids.start]?.Properties;
    expect(fn).toMatchObject({ Timeout: 300 });
    expect(variablesOf(defaults.ids.start)).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: 'StartShadow',
      PREDICT_FUNCTION_NAME: { Ref: defaults.ids.predict },
      LIVE_ALIAS: 'live',
      SHADOW_ALIAS: 'shadow',
      CAPTURE_SETTLE_SECONDS: '120',
      SHADOW_WINDOW_SECONDS: '3600',
      REGISTRY_TABLE: { Ref: defaults.ids.registry },
    });
  });

  it('passes the default window of a shadow release it is given, and fails on one longer than a week', () => {
    const { template, ids } = synth({ defaultWindow: Duration.minutes(30) });
    expect(
      template.toJSON().Resources[ids.start].Properties.Environment.Variables.SHADOW_WINDOW_SECONDS,
    ).toBe('1800');
    expect(() => synth({ defaultWindow: Duration.days(8) })).toThrow(
      'defaultWindow must be whole seconds from 1 s to 7 days, got 691200 s',
    );
  });

  it('configures FinishShadow with its buckets, the registry and the predict function', () => {
    const fn = resources[defaults.ids.finish]?.Properties;
    expect(fn).toMatchObject({ Timeout: 600, MemorySize: 3008 });
    expect(variablesOf(defaults.ids.finish)).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: 'FinishShadow',
      PREDICT_FUNCTION_NAME: { Ref: defaults.ids.predict },
      SHADOW_ALIAS: 'shadow',
      DATA_BUCKET: { Ref: defaults.ids.data },
      ARTIFACTS_BUCKET: { Ref: defaults.ids.artifacts },
      REGISTRY_TABLE: { Ref: defaults.ids.registry },
    });
  });

  it('fails when the send budget is negative or longer than a second', () => {
    expect(() => synth({ sendBudget: Duration.millis(1_500) })).toThrow(
      /sendBudget must be whole milliseconds between 0 and 1000, got 1500 ms/,
    );
  });

  it('fails when the capture settle time is not whole seconds', () => {
    expect(() => synth({ captureSettle: Duration.millis(1_500) })).toThrow(
      /captureSettle must be whole seconds/,
    );
  });

  describe('grants', () => {
    it('lets the predict function invoke the shadow alias and nothing else of Lambda', () => {
      const lambdaGrants = permissionsOfRole(defaults.ids.predictRole).filter((p) => p.startsWith('lambda:'));
      expect(lambdaGrants).toEqual([`lambda:InvokeFunction ${json({ Ref: defaults.ids.shadow })}`]);
    });

    // Template.fromStack (in synth) also refuses a template with a dependency cycle.
    it("keeps that grant out of the function's default policy, which the function waits for", () => {
      const dependsOn = [resources[defaults.ids.predict]?.DependsOn ?? []].flat();
      for (const policyId of dependsOn) {
        if (resources[policyId]?.Type !== 'AWS::IAM::Policy') continue;
        expect(referencesOf(resources[policyId] as (typeof resources)[string]).has(defaults.ids.shadow)).toBe(
          false,
        );
      }
    });

    it('lets StartShadow read both aliases, move only the shadow alias, read versions, publish and warm', () => {
      const lambdaGrants = permissionsOf(defaults.ids.start).filter((p) => p.startsWith('lambda:'));
      expect(lambdaGrants).toEqual(
        [
          `lambda:GetAlias ${qualified(':live')}`,
          `lambda:GetAlias ${json({ Ref: defaults.ids.shadow })}`,
          `lambda:GetFunctionConfiguration ${json(arnOf(defaults.ids.predict))}`,
          `lambda:GetFunctionConfiguration ${qualified(':*')}`,
          `lambda:InvokeFunction ${qualified(':*')}`,
          `lambda:PublishVersion ${json(arnOf(defaults.ids.predict))}`,
          `lambda:UpdateAlias ${json({ Ref: defaults.ids.shadow })}`,
          `lambda:UpdateFunctionConfiguration ${json(arnOf(defaults.ids.predict))}`,
        ].sort(),
      );
    });

    it('lets StartShadow read and conditionally write the registry table (no deletes)', () => {
      const tableGrants = permissionsOf(defaults.ids.start).filter((p) => p.startsWith('dynamodb:'));
      expect(tableGrants).toEqual(
        ['GetItem', 'PutItem', 'Query', 'Scan', 'UpdateItem'].map(
          (a) => `dynamodb:${a} ${json(arnOf(defaults.ids.registry))}`,
        ),
      );
    });

    it('lets FinishShadow read and list captures, write release reports and read metrics', () => {
      const grants = permissionsOf(defaults.ids.finish).filter(
        (p) => !p.startsWith('dynamodb:') && !p.startsWith('logs:'),
      );
      expect(grants).toEqual(
        [
          'cloudwatch:GetMetricData "*"',
          `s3:GetObject ${objectsUnder(defaults.ids.data, 'capture/')}`,
          `s3:ListBucket ${json(arnOf(defaults.ids.data))} ${json({ StringLike: { 's3:prefix': ['capture/*'] } })}`,
          `s3:PutObject ${objectsUnder(defaults.ids.artifacts, 'releases/')}`,
        ].sort(),
      );
    });

    it('lets FinishShadow read the registry table and update the shadow item (no deletes)', () => {
      const tableGrants = permissionsOf(defaults.ids.finish).filter((p) => p.startsWith('dynamodb:'));
      expect(tableGrants.every((p) => !p.includes('DeleteItem'))).toBe(true);
      expect(tableGrants).toContain(`dynamodb:UpdateItem ${json(arnOf(defaults.ids.registry))}`);
      expect(tableGrants).toContain(`dynamodb:GetItem ${json(arnOf(defaults.ids.registry))}`);
    });
  });
});
