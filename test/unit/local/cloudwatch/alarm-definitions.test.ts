// Reading a stack's metric alarms from a template shaped as CDK synthesizes them: intrinsics
// resolved to the local names, math alarms checked, and alarms the local runtime cannot evaluate
// reported by logical id with the reason.
import { describe, expect, it } from 'vitest';
import { readAlarms } from '../../../../local/cloudwatch/alarm-definitions.ts';
import { stackResolution } from '../../../../local/stack-resolution.ts';
import { stateMachineArn } from '../../../../local/stepfunctions/arns.ts';
import type { CfnTemplate } from '../../../../local/template/cfn-template.ts';
import type { AssemblyStack } from '../../../../local/template/cloud-assembly.ts';

const alarm = (properties: Record<string, unknown>) => ({
  Type: 'AWS::CloudWatch::Alarm',
  Properties: properties,
});
const base = { EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' };
const metric = { Namespace: 'AWS/Lambda', MetricName: 'Errors', Period: 60, Statistic: 'Sum' };

function stack(): AssemblyStack {
  const template: CfnTemplate = {
    Resources: {
      Page: { Type: 'AWS::SNS::Topic' },
      Scoring: { Type: 'AWS::StepFunctions::StateMachine', Properties: { DefinitionString: '{}' } },
      ScoringFailed: alarm({
        ...base,
        AlarmActions: [{ Ref: 'Page' }],
        AlarmDescription: 'A batch-scoring execution failed',
        Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: 'Scoring' } }],
        MetricName: 'ExecutionsFailed',
        Namespace: 'AWS/States',
        Period: 300,
        Statistic: 'Sum',
        TreatMissingData: 'notBreaching',
      }),
      ErrorRate: alarm({
        ...base,
        AlarmName: 'predict-error-rate',
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
        Threshold: 0.05,
        ComparisonOperator: 'GreaterThanThreshold',
        OKActions: [{ Ref: 'Page' }],
        Metrics: [
          {
            Id: 'e',
            ReturnData: false,
            MetricStat: {
              Metric: { Namespace: 'AWS/Lambda', MetricName: 'Errors' },
              Period: 60,
              Stat: 'Sum',
            },
          },
          {
            Id: 'n',
            ReturnData: false,
            MetricStat: {
              Metric: { Namespace: 'AWS/Lambda', MetricName: 'Invocations' },
              Period: 60,
              Stat: 'Sum',
            },
          },
          { Id: 'rate', Expression: 'e / n', Label: 'error rate' },
        ],
      }),
      Anomaly: alarm({ ...base, ComparisonOperator: 'GreaterThanUpperThreshold', ThresholdMetricId: 'ad' }),
      Stddev: alarm({
        ...base,
        Metrics: [
          {
            Id: 'm',
            ReturnData: false,
            MetricStat: { Metric: { Namespace: 'N', MetricName: 'X' }, Period: 60, Stat: 'Sum' },
          },
          { Id: 'x', Expression: 'STDDEV(m)' },
        ],
      }),
      TrimmedMean: alarm({ ...base, ...metric, Statistic: undefined, ExtendedStatistic: 'tm99' }),
      TwoReturned: alarm({
        ...base,
        Metrics: [
          { Id: 'a', MetricStat: { Metric: { Namespace: 'N', MetricName: 'X' }, Period: 60, Stat: 'Sum' } },
          { Id: 'b', Expression: 'a * 2' },
        ],
      }),
      TooMany: alarm({ ...base, ...metric, DatapointsToAlarm: 2 }),
      StopsInstance: alarm({ ...base, ...metric, AlarmActions: ['arn:aws:automate:us-east-1:ec2:stop'] }),
    },
  };
  return {
    stackName: 'S',
    artifactId: 'S',
    displayName: 'S',
    templateFile: 'S.template.json',
    template,
    assets: new Map(),
    dockerImages: [],
    environment: {},
  };
}

describe('readAlarms', () => {
  const s = stack();
  const reading = readAlarms(s, stackResolution(s, 'http://127.0.0.1:9'));
  const byId = (id: string) => reading.alarms.find((a) => a.logicalId === id);

  it('resolves a single-metric alarm to the local state machine and topic', () => {
    const scoring = byId('ScoringFailed');
    expect(scoring).toMatchObject({
      name: 'S-ScoringFailed',
      arn: 'arn:aws:cloudwatch:us-east-1:000000000000:alarm:S-ScoringFailed',
      description: 'A batch-scoring execution failed',
      actionsEnabled: true,
      alarmActions: ['arn:aws:sns:us-east-1:000000000000:S-Page'],
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      periodSeconds: 300,
      treatMissingData: 'notBreaching',
      metric: {
        namespace: 'AWS/States',
        metricName: 'ExecutionsFailed',
        statistic: 'Sum',
        dimensions: [{ name: 'StateMachineArn', value: stateMachineArn('S-Scoring') }],
      },
    });
  });

  it('reads a metric math alarm with its returned expression and shared period', () => {
    const rate = byId('ErrorRate');
    expect(rate).toMatchObject({
      name: 'predict-error-rate',
      returnId: 'rate',
      periodSeconds: 60,
      datapointsToAlarm: 2,
    });
    expect(rate?.queries.map((q) => [q.id, q.kind, q.returnData])).toEqual([
      ['e', 'metric', false],
      ['n', 'metric', false],
      ['rate', 'expression', true],
    ]);
    expect(rate?.treatMissingData).toBe('missing');
  });

  it('reports what it cannot evaluate by logical id, with the reason', () => {
    const reasons = Object.fromEntries(reading.notEmulated.map((n) => [n.logicalId, n.reason]));
    expect(Object.keys(reasons).sort()).toEqual([
      'Anomaly',
      'Stddev',
      'TooMany',
      'TrimmedMean',
      'TwoReturned',
    ]);
    expect(reasons.Anomaly).toMatch(
      /anomaly detection \(GreaterThanUpperThreshold\) is not evaluated locally/,
    );
    expect(reasons.Stddev).toMatch(/STDDEV is not evaluated locally/);
    expect(reasons.TrimmedMean).toMatch(/statistic "tm99" is not computed locally/);
    expect(reasons.TwoReturned).toMatch(/exactly one query of Metrics must have ReturnData true \(found 2\)/);
    expect(reasons.TooMany).toMatch(/DatapointsToAlarm \(2\) exceeds EvaluationPeriods \(1\)/);
  });

  it('warns about actions that are not SNS topics', () => {
    expect(byId('StopsInstance')).toBeDefined();
    expect(reading.warnings).toEqual([
      'StopsInstance: alarm action arn:aws:automate:us-east-1:ec2:stop is not run locally (only SNS topic actions are)',
    ]);
  });
});
