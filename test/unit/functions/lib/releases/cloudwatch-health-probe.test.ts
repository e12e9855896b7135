// The CloudWatch adapter of HealthProbe with the SDK mocked: alarm states, and champion and
// challenger from one GetMetricData over the release window.
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  CloudWatchHealthProbe,
  coveringPeriod,
} from '../../../../../functions/lib/releases/cloudwatch-health-probe.ts';

const cloudwatch = mockClient(CloudWatchClient);
beforeEach(() => {
  cloudwatch.reset();
});

describe('alarms', () => {
  it('reads metric alarms by name, and asks for composite alarms only for the names left', async () => {
    const since = new Date('2026-11-27T08:00:00Z');
    cloudwatch.on(DescribeAlarmsCommand, { AlarmTypes: ['MetricAlarm'] }).resolves({
      MetricAlarms: [
        {
          AlarmName: 'S-PredictErrors',
          StateValue: 'ALARM',
          StateReason: 'Threshold Crossed',
          StateUpdatedTimestamp: since,
        },
      ],
    });
    cloudwatch.on(DescribeAlarmsCommand, { AlarmTypes: ['CompositeAlarm'] }).resolves({
      CompositeAlarms: [{ AlarmName: 'S-Composite', StateValue: 'OK' }],
    });

    expect(
      await new CloudWatchHealthProbe(new CloudWatchClient({})).alarms(['S-PredictErrors', 'S-Composite']),
    ).toEqual([
      { name: 'S-PredictErrors', state: 'ALARM', reason: 'Threshold Crossed', since: since.toISOString() },
      { name: 'S-Composite', state: 'OK' },
    ]);
    expect(cloudwatch.commandCalls(DescribeAlarmsCommand).map((c) => c.args[0].input)).toEqual([
      { AlarmNames: ['S-PredictErrors', 'S-Composite'], AlarmTypes: ['MetricAlarm'], NextToken: undefined },
      { AlarmNames: ['S-Composite'], AlarmTypes: ['CompositeAlarm'], NextToken: undefined },
    ]);
  });

  it('makes one call when every name is a metric alarm', async () => {
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: 'S-A', StateValue: 'OK' }] });
    await new CloudWatchHealthProbe(new CloudWatchClient({})).alarms(['S-A']);
    expect(cloudwatch.commandCalls(DescribeAlarmsCommand)).toHaveLength(1);
  });
});

describe('versionStats', () => {
  it('queries both versions by ExecutedVersion and FunctionVersion over one period, summing what comes back', async () => {
    const values: Record<string, number[]> = {
      championInvocations: [100, 120],
      championErrors: [1, 0],
      championRequests: [90, 110],
      championServerErrors: [0, 1],
      championLatencyP99: [30, 45],
      championLatencySamples: [90, 110],
      championScoreSum: [18, 22],
      championScoreSamples: [90, 110],
      challengerInvocations: [5, 7],
      challengerErrors: [5, 7],
      challengerRequests: [],
      challengerServerErrors: [],
      challengerLatencyP99: [],
      challengerLatencySamples: [],
      challengerScoreSum: [],
      challengerScoreSamples: [],
    };
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: Object.entries(values).map(([Id, Values]) => ({ Id, Values })),
    });

    const stats = await new CloudWatchHealthProbe(new CloudWatchClient({})).versionStats({
      functionName: 'predict',
      alias: 'live',
      model: 'flight-delay',
      champion: '4',
      challenger: '5',
      start: new Date('2026-11-27T08:00:30Z'),
      end: new Date('2026-11-27T08:02:10Z'),
    });

    expect(stats).toEqual({
      champion: {
        version: '4',
        invocations: 220,
        functionErrors: 1,
        requests: 200,
        serverErrors: 1,
        latencyP99Ms: 45,
        latencySamples: 200,
        meanScore: 0.2,
        scoreSamples: 200,
      },
      challenger: {
        version: '5',
        invocations: 12,
        functionErrors: 12,
        requests: 0,
        serverErrors: 0,
        latencySamples: 0,
        scoreSamples: 0,
      },
    });
    const input = cloudwatch.commandCalls(GetMetricDataCommand)[0]?.args[0].input;
    // 08:00:30–08:02:10 fits in one epoch-aligned 3-minute period (08:00–08:03).
    expect(input?.StartTime).toEqual(new Date('2026-11-27T08:00:00Z'));
    expect(input?.EndTime).toEqual(new Date('2026-11-27T08:03:00Z'));
    const query = (id: string) => input?.MetricDataQueries?.find((q) => q.Id === id)?.MetricStat;
    expect(query('challengerErrors')).toEqual({
      Metric: {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [
          { Name: 'FunctionName', Value: 'predict' },
          { Name: 'Resource', Value: 'predict:live' },
          { Name: 'ExecutedVersion', Value: '5' },
        ],
      },
      Period: 180,
      Stat: 'Sum',
    });
    expect(query('championLatencyP99')).toEqual({
      Metric: {
        Namespace: 'MLOps',
        MetricName: 'PredictionLatency',
        Dimensions: [
          { Name: 'Model', Value: 'flight-delay' },
          { Name: 'FunctionVersion', Value: '4' },
        ],
      },
      Period: 180,
      Stat: 'p99',
    });
  });
});

describe('coveringPeriod', () => {
  it('finds one epoch-aligned period holding the whole window', () => {
    const cases: Array<[string, string]> = [
      ['2026-11-27T08:00:05Z', '2026-11-27T08:00:50Z'],
      ['2026-11-27T08:00:50Z', '2026-11-27T08:01:10Z'],
      ['2026-11-27T07:59:59Z', '2026-11-27T09:17:00Z'],
    ];
    for (const [from, to] of cases) {
      const w = coveringPeriod(new Date(from), new Date(to));
      expect(w.periodSeconds % 60).toBe(0);
      expect(w.start.getTime() % (w.periodSeconds * 1000)).toBe(0);
      expect(w.end.getTime() - w.start.getTime()).toBe(w.periodSeconds * 1000);
      expect(w.start.getTime()).toBeLessThanOrEqual(Date.parse(from));
      expect(w.end.getTime()).toBeGreaterThan(Date.parse(to));
    }
    expect(
      coveringPeriod(new Date('2026-11-27T08:00:05Z'), new Date('2026-11-27T08:00:50Z')).periodSeconds,
    ).toBe(60);
  });
});
