// The drift-check Lambda handler as deployed, with S3, DynamoDB and Step Functions mocked at the
// SDK: scheduled events through the real adapters (registry scan, capture listing and streaming,
// conditional alert writes, EMF on stdout, StartExecution), and clear errors for bad input.
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DriftCheckSummary } from '../../../../functions/drift-check/core.ts';
import { InvalidRequest } from '../../../../functions/lib/errors.ts';
import { artifactKeys, capturePartitionPrefix } from '../../../../functions/lib/storage/s3-layout.ts';
import { captureRecords, referenceProfile, traffic } from './fakes.ts';

type Handler = typeof import('../../../../functions/drift-check/handler.ts').handler;

const MODEL = 'flight-delay';
const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:TestStack-Retraining';
const ENV = {
  DATA_BUCKET: 'data',
  ARTIFACTS_BUCKET: 'artifacts',
  REGISTRY_TABLE: 'registry',
  DRIFT_STATE_TABLE: 'drift-state',
  DRIFT_WINDOW_MINUTES: '60',
  DRIFT_CONSECUTIVE_WINDOWS: '2',
  DRIFT_THRESHOLDS: JSON.stringify({ '*': { minRows: 500 } }),
  RETRAINING_STATE_MACHINE_ARN: MACHINE,
  AWS_REGION: 'eu-west-1',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

const s3 = mockClient(S3Client);
const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);

/** A "Scheduled Event" as EventBridge delivers it, for fire time `time`. */
const scheduledEvent = (time: string) => ({
  version: '0',
  id: '7bf73129-1428-4cd3-a780-95db273d1602',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time,
  region: 'eu-west-1',
  resources: ['arn:aws:events:eu-west-1:123456789012:rule/TestStack-DriftMonitorSchedule'],
  detail: {},
});

let handler: Handler;
let stdout: string[];
let alertItem: Record<string, unknown> | undefined;

const bodyOf = (bytes: Uint8Array | string) =>
  ({ transformToByteArray: async () => Buffer.from(bytes) }) as unknown as GetObjectCommandOutput['Body'];

/** One gzip capture object of `n` rows of the model in the hour starting at `hour`. */
function storeCaptures(hour: Date, seed: number, shift?: { distance: number }) {
  const end = new Date(hour.getTime() + 3_600_000);
  const records = captureRecords(MODEL, 3, traffic(2_000, seed, shift), hour, end);
  const prefix = capturePartitionPrefix(MODEL, hour);
  const key = `${prefix}flight-delay-capture-1-2026-11-27-00-00-00-abc.gz`;
  s3.on(ListObjectsV2Command, { Bucket: 'data', Prefix: prefix }).resolves({ Contents: [{ Key: key }] });
  s3.on(GetObjectCommand, { Bucket: 'data', Key: key }).callsFake(() => ({
    Body: Readable.from([gzipSync(records.map((r) => JSON.stringify(r)).join('\n'))]),
  }));
}

beforeAll(async () => {
  for (const [name, value] of Object.entries(ENV)) vi.stubEnv(name, value);
  ({ handler } = await import('../../../../functions/drift-check/handler.ts'));
});

afterAll(() => {
  vi.unstubAllEnvs();
});

beforeEach(() => {
  s3.reset();
  ddb.reset();
  sfn.reset();
  alertItem = undefined;
  // Registry: one model with Production version 3.
  ddb.on(ScanCommand, { TableName: 'registry' }).resolves({
    Items: [
      {
        pk: `MODEL#${MODEL}`,
        sk: 'HEAD',
        model: MODEL,
        latestVersion: 3,
        productionVersion: 3,
        stageRevision: 2,
      },
    ],
  });
  // The version item is not stored here: the check reads the raw inputs as they are.
  ddb.on(GetCommand).resolves({});
  // Alert state: a table that honours the conditional put.
  ddb.on(GetCommand, { TableName: 'drift-state' }).callsFake(() => (alertItem ? { Item: alertItem } : {}));
  ddb.on(PutCommand, { TableName: 'drift-state' }).callsFake((input: { Item: Record<string, unknown> }) => {
    alertItem = input.Item;
    return {};
  });
  s3.on(ListObjectsV2Command).resolves({});
  s3.on(GetObjectCommand).rejects(
    new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }),
  );
  s3.on(GetObjectCommand, { Bucket: 'artifacts', Key: artifactKeys(MODEL, 3).profile }).resolves({
    Body: bodyOf(JSON.stringify(referenceProfile())),
  });
  s3.on(PutObjectCommand).resolves({});
  sfn.on(StartExecutionCommand).callsFake((input: { stateMachineArn: string; name: string }) => ({
    executionArn: `${input.stateMachineArn.replace(':stateMachine:', ':execution:')}:${input.name}`,
    startDate: new Date(),
  }));
  stdout = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(
      ...String(chunk)
        .split('\n')
        .filter((line) => line.length > 0),
    );
    return true;
  });
});

afterEach(() => {
  vi.mocked(process.stdout.write).mockRestore();
});

const emfLines = () =>
  stdout.map((line) => JSON.parse(line) as Record<string, any>).filter((line) => line._aws !== undefined);

describe('drift-check handler', () => {
  it('checks the previous hour on a schedule: report, metrics, alert state, and one retraining once drift persists', async () => {
    storeCaptures(new Date('2026-11-27T06:00:00Z'), 1_001, { distance: 1 });
    storeCaptures(new Date('2026-11-27T07:00:00Z'), 1_002, { distance: 1 });

    const first = (await handler(scheduledEvent('2026-11-27T07:00:00Z'))) as DriftCheckSummary;

    expect(first.window).toEqual({ start: '2026-11-27T06:00:00.000Z', end: '2026-11-27T07:00:00.000Z' });
    expect(first.models[0]).toMatchObject({
      model: MODEL,
      status: 'significant',
      rows: 2_000,
      alert: { state: 'pending', consecutive: 1, outcome: 'applied' },
      report: {
        json: 's3://data/drift/model=flight-delay/dt=2026-11-27/window=20261127T070000Z/report.json',
        html: 's3://data/drift/model=flight-delay/dt=2026-11-27/window=20261127T070000Z/report.html',
      },
    });
    const firstPut = ddb.commandCalls(PutCommand)[0]?.args[0].input;
    expect(firstPut).toMatchObject({
      TableName: 'drift-state',
      ConditionExpression: 'attribute_not_exists(#model)',
      Item: { model: MODEL, state: 'pending', consecutive: 1, revision: 1, reference: 'v3' },
    });
    const puts = s3
      .commandCalls(PutObjectCommand)
      .map((c) => [c.args[0].input.Key, c.args[0].input.ContentType]);
    expect(puts).toEqual([
      ['drift/model=flight-delay/dt=2026-11-27/window=20261127T070000Z/report.json', 'application/json'],
      [
        'drift/model=flight-delay/dt=2026-11-27/window=20261127T070000Z/report.html',
        'text/html; charset=utf-8',
      ],
    ]);
    expect(emfLines().find((l) => l.Feature === 'distance')).toMatchObject({ Model: MODEL });
    expect(emfLines().every((l) => l._aws.Timestamp === Date.parse('2026-11-27T07:00:00Z'))).toBe(true);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);

    const second = (await handler(scheduledEvent('2026-11-27T08:00:12Z'))) as DriftCheckSummary;

    expect(second.models[0]).toMatchObject({ alert: { state: 'alarm', raised: true } });
    const secondPut = ddb.commandCalls(PutCommand)[1]?.args[0].input;
    expect(secondPut).toMatchObject({
      ConditionExpression: '#revision = :expected',
      ExpressionAttributeValues: { ':expected': 1 },
      Item: { revision: 2, state: 'alarm' },
    });
    const starts = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    expect(starts).toEqual([
      { stateMachineArn: MACHINE, name: 'flight-delay-drift-20261127T080000Z', input: expect.any(String) },
    ]);
    expect(JSON.parse(starts[0]?.input ?? '')).toMatchObject({
      model: MODEL,
      trigger: 'drift',
      window: { start: '2026-11-27T07:00:00.000Z', end: '2026-11-27T08:00:00.000Z' },
    });
    expect(second.models[0]?.retraining).toEqual({
      status: 'started',
      executionName: 'flight-delay-drift-20261127T080000Z',
      executionArn:
        'arn:aws:states:eu-west-1:123456789012:execution:TestStack-Retraining:flight-delay-drift-20261127T080000Z',
    });
    expect(
      emfLines().find((l) => 'DriftAlarm' in l && l._aws.Timestamp === Date.parse('2026-11-27T08:00:00Z')),
    ).toMatchObject({ DriftAlarm: 1 });
  });

  it('fails with InvalidRequest naming the field of a bad direct invocation', async () => {
    const err = await handler({
      model: MODEL,
      window: { start: 'last tuesday', end: '2026-11-27T07:00:00Z' },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidRequest);
    expect((err as InvalidRequest).message).toMatch(/^invalid drift check request: window\.start: /);
    expect((err as InvalidRequest).issues.map((i) => i.path)).toEqual(['window.start']);
    expect(ddb.commandCalls(ScanCommand)).toHaveLength(0);
  });

  it('fails with InvalidRequest on an EventBridge event that is not a schedule', async () => {
    const event = { ...scheduledEvent('2026-11-27T07:00:00Z'), 'detail-type': 'Object Created' };
    await expect(handler(event)).rejects.toThrow(
      /^invalid EventBridge event \(expected a "Scheduled Event"\): detail-type/,
    );
  });

  it('fails at cold start naming a bad DRIFT_THRESHOLDS entry', async () => {
    vi.resetModules();
    vi.stubEnv('DRIFT_THRESHOLDS', JSON.stringify({ [MODEL]: { minRows: 0 } }));
    try {
      await expect(import('../../../../functions/drift-check/handler.ts')).rejects.toThrow(
        /^invalid function configuration: DRIFT_THRESHOLDS\.flight-delay\.minRows: /,
      );
    } finally {
      vi.stubEnv('DRIFT_THRESHOLDS', ENV.DRIFT_THRESHOLDS);
    }
  });
});
