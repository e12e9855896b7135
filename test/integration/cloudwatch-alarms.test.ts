// Local CloudWatch end to end, on a stack synthesized by CDK with alarms (test/fixtures/templates/
// alarms-app): requests through the local API make the service and embedded metrics, the template's
// alarms go OK → ALARM with CloudWatch's reason, the page lands in the topic's file, and
// DescribeAlarms (SDK and `mlops alarms`) reports the states.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricStatisticsCommand,
} from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Platform, startPlatform } from '../../local/platform.ts';
import type { PublishedMessage } from '../../local/sns/local-topics.ts';

const fixture = fileURLToPath(new URL('../fixtures/templates/alarms', import.meta.url));
const bin = fileURLToPath(new URL('../../bin/mlops.js', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'mlops-alarms-'));
const lines: string[] = [];
let platform: Platform;
let cloudwatch: CloudWatchClient;

beforeAll(async () => {
  platform = await startPlatform({ cdkOut: fixture, dataDir, port: 0, log: (line) => lines.push(line) });
  cloudwatch = new CloudWatchClient({
    endpoint: platform.endpoints.cloudwatch,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

afterAll(async () => {
  await platform?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const score = (body: Record<string, unknown>) =>
  fetch(`${platform.url}score`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('local CloudWatch alarms', () => {
  it('evaluates the alarms the template declares and explains the one it cannot', () => {
    expect(Object.values(platform.stacks[0]?.alarms ?? {}).sort()).toEqual([
      'fixture-5xx-rate',
      'fixture-latency-p99',
      'fixture-scored-volume',
      'fixture-scorer-errors',
    ]);
    expect(platform.report.notEmulated).toEqual([
      expect.stringMatching(
        /\(AWS::CloudWatch::Alarm, anomaly detection \(GreaterThanUpperThreshold\) is not evaluated locally\)$/,
      ),
    ]);
    expect(platform.report.noLocalMeaning).toContainEqual(
      expect.stringMatching(/dashboards are not drawn locally/),
    );
  });

  it('starts alarms that treat missing data as fine in OK', async () => {
    await platform.cloudwatch.waitForAlarmState('fixture-5xx-rate', 'OK', 5000);
    expect(platform.cloudwatch.alarm('fixture-scored-volume')?.state).toBe('INSUFFICIENT_DATA');
  });

  it('goes OK → ALARM when the 5xx rate breaches, logs why and pages the topic', async () => {
    // The alarms look at one-minute periods: the requests and the checks after them (a few
    // seconds) stay inside one minute, so no period boundary splits what they count.
    const leftInMinute = 60_000 - (Date.now() % 60_000);
    if (leftInMinute < 15_000) await new Promise((ok) => setTimeout(ok, leftInMinute + 50));
    for (let i = 0; i < 4; i++) expect((await score({})).status).toBe(200);
    expect((await score({ status: 503 })).status).toBe(503);
    for (let i = 0; i < 2; i++) expect((await score({ crash: true })).status).toBe(502);

    const rate = await platform.cloudwatch.waitForAlarmState('fixture-5xx-rate', 'ALARM', 10_000);
    expect(rate.reason).toMatch(
      /^Threshold Crossed: 1 out of the last 1 datapoint \[\d+\.\d+ \(.*\)\] was greater than the threshold \(10\.0\)/,
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^\[alarm\] fixture-5xx-rate: OK → ALARM: Threshold Crossed/),
    );
    await platform.cloudwatch.waitForAlarmState('fixture-scorer-errors', 'ALARM', 10_000);
    // Embedded-metric lines reach the store after the invocations answer.
    await platform.cloudwatch.waitForAlarmState('fixture-scored-volume', 'ALARM', 10_000);
    expect(platform.cloudwatch.alarm('fixture-latency-p99')?.state).toBe('OK');

    const topic =
      Object.values(platform.stacks[0]?.topics ?? {})[0]
        ?.split(':')
        .pop() ?? '';
    const pages = readFileSync(platform.sns.messageFile(topic), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as PublishedMessage);
    const page = pages.find((p) => p.Subject === 'ALARM: "fixture-5xx-rate" in US East (N. Virginia)');
    expect(page).toBeDefined();
    expect(JSON.parse(page?.Message ?? '{}')).toMatchObject({
      AlarmName: 'fixture-5xx-rate',
      AlarmDescription: 'More than 10% of scoring requests fail',
      NewStateValue: 'ALARM',
      OldStateValue: 'OK',
      NewStateReason: rate.reason,
      Trigger: {
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 10,
        ComparisonOperator: 'GreaterThanThreshold',
        Metrics: expect.arrayContaining([
          expect.objectContaining({ Expression: 'IF(requests > 0, 100 * errors / requests, 0)' }),
        ]),
      },
    });
    expect(pages.some((p) => p.Subject?.startsWith('ALARM: "fixture-scorer-errors"'))).toBe(true);
  });

  it('answers DescribeAlarms and GetMetricStatistics through the SDK', async () => {
    const described = await cloudwatch.send(new DescribeAlarmsCommand({ StateValue: 'ALARM' }));
    expect(described.MetricAlarms?.map((a) => a.AlarmName).sort()).toEqual([
      'fixture-5xx-rate',
      'fixture-scored-volume',
      'fixture-scorer-errors',
    ]);
    const errors = described.MetricAlarms?.find((a) => a.AlarmName === 'fixture-scorer-errors');
    expect(errors).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Statistic: 'Sum',
      Threshold: 1,
    });
    expect(errors?.StateReason).toMatch(/\[2\.0 /);

    const now = Date.now();
    const count = await cloudwatch.send(
      new GetMetricStatisticsCommand({
        Namespace: 'AWS/ApiGateway',
        MetricName: 'Count',
        Dimensions: [{ Name: 'ApiName', Value: 'fixture-scoring' }],
        StartTime: new Date(now - 5 * 60_000),
        EndTime: new Date(now + 60_000),
        Period: 300,
        Statistics: ['SampleCount'],
      }),
    );
    expect(count.Datapoints?.reduce((n, d) => n + (d.SampleCount ?? 0), 0)).toBe(7);
  });

  it('lists the alarms with `mlops alarms`', async () => {
    const stateFile = join(dataDir, 'local.json');
    writeFileSync(stateFile, JSON.stringify(platform.describe()));
    const run = (...args: string[]) =>
      promisify(execFile)(process.execPath, [bin, 'alarms', ...args], {
        env: { ...process.env, MLOPS_STATE_FILE: stateFile },
      });
    const { stdout } = await run();
    const [header, ...rows] = stdout.trim().split('\n');
    expect(header).toMatch(/^alarm\s+state\s+since\s+reason$/);
    expect(rows[0]).toMatch(
      /^fixture-5xx-rate\s+ALARM\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\d+ s ago\)\s+Threshold Crossed/,
    );
    expect(stdout).toMatch(/fixture-latency-p99\s+OK/);
    expect(stdout).toContain('4 alarms, 3 in ALARM');
    const json = JSON.parse((await run('--state', 'ok', '--json')).stdout) as Array<{
      name: string;
      state: string;
    }>;
    expect(json.map((a) => [a.name, a.state])).toEqual([['fixture-latency-p99', 'OK']]);
    await expect(run('--state', 'RED')).rejects.toMatchObject({
      stderr: expect.stringContaining('--state must be one of ALARM, OK, INSUFFICIENT_DATA'),
    });
  });
});
