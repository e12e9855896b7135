// The train Lambda handler as deployed, with S3 and DynamoDB mocked at the SDK. The table mock
// keeps items by key and applies the registry's SET/ADD updates, so the real registry adapter
// allocates, registers and reads back a version as it would against DynamoDB.
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidRequest } from '../../../../functions/lib/errors.ts';
import { flightRows, sha256Hex } from '../../../support/trained-model.ts';

type Handler = typeof import('../../../../functions/train/handler.ts').handler;

const TABLE = 'registry-table';
const BUCKET = 'artifacts-bucket';
const DATASET_URI = 's3://data-bucket/datasets/flights.json';

const ddb = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);

let handler: Handler;
let table: Map<string, Record<string, unknown>>;
const dataset = JSON.stringify(flightRows(1_200));

const itemKey = (key: Record<string, unknown> | undefined) => `${String(key?.pk)}|${String(key?.sk)}`;

/** Apply `SET a = :x, b = :y` and `ADD n :one` clauses, the forms the registry adapter writes. */
function applyUpdate(
  item: Record<string, unknown>,
  expression: string,
  values: Record<string, unknown> = {},
): Record<string, unknown> {
  const updated = { ...item };
  for (const [, action, body] of expression.matchAll(/(SET|ADD)\s+(.*?)(?=\s+(?:SET|ADD)\s|$)/g)) {
    for (const clause of (body ?? '').split(',')) {
      const [name, value] = clause.split(action === 'SET' ? '=' : ' ').map((part) => part.trim()) as [
        string,
        string,
      ];
      updated[name] = action === 'SET' ? values[value] : Number(updated[name] ?? 0) + Number(values[value]);
    }
  }
  return updated;
}

/** A GetObject body: the SDK's stream mixin reduced to the one method the fetcher calls. */
const objectBody = (text: string) =>
  ({
    transformToByteArray: async () => new TextEncoder().encode(text),
  }) as unknown as GetObjectCommandOutput['Body'];

const validEvent = () => ({ model: 'flight-delay', datasetUri: DATASET_URI, featureSet: 'flights-v1' });

async function invalidRequestFrom(event: unknown): Promise<InvalidRequest> {
  const err = await handler(event).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof InvalidRequest)) throw new Error(`expected InvalidRequest, got ${String(err)}`);
  return err;
}

beforeAll(async () => {
  vi.stubEnv('REGISTRY_TABLE', TABLE);
  vi.stubEnv('ARTIFACTS_BUCKET', BUCKET);
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = await import('../../../../functions/train/handler.ts'));
});

afterAll(() => {
  vi.unstubAllEnvs();
});

beforeEach(() => {
  ddb.reset();
  s3.reset();
  table = new Map();
  ddb.on(GetCommand).callsFake(({ Key }) => ({ Item: table.get(itemKey(Key)) }));
  ddb.on(PutCommand).callsFake(({ Item }) => {
    table.set(itemKey(Item), Item);
    return {};
  });
  ddb.on(UpdateCommand).callsFake(({ Key, UpdateExpression, ExpressionAttributeValues }) => {
    const item = applyUpdate(
      table.get(itemKey(Key)) ?? { ...Key },
      UpdateExpression,
      ExpressionAttributeValues,
    );
    table.set(itemKey(Key), item);
    return { Attributes: item };
  });
  s3.on(GetObjectCommand, { Bucket: 'data-bucket', Key: 'datasets/flights.json' }).resolves({
    Body: objectBody(dataset),
  });
  s3.on(PutObjectCommand).resolves({});
});

describe('train handler', () => {
  it('writes the three artifacts to the artifacts bucket at the version keys', async () => {
    // Act
    await handler(validEvent());

    // Assess
    const puts = s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input);
    expect(puts.map((put) => [put.Bucket, put.Key, put.ContentType])).toEqual([
      [BUCKET, 'models/flight-delay/1/model.onnx', 'application/octet-stream'],
      [BUCKET, 'models/flight-delay/1/metrics.json', 'application/json'],
      [BUCKET, 'models/flight-delay/1/card.md', 'text/markdown'],
    ]);
  });

  it('registers the version in the table with the lineage of what it wrote and read', async () => {
    // Act
    const result = await handler(validEvent());

    // Assess
    const modelPut = s3.commandCalls(PutObjectCommand, { Key: 'models/flight-delay/1/model.onnx' })[0];
    const modelBytes = modelPut?.args[0].input.Body as Uint8Array;
    const stored = table.get('MODEL#flight-delay|VERSION#0000000001');
    expect(stored).toMatchObject({
      model: 'flight-delay',
      version: 1,
      stage: 'Staging',
      artifactUri: `s3://${BUCKET}/models/flight-delay/1/model.onnx`,
      artifactSha256: sha256Hex(modelBytes),
      datasetUri: DATASET_URI,
      datasetSha256: sha256Hex(dataset),
      trainingRunId: result.runId,
      featureSet: 'flights-v1',
      createdBy: 'train-function',
    });
    expect(table.get(`MODEL#flight-delay|RUN#${result.runId}`)).toMatchObject({ version: 1 });
    expect(table.get('MODEL#flight-delay|HEAD')).toMatchObject({ latestVersion: 1 });
    expect(result.version).toMatchObject({ model: 'flight-delay', version: 1, stage: 'Staging' });
    expect(result.rows).toEqual({ used: 1_200, rejected: 0 });
  });

  it('reads the dataset from the bucket and key of datasetUri', async () => {
    // Act
    await handler(validEvent());

    // Assess
    expect(s3.commandCalls(GetObjectCommand).map((call) => call.args[0].input)).toEqual([
      { Bucket: 'data-bucket', Key: 'datasets/flights.json' },
    ]);
  });

  it('registers one version when the same event is retried', async () => {
    // Prepare
    const first = await handler(validEvent());

    // Act
    const retry = await handler(validEvent());

    // Assess
    expect(retry.runId).toBe(first.runId);
    expect(retry.version.version).toBe(1);
    expect([...table.keys()].filter((key) => key.includes('|VERSION#'))).toEqual([
      'MODEL#flight-delay|VERSION#0000000001',
    ]);
  });

  it('promotes the version to Production when the event says promote', async () => {
    // Act
    const result = await handler({ ...validEvent(), promote: true });

    // Assess
    expect(result.version.stage).toBe('Production');
    expect(table.get('MODEL#flight-delay|HEAD')).toMatchObject({ productionVersion: 1, stageRevision: 1 });
  });

  it.each([
    ['a missing model', { datasetUri: DATASET_URI, featureSet: 'flights-v1' }, ['model']],
    ['an invalid model name', { ...validEvent(), model: 'Flight Delay' }, ['model']],
    [
      'a datasetUri that is not s3://',
      { ...validEvent(), datasetUri: 'https://example.com/d.json' },
      ['datasetUri'],
    ],
    ['an unknown field', { ...validEvent(), epochs: 3 }, ['epochs']],
    ['a non-numeric param', { ...validEvent(), params: { l2: 'strong' } }, ['params.l2']],
    [
      'several problems at once',
      { datasetUri: 'file:///d.json', featureSet: 'flights-v1', extra: true },
      ['model', 'datasetUri', 'extra'],
    ],
  ])(
    'throws InvalidRequest naming the field for %s, touching no AWS service',
    async (_case, event, paths) => {
      // Act
      const err = await invalidRequestFrom(event);

      // Assess
      expect(err.message).toBe('invalid training request');
      expect(err.issues.map((issue) => issue.path).sort()).toEqual([...paths].sort());
      expect(s3.calls()).toHaveLength(0);
      expect(ddb.calls()).toHaveLength(0);
    },
  );

  it('names an unknown field as "unknown field"', async () => {
    // Act
    const err = await invalidRequestFrom({ ...validEvent(), epochs: 3 });

    // Assess
    expect(err.issues).toEqual([{ path: 'epochs', message: 'unknown field' }]);
  });

  it('throws InvalidRequest for an event that is not an object', async () => {
    // Act
    const err = await invalidRequestFrom(null);

    // Assess
    expect(err.issues.map((issue) => issue.path)).toEqual(['(root)']);
  });

  it('fails at cold start naming ARTIFACTS_BUCKET when it is not set', async () => {
    // Prepare
    vi.resetModules();
    vi.stubEnv('ARTIFACTS_BUCKET', undefined);

    // Act
    const loading = import('../../../../functions/train/handler.ts');

    // Assess
    await expect(loading).rejects.toThrow(/invalid function configuration: ARTIFACTS_BUCKET/);
    vi.stubEnv('ARTIFACTS_BUCKET', BUCKET);
  });
});
