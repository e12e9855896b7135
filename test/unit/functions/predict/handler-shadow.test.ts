// The predict Lambda handler as deployed with shadows on (SHADOW_ALIAS set), DynamoDB, S3 and
// Lambda mocked at the SDK: a real artifact scores, the shadow item is read from the registry
// table, and the copy goes to `<function>:shadow` as an asynchronous invocation; the same handler
// invoked with that copy scores it as the challenger and writes shadow capture records.
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, type GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { CAPTURE_RECORD_KIND } from '../../../../functions/lib/capture/capture-record.ts';
import { SHADOW_CONFIG_KEY } from '../../../../functions/lib/releases/shadow-config.ts';
import type { ShadowCopy } from '../../../../functions/lib/releases/shadow-copy.ts';
import { loadFlights } from '../../../support/flights-dataset.ts';
import { type TrainedFlightModel, trainFlightModel } from '../../../support/trained-model.ts';

type Handler = typeof import('../../../../functions/predict/handler.ts').handler;

const TABLE = 'registry-table';
const BUCKET = 'artifacts-bucket';
const FUNCTION = 'mlops-Predict';
const MODEL = 'flight-delay';

const ddb = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);
const lambda = mockClient(LambdaClient);

let handler: Handler;
let trained: TrainedFlightModel;
let stdoutLines: string[] = [];

const instances = (): Record<string, unknown>[] =>
  loadFlights()
    .instances.slice(10_000, 10_003)
    .map((i) => ({ ...i }));

const apiEvent = (requestId: string) =>
  ({
    resource: '/models/{model}/predict',
    path: `/models/${MODEL}/predict`,
    httpMethod: 'POST',
    headers: { 'content-type': 'application/json' },
    pathParameters: { model: MODEL },
    body: JSON.stringify({ instances: instances() }),
    isBase64Encoded: false,
    requestContext: { requestId },
  }) as unknown as APIGatewayProxyEvent;

/** Registry items for versions 1 (Production) and 2 (Staging) of the model, both the fixture artifact. */
function registerVersions(): void {
  ddb.on(GetCommand, { TableName: TABLE, Key: { pk: `MODEL#${MODEL}`, sk: 'HEAD' } }).resolves({
    Item: {
      pk: `MODEL#${MODEL}`,
      sk: 'HEAD',
      model: MODEL,
      latestVersion: 2,
      productionVersion: 1,
      stageRevision: 1,
    },
  });
  for (const version of [1, 2])
    ddb
      .on(GetCommand, {
        TableName: TABLE,
        Key: { pk: `MODEL#${MODEL}`, sk: `VERSION#${String(version).padStart(10, '0')}` },
      })
      .resolves({
        Item: {
          model: MODEL,
          version,
          stage: version === 1 ? 'Production' : 'Staging',
          artifactUri: `s3://${BUCKET}/models/${MODEL}/${version}/model.onnx`,
          artifactSha256: trained.sha256,
          featureSet: 'flights-v1',
          trainingRunId: `run-${version}`,
          datasetUri: 's3://data/x.json',
          datasetSha256: 'e'.repeat(64),
          params: {},
          metrics: {},
          createdAt: '2026-01-01T00:00:00.000Z',
          createdBy: 'test',
        },
      });
  s3.on(GetObjectCommand).resolves({
    Body: {
      transformToByteArray: async () => Uint8Array.from(trained.bytes),
    } as unknown as GetObjectCommandOutput['Body'],
  });
}

function activeShadow(until = '2999-01-01T00:00:00.000Z'): void {
  ddb.on(GetCommand, { TableName: TABLE, Key: SHADOW_CONFIG_KEY }).resolves({
    Item: {
      ...SHADOW_CONFIG_KEY,
      model: MODEL,
      challengerVersion: 2,
      championVersion: 1,
      functionVersion: '5',
      releaseId: 'release-1',
      startedAt: '2026-01-01T00:00:00.000Z',
      until,
      state: 'active',
    },
  });
}

const parsedLines = () =>
  stdoutLines.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });

/** Invocations sent to the mocked Lambda, with their decoded payloads. */
const invocations = () =>
  lambda.commandCalls(InvokeCommand).map((call) => {
    const { Payload, ...rest } = call.args[0].input;
    return { ...rest, payload: JSON.parse(new TextDecoder().decode(Payload as Uint8Array)) as ShadowCopy };
  });

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

beforeAll(async () => {
  vi.stubEnv('REGISTRY_TABLE', TABLE);
  vi.stubEnv('REGISTRY_CACHE_TTL_MS', '0');
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.stubEnv('SHADOW_ALIAS', 'shadow');
  vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', FUNCTION);
  vi.stubEnv('AWS_LAMBDA_FUNCTION_VERSION', '4');
  trained = trainFlightModel();
  ({ handler } = await import('../../../../functions/predict/handler.ts'));
});

afterAll(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

beforeEach(() => {
  ddb.reset();
  s3.reset();
  lambda.reset();
  ddb.on(GetCommand).resolves({});
  registerVersions();
  stdoutLines = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdoutLines.push(
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

describe('predict handler with shadows', () => {
  it('sends a copy of each answered request to <function>:shadow as an asynchronous invocation', async () => {
    activeShadow();
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    const response = await handler(apiEvent('req-1'), { awsRequestId: 'lambda-1' });
    await settle();
    expect(response.statusCode).toBe(200);
    expect(invocations()).toEqual([
      {
        FunctionName: FUNCTION,
        Qualifier: 'shadow',
        InvocationType: 'Event',
        payload: {
          kind: 'shadow-copy',
          requestId: 'req-1',
          model: MODEL,
          challengerVersion: 2,
          releaseId: 'release-1',
          instances: instances(),
          sentAt: expect.any(String),
        },
      },
    ]);
  });

  it('sends nothing without an active shadow', async () => {
    activeShadow('2020-01-01T00:00:00.000Z');
    const response = await handler(apiEvent('req-2'), { awsRequestId: 'lambda-2' });
    await settle();
    expect(response.statusCode).toBe(200);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it('answers 200 with the champion when Lambda refuses the copy, and counts ShadowErrors', async () => {
    activeShadow();
    lambda
      .on(InvokeCommand)
      .rejects(Object.assign(new Error('Rate Exceeded.'), { name: 'TooManyRequestsException' }));
    const response = await handler(apiEvent('req-3'), { awsRequestId: 'lambda-3' });
    await settle();
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ model: MODEL, version: 1, requestId: 'req-3' });
    expect(parsedLines().some((line) => line.ShadowErrors === 1)).toBe(true);
  });

  it('scores a shadow copy with the version it serves, and refuses one meant for another version', async () => {
    // This function version is not pinned: it serves Production (v1), so a copy for v2 is refused.
    const copy: ShadowCopy = {
      kind: 'shadow-copy',
      requestId: 'req-4',
      model: MODEL,
      challengerVersion: 1,
      releaseId: 'release-1',
      instances: instances(),
      sentAt: new Date().toISOString(),
    };
    const scored = await handler(copy, { awsRequestId: 'shadow-1' });
    expect(scored).toMatchObject({ status: 'scored', model: MODEL, version: 1, rows: 3 });
    const records = parsedLines().filter((line) => line.kind === CAPTURE_RECORD_KIND);
    expect(records.map((r) => [r.role, r.shadowOf, r.index])).toEqual([
      ['shadow', 'req-4', 0],
      ['shadow', 'req-4', 1],
      ['shadow', 'req-4', 2],
    ]);
    const refused = await handler({ ...copy, challengerVersion: 2 }, { awsRequestId: 'shadow-2' });
    expect(refused).toMatchObject({
      status: 'failed',
      reason: 'function version 4 serves flight-delay v1, the shadow expects v2',
    });
    // A copy never sends another copy.
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });
});
