// SLO alarms and the dashboard: what pages, at which threshold, and where the page goes.
import { Duration } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthStack } from './synth-stack.ts';

let template: Template;

beforeAll(() => {
  ({ template } = synthStack({ latencySlo: Duration.millis(200), page: { emails: ['oncall@example.com'] } }));
});

const pagesTheAlarmsTopic = {
  AlarmActions: [{ Ref: Match.stringLikeRegexp('AlarmsTopic') }],
  OKActions: [{ Ref: Match.stringLikeRegexp('AlarmsTopic') }],
  TreatMissingData: 'notBreaching',
};

describe('SLO alarms', () => {
  it('pages when the API p99 latency is above the SLO in 3 of 5 minutes', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'TestStack-ApiLatencyP99',
      Namespace: 'AWS/ApiGateway',
      MetricName: 'Latency',
      ExtendedStatistic: 'p99',
      Period: 60,
      Threshold: 200,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
      ...pagesTheAlarmsTopic,
    });
  });

  it('pages on the 5xx rate of periods with enough requests, not on a count', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'TestStack-ApiServerErrorRate',
      Threshold: 1,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(requests >= 20, 100 * errors / requests, 0)', ReturnData: true }),
        Match.objectLike({
          Id: 'requests',
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'Count' }) }),
        }),
        Match.objectLike({
          Id: 'errors',
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: '5XXError' }) }),
        }),
      ]),
      ...pagesTheAlarmsTopic,
    });
  });

  it.each(['Errors', 'Throttles'])(
    'pages on the %s of the served path: the predict function’s live alias',
    (metric) => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `TestStack-Predict${metric}`,
        Namespace: 'AWS/Lambda',
        MetricName: metric,
        Dimensions: Match.arrayWith([
          { Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^Predict') } },
          Match.objectLike({ Name: 'Resource' }),
        ]),
        ...pagesTheAlarmsTopic,
      });
    },
  );

  it('pages on a failed training execution', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'TestStack-TrainingFailures',
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsFailed',
      Threshold: 1,
      ...pagesTheAlarmsTopic,
    });
  });

  it('pages on the drift check’s alarm metric, over all models, once per window', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'TestStack-ModelDrift',
      Namespace: 'MLOps',
      MetricName: 'DriftAlarm',
      Statistic: 'Maximum',
      Period: 3600,
      Threshold: 1,
      EvaluationPeriods: 1,
      ...pagesTheAlarmsTopic,
    });
  });

  it('subscribes the on-call address given in the props to the alarms topic', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: { Ref: Match.stringLikeRegexp('AlarmsTopic') },
    });
  });

  it('fails on a capture sample rate outside 0–1', () => {
    expect(() => synthStack({ captureSampleRate: 2 })).toThrow(
      /captureSampleRate must be between 0 and 1 \(got 2\)/,
    );
  });
});

describe('dashboard', () => {
  it('shows the SLO, traffic, errors and drift per model', () => {
    const dashboards = template.findResources('AWS::CloudWatch::Dashboard');
    expect(Object.keys(dashboards)).toHaveLength(1);
    const body = JSON.stringify(Object.values(dashboards)[0]?.Properties?.DashboardBody);
    for (const text of [
      'API p99 latency against the SLO',
      'SLO 200 ms',
      'Predictions per model',
      'Feature drift (PSI) per model and feature',
      'SEARCH(\'{MLOps,Model,Feature} MetricName=\\\\\\"FeaturePSI\\\\\\"\'',
      'Alarms',
    ])
      expect(body).toContain(text);
  });
});
