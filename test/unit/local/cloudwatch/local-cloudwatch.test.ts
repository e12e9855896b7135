// Local CloudWatch as the platform uses it: each state change logged with its reason, kept in the
// history and published as CloudWatch's SNS notification; states kept across a restart; metrics
// from a real local function (AWS/Lambda per invocation, EMF lines it writes) reach the alarms.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { alarmFromProperties } from '../../../../local/cloudwatch/alarm-definitions.ts';
import { LocalCloudWatch } from '../../../../local/cloudwatch/local-cloudwatch.ts';
import { InvalidMetricData } from '../../../../local/cloudwatch/metric-data.ts';
import { FunctionError } from '../../../../local/lambda/function-runtime.ts';
import { LambdaService } from '../../../../local/lambda/lambda-service.ts';

const root = mkdtempSync(join(tmpdir(), 'mlops-cloudwatch-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(root, `d${dirs++}`);

const T0 = Date.UTC(2026, 10, 2, 10, 0, 0);
const PAGE = 'arn:aws:sns:us-east-1:000000000000:page';

const driftAlarm = (overrides: Record<string, unknown> = {}) =>
  alarmFromProperties(
    'DriftAlarm',
    {
      AlarmName: 'drift',
      AlarmDescription: 'Significant drift for two windows',
      Namespace: 'MLOps',
      MetricName: 'DriftAlarm',
      Dimensions: [{ Name: 'Model', Value: 'flight-delay' }],
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [PAGE],
      OKActions: [PAGE],
      ...overrides,
    },
    'S-DriftAlarm',
  );

function cloudWatch(dataDir = freshDir(), now = () => T0 + 30_000) {
  const lines: string[] = [];
  const published: Array<{ topic: string; message: Record<string, unknown>; subject: string }> = [];
  const cw = new LocalCloudWatch({
    dataDir,
    log: (line) => lines.push(line),
    publish: (topic, message, subject) => published.push({ topic, message: JSON.parse(message), subject }),
    now,
    evaluationDelayMs: 5,
  });
  return { cw, lines, published, dataDir };
}

describe('LocalCloudWatch', () => {
  it('logs, records and publishes each state change with its reason', () => {
    const { cw, lines, published, dataDir } = cloudWatch();
    cw.addAlarm(driftAlarm());
    expect(cw.alarm('drift')?.state).toBe('INSUFFICIENT_DATA');
    cw.evaluateNow();
    cw.putMetric({
      namespace: 'MLOps',
      metricName: 'DriftAlarm',
      dimensions: { Model: 'flight-delay' },
      value: 1,
    });
    const [status] = cw.evaluateNow();

    expect(status?.state).toBe('ALARM');
    expect(lines).toEqual([
      expect.stringMatching(
        /^\[alarm\] drift: INSUFFICIENT_DATA → OK: Threshold Crossed: no datapoints were received/,
      ),
      '[alarm] drift: OK → ALARM: Threshold Crossed: 1 out of the last 1 datapoint [1.0 (02/11/26 10:00:00)] was ' +
        'greater than or equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition).',
    ]);
    expect(published.map((p) => [p.topic, p.subject])).toEqual([
      [PAGE, 'OK: "drift" in US East (N. Virginia)'],
      [PAGE, 'ALARM: "drift" in US East (N. Virginia)'],
    ]);
    expect(published[1]?.message).toMatchObject({
      AlarmName: 'drift',
      AlarmDescription: 'Significant drift for two windows',
      AWSAccountId: '000000000000',
      NewStateValue: 'ALARM',
      OldStateValue: 'OK',
      NewStateReason: status?.reason,
      StateChangeTime: '2026-11-02T10:00:30.000+0000',
      Region: 'US East (N. Virginia)',
      AlarmArn: 'arn:aws:cloudwatch:us-east-1:000000000000:alarm:drift',
      AlarmActions: [PAGE],
      Trigger: {
        MetricName: 'DriftAlarm',
        Namespace: 'MLOps',
        StatisticType: 'Statistic',
        Statistic: 'MAXIMUM',
        Dimensions: [{ value: 'flight-delay', name: 'Model' }],
        Period: 60,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        TreatMissingData: 'notBreaching',
      },
    });
    const history = cw.alarmHistory({ alarmName: 'drift', oldestFirst: true });
    expect(history.map((h) => [h.HistoryItemType, h.HistorySummary])).toEqual([
      ['StateUpdate', 'Alarm updated from INSUFFICIENT_DATA to OK'],
      ['Action', `Successfully executed action ${PAGE}`],
      ['StateUpdate', 'Alarm updated from OK to ALARM'],
      ['Action', `Successfully executed action ${PAGE}`],
    ]);
    const file = readFileSync(join(dataDir, 'cloudwatch', 'alarm-history.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(file).toHaveLength(4);
  });

  it('runs no action when actions are disabled, and records a failed publish', () => {
    const quiet = cloudWatch();
    quiet.cw.addAlarm(driftAlarm({ ActionsEnabled: false }));
    quiet.cw.putMetric({
      namespace: 'MLOps',
      metricName: 'DriftAlarm',
      dimensions: { Model: 'flight-delay' },
      value: 2,
    });
    quiet.cw.evaluateNow();
    expect(quiet.cw.alarm('drift')?.state).toBe('ALARM');
    expect(quiet.published).toEqual([]);

    const lines: string[] = [];
    const failing = new LocalCloudWatch({
      dataDir: freshDir(),
      log: (line) => lines.push(line),
      publish: () => {
        throw new Error('Topic does not exist: page');
      },
      now: () => T0,
    });
    failing.addAlarm(driftAlarm());
    failing.evaluateNow();
    expect(lines).toContain(
      `[alarm] drift: Failed to execute action ${PAGE}. Received error: "Topic does not exist: page"`,
    );
    expect(failing.alarmHistory({ type: 'Action' })[0]?.HistorySummary).toMatch(/^Failed to execute action/);
  });

  it('keeps alarm states and history across a restart', () => {
    const first = cloudWatch();
    first.cw.addAlarm(driftAlarm());
    first.cw.putMetric({
      namespace: 'MLOps',
      metricName: 'DriftAlarm',
      dimensions: { Model: 'flight-delay' },
      value: 1,
    });
    first.cw.evaluateNow();
    const before = first.cw.alarm('drift');
    first.cw.close();

    const second = cloudWatch(first.dataDir);
    second.cw.addAlarm(driftAlarm());
    expect(second.cw.alarm('drift')).toMatchObject({ state: 'ALARM', reason: before?.reason });
    expect(second.cw.alarmHistory({ alarmName: 'drift', type: 'StateUpdate' })).toHaveLength(1);
  });

  it('waits for a state, and says where the alarm stands when it times out', async () => {
    const { cw } = cloudWatch(freshDir(), Date.now);
    cw.addAlarm(driftAlarm());
    cw.start();
    try {
      const waiting = cw.waitForAlarmState('drift', 'ALARM', 5000);
      cw.putMetric({
        namespace: 'MLOps',
        metricName: 'DriftAlarm',
        dimensions: { Model: 'flight-delay' },
        value: 3,
      });
      await expect(waiting).resolves.toMatchObject({ name: 'drift', state: 'ALARM' });
      await expect(cw.waitForAlarmState('drift', 'INSUFFICIENT_DATA', 50)).rejects.toThrow(
        /alarm drift is still ALARM after 50 ms \(wanted INSUFFICIENT_DATA\): Threshold Crossed/,
      );
      await expect(cw.waitForAlarmState('nope', 'OK')).rejects.toThrow(
        /no alarm named nope \(alarms: drift\)/,
      );
    } finally {
      cw.close();
    }
  });

  it('says once, not at every evaluation, why an alarm cannot be evaluated', () => {
    const { cw, lines } = cloudWatch();
    cw.addAlarm(
      alarmFromProperties(
        'Everything',
        {
          AlarmName: 'everything',
          ComparisonOperator: 'GreaterThanThreshold',
          EvaluationPeriods: 1,
          Threshold: 1,
          Metrics: [
            {
              Id: 'a',
              ReturnData: false,
              MetricStat: { Metric: { Namespace: 'N', MetricName: 'A' }, Period: 60, Stat: 'Sum' },
            },
            { Id: 'all', Expression: 'METRICS()' },
          ],
        },
        'S-Everything',
      ),
    );
    for (let i = 0; i < 3; i++) cw.evaluateNow();
    expect(lines).toEqual([
      '[alarm] everything: cannot be evaluated: the expression gives several time series; an alarm needs one',
    ]);
    expect(cw.alarm('everything')?.state).toBe('INSUFFICIENT_DATA');
  });

  it('logs why an embedded-metric line gave no metric, once per function and reason', () => {
    const { cw, lines } = cloudWatch();
    const stale = JSON.stringify({
      Rows: 1,
      _aws: {
        Timestamp: T0 - 3 * 24 * 3600_000,
        CloudWatchMetrics: [{ Namespace: 'N', Dimensions: [], Metrics: [{ Name: 'Rows' }] }],
      },
    });
    cw.ingestEmf(['{"_aws": "x"}', '{"_aws": "x"}', stale], 'score');
    cw.ingestEmf(['{"_aws": "x"}'], 'drift');
    expect(lines).toEqual([
      '[cloudwatch] score: an embedded-metric log line gave no metric: no _aws metadata object',
      '[cloudwatch] score: an embedded-metric log line gave no metric: metric Rows: _aws.Timestamp is outside the retention window',
      '[cloudwatch] drift: an embedded-metric log line gave no metric: no _aws metadata object',
    ]);
    expect(cw.store.list()).toEqual([]);
  });

  it('refuses datapoints CloudWatch would refuse', () => {
    const { cw } = cloudWatch();
    const put = (datum: Record<string, unknown>) => () =>
      cw.putMetric({ namespace: 'N', metricName: 'M', ...datum } as Parameters<typeof cw.putMetric>[0]);
    expect(put({ value: Number.NaN })).toThrow(InvalidMetricData);
    expect(put({ value: 1, values: [1] })).toThrow(/exactly one of Value, Values and StatisticValues/);
    expect(put({ values: [1, 2], counts: [1] })).toThrow(/Counts must be as long as Values/);
    expect(put({ value: 1, unit: 'Parsecs' })).toThrow(/unknown unit Parsecs/);
    expect(put({ value: 1, timestamp: T0 - 2 * 24 * 3600_000 })).toThrow(
      /outside the local retention window/,
    );
    expect(put({ statisticValues: { sampleCount: 2, sum: 3, minimum: 5, maximum: 1 } })).toThrow(
      /Minimum exceeds Maximum/,
    );
  });

  it('counts a real function’s invocations, errors and throttles, and reads the EMF lines it writes', async () => {
    const dir = join(root, 'bundle');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'index.js'),
      `exports.handler = async (event) => {
        process.stdout.write(JSON.stringify({ Model: 'm', Scored: event.n,
          _aws: { Timestamp: Date.now(), CloudWatchMetrics: [{ Namespace: 'MLOps', Dimensions: [['Model']], Metrics: [{ Name: 'Scored', Unit: 'Count' }] }] } }) + '\\n');
        if (event.fail) throw new Error('boom');
        return { ok: true };
      };`,
    );
    const lambda = new LambdaService(() => 0);
    lambda.addFunction({
      logicalId: 'Fn',
      functionName: 'fn',
      bundleFile: join(dir, 'index.js'),
      handlerName: 'handler',
      environment: {},
      memorySize: 128,
      timeoutSeconds: 10,
      logDir: dir,
    });
    lambda.addVersion('fn', '1');
    lambda.setAlias('live', { functionName: 'fn', version: '1', additionalVersions: [] });
    const { cw } = cloudWatch(freshDir(), Date.now);
    cw.attachTo(lambda);
    try {
      await lambda.invoke('fn:live', { n: 3 });
      await lambda.invoke('fn', { n: 4 });
      await expect(lambda.invoke('fn:live', { n: 5, fail: true })).rejects.toBeInstanceOf(FunctionError);
      lambda.injectFault('fn', { kind: 'throttle' }, { times: 1 });
      await expect(lambda.invoke('fn:live', { n: 6 })).rejects.toThrow('Rate Exceeded.');

      const sum = (metric: string, dimensions: Record<string, string>) =>
        cw.store
          .find('AWS/Lambda', metric, dimensions)
          ?.periods({ start: 0, periodMs: Date.now() + 60_000, count: 1 }, false)[0]?.sum;
      expect(sum('Invocations', { FunctionName: 'fn' })).toBe(3);
      expect(sum('Errors', { FunctionName: 'fn' })).toBe(1);
      expect(sum('Throttles', { FunctionName: 'fn' })).toBe(1);
      expect(sum('Invocations', {})).toBe(3);
      expect(sum('Invocations', { FunctionName: 'fn', Resource: 'fn:live' })).toBe(2);
      expect(sum('Errors', { FunctionName: 'fn', Resource: 'fn:live', ExecutedVersion: '1' })).toBe(1);
      expect(cw.store.find('AWS/Lambda', 'Duration', { FunctionName: 'fn' })?.length).toBe(3);
      // Log lines reach the listener after the invocation answers.
      await vi.waitFor(() => {
        const scored = cw.store.find('MLOps', 'Scored', { Model: 'm' });
        expect(scored?.periods({ start: 0, periodMs: Date.now() + 60_000, count: 1 }, false)[0]?.sum).toBe(
          12,
        );
      });
    } finally {
      cw.close();
      await lambda.close();
    }
  });
});
