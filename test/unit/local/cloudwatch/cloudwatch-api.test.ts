// The CloudWatch API on the gateway port, driven by the real @aws-sdk/client-cloudwatch: every
// response must parse (AWS JSON 1.0, epoch-second timestamps), errors must surface as the SDK's
// exception classes.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CloudWatchClient,
  CloudWatchServiceException,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  GetMetricStatisticsCommand,
  InvalidParameterCombinationException,
  InvalidParameterValueException,
  ListDashboardsCommand,
  ListMetricsCommand,
  PutMetricDataCommand,
  ResourceNotFound,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alarmFromProperties } from '../../../../local/cloudwatch/alarm-definitions.ts';
import { LocalCloudWatch } from '../../../../local/cloudwatch/local-cloudwatch.ts';
import { createGatewayListener } from '../../../../local/gateway/server.ts';
import { LambdaService } from '../../../../local/lambda/lambda-service.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'mlops-cw-api-'));
const published: string[] = [];
const cloudwatch = new LocalCloudWatch({
  dataDir,
  log: () => undefined,
  publish: (_arn, _m, subject) => published.push(subject),
});
const latencyAlarm = (name: string, threshold: number) =>
  alarmFromProperties(
    name,
    {
      AlarmName: name,
      Namespace: 'MLOps',
      MetricName: 'PredictionLatency',
      Dimensions: [{ Name: 'Model', Value: 'flight-delay' }],
      ExtendedStatistic: 'p99',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: threshold,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: ['arn:aws:sns:us-east-1:000000000000:page'],
    },
    name,
  );
cloudwatch.addAlarm(latencyAlarm('latency-slo', 150));
cloudwatch.addAlarm(latencyAlarm('latency-strict', 5));
cloudwatch.addAlarm(
  alarmFromProperties(
    'ErrorRate',
    {
      AlarmName: 'error-rate',
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      Threshold: 0.5,
      Metrics: [
        {
          Id: 'e',
          ReturnData: false,
          MetricStat: { Metric: { Namespace: 'MLOps', MetricName: 'Errors' }, Period: 60, Stat: 'Sum' },
        },
        { Id: 'r', Expression: 'FILL(e, 0)' },
      ],
    },
    'error-rate',
  ),
);
let server: Server;
let client: CloudWatchClient;

beforeAll(async () => {
  server = createServer(
    createGatewayListener({
      apis: [],
      apiKeys: new Map(),
      lambda: new LambdaService(),
      cloudWatch: cloudwatch,
    }),
  );
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  client = new CloudWatchClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
});

afterAll(async () => {
  cloudwatch.close();
  await new Promise<void>((ok) => server.close(() => ok()));
  rmSync(dataDir, { recursive: true, force: true });
});

describe('CloudWatch API', () => {
  it('takes PutMetricData and answers GetMetricStatistics, GetMetricData and ListMetrics', async () => {
    const now = new Date();
    await client.send(
      new PutMetricDataCommand({
        Namespace: 'MLOps',
        MetricData: [
          {
            MetricName: 'PredictionLatency',
            Dimensions: [{ Name: 'Model', Value: 'flight-delay' }],
            Values: Array.from({ length: 100 }, (_, i) => i + 1),
            Unit: 'Milliseconds',
            Timestamp: now,
          },
          { MetricName: 'Errors', Value: 2, Timestamp: now },
        ],
      }),
    );
    const window = {
      StartTime: new Date(now.getTime() - 120_000),
      EndTime: new Date(now.getTime() + 60_000),
    };
    const stats = await client.send(
      new GetMetricStatisticsCommand({
        Namespace: 'MLOps',
        MetricName: 'PredictionLatency',
        Dimensions: [{ Name: 'Model', Value: 'flight-delay' }],
        Period: 60,
        Statistics: ['Sum', 'SampleCount', 'Maximum'],
        ExtendedStatistics: ['p99'],
        ...window,
      }),
    );
    expect(stats.Datapoints).toHaveLength(1);
    expect(stats.Datapoints?.[0]).toMatchObject({
      Sum: 5050,
      SampleCount: 100,
      Maximum: 100,
      ExtendedStatistics: { p99: 99 },
      Unit: 'Milliseconds',
    });
    expect(stats.Datapoints?.[0]?.Timestamp).toBeInstanceOf(Date);
    expect(stats.Datapoints?.[0]?.Timestamp?.getTime()).toBe(Math.floor(now.getTime() / 60_000) * 60_000);

    const data = await client.send(
      new GetMetricDataCommand({
        MetricDataQueries: [
          {
            Id: 'errors',
            MetricStat: { Metric: { Namespace: 'MLOps', MetricName: 'Errors' }, Period: 60, Stat: 'Sum' },
            ReturnData: false,
          },
          { Id: 'doubled', Expression: 'errors * 2', Label: 'twice the errors' },
        ],
        ...window,
      }),
    );
    expect(data.MetricDataResults).toEqual([
      {
        Id: 'doubled',
        Label: 'twice the errors',
        Timestamps: [stats.Datapoints?.[0]?.Timestamp],
        Values: [4],
        StatusCode: 'Complete',
      },
    ]);

    const listed = await client.send(
      new ListMetricsCommand({ Namespace: 'MLOps', Dimensions: [{ Name: 'Model' }] }),
    );
    expect(listed.Metrics).toEqual([
      {
        Namespace: 'MLOps',
        MetricName: 'PredictionLatency',
        Dimensions: [{ Name: 'Model', Value: 'flight-delay' }],
      },
    ]);
  });

  it('describes alarms with their state, filtered and paged', async () => {
    cloudwatch.evaluateNow();
    const all = await client.send(new DescribeAlarmsCommand({}));
    expect(all.MetricAlarms?.map((a) => [a.AlarmName, a.StateValue])).toEqual([
      ['error-rate', 'ALARM'],
      ['latency-slo', 'OK'],
      ['latency-strict', 'ALARM'],
    ]);
    const strict = all.MetricAlarms?.[2];
    expect(strict).toMatchObject({
      AlarmArn: 'arn:aws:cloudwatch:us-east-1:000000000000:alarm:latency-strict',
      ExtendedStatistic: 'p99',
      Threshold: 5,
      Period: 60,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      Dimensions: [{ Name: 'Model', Value: 'flight-delay' }],
      ActionsEnabled: true,
      AlarmActions: ['arn:aws:sns:us-east-1:000000000000:page'],
    });
    expect(strict?.StateReason).toMatch(/^Threshold Crossed: 1 out of the last 1 datapoint \[99\.0 /);
    expect(strict?.StateUpdatedTimestamp).toBeInstanceOf(Date);
    expect(Math.abs((strict?.StateUpdatedTimestamp?.getTime() ?? 0) - Date.now())).toBeLessThan(10_000);
    expect(JSON.parse(strict?.StateReasonData ?? '{}')).toMatchObject({ statistic: 'p99', threshold: 5 });
    expect(all.MetricAlarms?.[0]?.Metrics?.map((m) => m.Id)).toEqual(['e', 'r']);

    const alarming = await client.send(
      new DescribeAlarmsCommand({ StateValue: 'ALARM', AlarmNamePrefix: 'latency-' }),
    );
    expect(alarming.MetricAlarms?.map((a) => a.AlarmName)).toEqual(['latency-strict']);
    const named = await client.send(new DescribeAlarmsCommand({ AlarmNames: ['latency-slo', 'nope'] }));
    expect(named.MetricAlarms?.map((a) => a.AlarmName)).toEqual(['latency-slo']);

    const first = await client.send(new DescribeAlarmsCommand({ MaxRecords: 2 }));
    expect(first.MetricAlarms).toHaveLength(2);
    const second = await client.send(
      new DescribeAlarmsCommand({ MaxRecords: 2, NextToken: first.NextToken }),
    );
    expect(second.MetricAlarms?.map((a) => a.AlarmName)).toEqual(['latency-strict']);
    expect(second.NextToken).toBeUndefined();
    const composite = await client.send(new DescribeAlarmsCommand({ AlarmTypes: ['CompositeAlarm'] }));
    expect(composite.MetricAlarms).toEqual([]);
  });

  it('sets an alarm state by hand and lists the history', async () => {
    await client.send(
      new SetAlarmStateCommand({
        AlarmName: 'latency-slo',
        StateValue: 'ALARM',
        StateReason: 'testing the page',
      }),
    );
    expect(cloudwatch.alarm('latency-slo')).toMatchObject({ state: 'ALARM', reason: 'testing the page' });
    expect(published).toContain('ALARM: "latency-slo" in US East (N. Virginia)');
    const history = await client.send(
      new DescribeAlarmHistoryCommand({ AlarmName: 'latency-slo', HistoryItemType: 'StateUpdate' }),
    );
    expect(history.AlarmHistoryItems?.map((h) => h.HistorySummary)).toEqual([
      'Alarm updated from OK to ALARM',
      'Alarm updated from INSUFFICIENT_DATA to OK',
    ]);
    expect(history.AlarmHistoryItems?.[0]?.Timestamp).toBeInstanceOf(Date);
    expect(JSON.parse(history.AlarmHistoryItems?.[0]?.HistoryData ?? '{}')).toMatchObject({
      newState: { stateValue: 'ALARM', stateReason: 'testing the page' },
    });
    await expect(
      client.send(new SetAlarmStateCommand({ AlarmName: 'nope', StateValue: 'OK', StateReason: 'x' })),
    ).rejects.toBeInstanceOf(ResourceNotFound);
  });

  it('takes a gzipped PutMetricData (bodies over 10 KB)', async () => {
    await client.send(
      new PutMetricDataCommand({
        Namespace: 'Bulk',
        MetricData: Array.from({ length: 200 }, (_, i) => ({
          MetricName: 'Rows',
          Dimensions: [{ Name: 'Part', Value: `part-${i}` }],
          Value: i,
        })),
      }),
    );
    expect((await client.send(new ListMetricsCommand({ Namespace: 'Bulk' }))).Metrics).toHaveLength(200);
  });

  it('answers bad requests with the SDK exception classes', async () => {
    await expect(
      client.send(new DescribeAlarmsCommand({ AlarmNames: ['a'], AlarmNamePrefix: 'a' })),
    ).rejects.toBeInstanceOf(InvalidParameterCombinationException);
    await expect(
      client.send(
        new PutMetricDataCommand({
          Namespace: 'AWS/Lambda',
          MetricData: [{ MetricName: 'Errors', Value: 1 }],
        }),
      ),
    ).rejects.toBeInstanceOf(InvalidParameterValueException);
    await expect(
      client.send(
        new PutMetricDataCommand({
          Namespace: 'N',
          MetricData: [{ MetricName: 'M', Value: 1, Unit: 'Count', Values: [1] }],
        }),
      ),
    ).rejects.toThrow(/exactly one of Value, Values and StatisticValues/);
    await expect(
      client.send(
        new GetMetricDataCommand({
          MetricDataQueries: [{ Id: 'x', Expression: 'ANOMALY_DETECTION_BAND(x, 2)' }],
          StartTime: new Date(Date.now() - 60_000),
          EndTime: new Date(),
        }),
      ),
    ).rejects.toThrow(/ANOMALY_DETECTION_BAND is not evaluated locally/);
    const unknown = await client.send(new ListDashboardsCommand({})).catch((err: unknown) => err);
    expect(unknown).toBeInstanceOf(CloudWatchServiceException);
    expect(unknown).toMatchObject({ name: 'UnknownOperationException', $metadata: { httpStatusCode: 400 } });
  });

  it('refuses unsigned requests', async () => {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: {
        'x-amz-target': 'GraniteServiceVersion20100801.DescribeAlarms',
        'content-type': 'application/x-amz-json-1.0',
      },
      body: '{}',
    });
    expect(res.status).toBe(403);
  });
});
