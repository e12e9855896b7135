// The DriftMonitor construct in a stack of its own (bundling skipped, cdk-nag on): the schedule,
// the function's environment, the alert table, and each grant with its exact actions and resources.
import { readFileSync } from 'node:fs';
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../infra/constructs/artifact-store.ts';
import { DataStore } from '../../infra/constructs/data-store.ts';
import { DriftMonitor, type DriftMonitorProps } from '../../infra/constructs/drift-monitor.ts';
import { ModelRegistry } from '../../infra/constructs/model-registry.ts';
import { SecureBucket } from '../../infra/constructs/secure-bucket.ts';
import { permissionLines, roleIn } from './template-queries.ts';

const RETRAINING_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:mlops-Retraining';

/** The feature flags of cdk.json (minimizePolicies among them), so policies come out as deployed. */
const cdkJsonContext = (
  JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
    context: Record<string, unknown>;
  }
).context;

type Props = Partial<Omit<DriftMonitorProps, 'data' | 'artifacts' | 'registry'>> & {
  withRetraining?: boolean;
};

/** A stack holding the buckets, the registry and a DriftMonitor; synthesized with cdk-nag, which throws on a finding. */
function synth(props: Props = {}) {
  const app = new App({ context: { ...cdkJsonContext, 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'DriftStack', { env: { account: '123456789012', region: 'eu-west-1' } });
  const accessLogs = new SecureBucket(stack, 'AccessLogs').bucket;
  Validations.of(accessLogs).acknowledge({ id: 'AwsSolutions-S1', reason: 'The access-log bucket itself.' });
  const data = new DataStore(stack, 'DataStore', { accessLogs });
  const artifacts = new ArtifactStore(stack, 'ArtifactStore', { accessLogs });
  const registry = new ModelRegistry(stack, 'Registry');
  const { withRetraining = true, ...rest } = props;
  const monitor = new DriftMonitor(stack, 'DriftMonitor', {
    data,
    artifacts,
    registry,
    ...(withRetraining
      ? { retraining: sfn.StateMachine.fromStateMachineArn(stack, 'Retraining', RETRAINING_ARN) }
      : {}),
    ...rest,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
  const template = Template.fromStack(stack);
  const id = (construct: { node: { defaultChild?: unknown } }) =>
    stack.resolve((construct.node.defaultChild as { logicalId: string }).logicalId) as string;
  return {
    stack,
    monitor,
    template,
    ids: {
      data: id(data.bucket),
      artifacts: id(artifacts.bucket),
      registry: id(registry.table),
      alerts: id(monitor.alertStateTable),
      fn: id(monitor.driftCheckFunction),
    },
  };
}

/** Every (action, resource, condition) the function's role is allowed, one line each, sorted. */
const permissionsOf = (result: ReturnType<typeof synth>) =>
  permissionLines(result.template, roleIn(result.template, result.ids.fn));

const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const objectsUnder = (bucketId: string, prefix: string) =>
  JSON.stringify({ 'Fn::Join': ['', [arnOf(bucketId), `/${prefix}*`]] });

const defaults = synth();
const permissions = permissionsOf(defaults);

describe('DriftMonitor', () => {
  it('runs the check every hour by default, retried by EventBridge for up to an hour', () => {
    defaults.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Targets: [
        {
          Arn: arnOf(defaults.ids.fn),
          Id: Match.anyValue(),
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
        },
      ],
    });
    defaults.template.resourceCountIs('AWS::Lambda::Permission', 1);
  });

  it('runs on the schedule it is given', () => {
    const { template } = synth({ schedule: events.Schedule.cron({ minute: '15' }) });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(15 * * * ? *)' });
  });

  it('configures the function for hourly windows, K = 2, its buckets, tables and the retraining machine', () => {
    const fn = defaults.template.toJSON().Resources[defaults.ids.fn].Properties;
    expect(fn).toMatchObject({ MemorySize: 3008, Timeout: 300 });
    expect(fn.Environment.Variables).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: 'DriftCheck',
      DRIFT_STATE_TABLE: { Ref: defaults.ids.alerts },
      DRIFT_WINDOW_MINUTES: '60',
      DRIFT_WINDOW_DELAY_MINUTES: '5',
      DRIFT_CONSECUTIVE_WINDOWS: '2',
      DRIFT_THRESHOLDS: '{}',
      DATA_BUCKET: { Ref: defaults.ids.data },
      ARTIFACTS_BUCKET: { Ref: defaults.ids.artifacts },
      REGISTRY_TABLE: { Ref: defaults.ids.registry },
      RETRAINING_STATE_MACHINE_ARN: RETRAINING_ARN,
    });
  });

  it('passes its window, delay, K and thresholds to the function', () => {
    const thresholds = {
      '*': { minRows: 1_000 },
      'flight-delay': { psi: { watch: 0.05, significant: 0.2 } },
    };
    const { template, ids } = synth({
      windowLength: Duration.minutes(15),
      windowDelay: Duration.minutes(2),
      consecutiveWindows: 3,
      thresholds,
    });
    expect(template.toJSON().Resources[ids.fn].Properties.Environment.Variables).toMatchObject({
      DRIFT_WINDOW_MINUTES: '15',
      DRIFT_WINDOW_DELAY_MINUTES: '2',
      DRIFT_CONSECUTIVE_WINDOWS: '3',
      DRIFT_THRESHOLDS: JSON.stringify(thresholds),
    });
  });

  it('keeps alert states in an on-demand, encrypted, recoverable table keyed by model', () => {
    defaults.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'model', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'model', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('exposes the DriftAlarm metric per model and across models', () => {
    const stack = defaults.stack;
    const perModel = defaults.monitor.metricDriftAlarm('flight-delay');
    expect(perModel.namespace).toBe('MLOps');
    expect(perModel.metricName).toBe('DriftAlarm');
    expect(perModel.dimensions).toEqual({ Model: 'flight-delay' });
    expect(perModel.statistic).toBe('Maximum');
    expect(stack.resolve(perModel.period.toSeconds())).toBe(3600);
    expect(defaults.monitor.metricDriftAlarm().dimensions).toBeUndefined();
    expect(defaults.monitor.metric('FeaturePSI', { model: 'm', feature: 'distance' }).dimensions).toEqual({
      Model: 'm',
      Feature: 'distance',
    });
  });

  describe('grants', () => {
    it('reads capture objects and lists capture partitions only', () => {
      expect(permissions).toContain(`s3:GetObject ${objectsUnder(defaults.ids.data, 'capture/')}`);
      expect(permissions).toContain(
        `s3:ListBucket ${JSON.stringify(arnOf(defaults.ids.data))} ${JSON.stringify({ StringLike: { 's3:prefix': ['capture/*'] } })}`,
      );
    });

    it('reads and writes drift reports', () => {
      expect(permissions).toContain(`s3:GetObject ${objectsUnder(defaults.ids.data, 'drift/')}`);
      expect(permissions).toContain(`s3:PutObject ${objectsUnder(defaults.ids.data, 'drift/')}`);
    });

    it('reads model artifacts', () => {
      expect(permissions).toContain(`s3:GetObject ${objectsUnder(defaults.ids.artifacts, 'models/')}`);
    });

    it('reads the registry', () => {
      for (const action of ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan'])
        expect(permissions).toContain(`${action} ${JSON.stringify(arnOf(defaults.ids.registry))}`);
    });

    it('gets and puts alert states', () => {
      for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem'])
        expect(permissions).toContain(`${action} ${JSON.stringify(arnOf(defaults.ids.alerts))}`);
    });

    it('starts executions of the retraining state machine', () => {
      expect(permissions).toContain(`states:StartExecution ${JSON.stringify(RETRAINING_ARN)}`);
    });

    it('allows nothing else', () => {
      const actions = [...new Set(permissions.map((p) => p.split(' ')[0]))].sort();
      expect(actions).toEqual([
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:Scan',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
        'states:StartExecution',
      ]);
      expect(permissions.filter((p) => p.startsWith('s3:'))).toHaveLength(5);
      expect(permissions.filter((p) => p.startsWith('dynamodb:'))).toHaveLength(5);
    });

    it('starts nothing without a retraining state machine', () => {
      const without = synth({ withRetraining: false });
      expect(permissionsOf(without).some((p) => p.startsWith('states:'))).toBe(false);
      const variables = without.template.toJSON().Resources[without.ids.fn].Properties.Environment.Variables;
      expect(variables).not.toHaveProperty('RETRAINING_STATE_MACHINE_ARN');
    });
  });

  it('fails on a window length that does not divide a day', () => {
    expect(() => synth({ windowLength: Duration.minutes(7) })).toThrow(
      'windowLength must be whole minutes dividing a day or whole days (up to 7), got 7 minutes',
    );
  });

  it('fails on K below 1 and on invalid thresholds, naming them', () => {
    expect(() => synth({ consecutiveWindows: 0 })).toThrow(
      'consecutiveWindows must be an integer ≥ 1, got 0',
    );
    expect(() => synth({ thresholds: { 'flight-delay': { minRows: -1 } } })).toThrow(
      /^invalid drift thresholds: flight-delay\.minRows: /,
    );
  });
});
