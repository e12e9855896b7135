// FinishShadow's CloudWatch adapter: which series it sums (the challenger's handled failures and its
// crashes, by its function version), over whole minutes, across pages.
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { cloudWatchChallengerErrors } from '../../../../functions/finish-shadow/adapters.ts';

const cloudwatch = mockClient(CloudWatchClient);

beforeEach(() => {
  cloudwatch.reset();
});

describe('cloudWatchChallengerErrors', () => {
  it("sums ShadowErrors of the challenger's version and AWS/Lambda Errors of the shadow alias, all pages", async () => {
    cloudwatch
      .on(GetMetricDataCommand)
      .resolvesOnce({
        MetricDataResults: [
          { Id: 'handled', Values: [1, 2] },
          { Id: 'crashed', Values: [0] },
        ],
        NextToken: 'page-2',
      })
      .resolvesOnce({ MetricDataResults: [{ Id: 'crashed', Values: [4] }] });
    const count = cloudWatchChallengerErrors(new CloudWatchClient({ region: 'eu-west-1' }), {
      functionName: 'stack-Predict',
      shadowAlias: 'shadow',
    });
    const errors = await count({
      model: 'flight-delay',
      functionVersion: '7',
      start: new Date('2026-11-27T08:30:20.000Z'),
      end: new Date('2026-11-27T09:35:10.000Z'),
    });
    expect(errors).toBe(7);
    const calls = cloudwatch.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input);
    expect(calls[1]?.NextToken).toBe('page-2');
    expect(calls[0]).toEqual({
      StartTime: new Date('2026-11-27T08:30:00.000Z'),
      EndTime: new Date('2026-11-27T09:36:00.000Z'),
      MetricDataQueries: [
        {
          Id: 'handled',
          ReturnData: true,
          MetricStat: {
            Metric: {
              Namespace: 'MLOps',
              MetricName: 'ShadowErrors',
              Dimensions: [
                { Name: 'Model', Value: 'flight-delay' },
                { Name: 'FunctionVersion', Value: '7' },
              ],
            },
            Period: 60,
            Stat: 'Sum',
          },
        },
        {
          Id: 'crashed',
          ReturnData: true,
          MetricStat: {
            Metric: {
              Namespace: 'AWS/Lambda',
              MetricName: 'Errors',
              Dimensions: [
                { Name: 'FunctionName', Value: 'stack-Predict' },
                { Name: 'Resource', Value: 'stack-Predict:shadow' },
                { Name: 'ExecutedVersion', Value: '7' },
              ],
            },
            Period: 60,
            Stat: 'Sum',
          },
        },
      ],
    });
  });
});
