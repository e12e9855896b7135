// The predict Lambda handler as deployed, with DynamoDB and S3 mocked at the SDK: a real trained
// artifact goes through the real registry adapter, loader, cache and onnxruntime session.
import { Logger } from '@aws-lambda-powertools/logger';
import { GetObjectCommand, type GetObjectCommandOutput, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import * as ort from 'onnxruntime-node';
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
  type MockInstance,
  vi,
} from 'vitest';
import {
  CAPTURE_RECORD_KIND,
  CaptureRecordSchema,
} from '../../../../functions/lib/capture/capture-record.ts';
import { type FlightInstance, flights } from '../../../../functions/lib/features/flights.ts';
import { PREDICT_LIMITS } from '../../../../functions/lib/schemas/predict-request.ts';
import { loadFlights } from '../../../support/flights-dataset.ts';
import { type TrainedFlightModel, trainFlightModel } from '../../../support/trained-model.ts';

type Handler = typeof import('../../../../functions/predict/handler.ts').handler;

const TABLE = 'registry-table';
const BUCKET = 'artifacts-bucket';
/** Configured as pinned to version 2 in this file's MODEL_VERSION_PINS. */
const PINNED_MODEL = 'pinned-model';

const ddb = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);

let handler: Handler;
let trained: TrainedFlightModel;
let loggedErrors: MockInstance<Logger['error']>;
/** What the handler wrote to stdout (capture records, embedded metrics), kept out of the test output. */
let stdoutLines: string[] = [];
/** Set by a test to make stdout writes containing this text fail. */
let failWritesContaining: string | undefined;

/** A captured API Gateway REST proxy event for `POST /models/{model}/predict`. */
const CAPTURED_EVENT: APIGatewayProxyEvent = {
  resource: '/models/{model}/predict',
  path: '/models/flight-delay/predict',
  httpMethod: 'POST',
  headers: { 'content-type': 'application/json', 'x-api-key': 'k' },
  multiValueHeaders: { 'content-type': ['application/json'], 'x-api-key': ['k'] },
  queryStringParameters: null,
  multiValueQueryStringParameters: null,
  pathParameters: { model: 'flight-delay' },
  stageVariables: null,
  requestContext: {
    accountId: '123456789012',
    apiId: 'abc123',
    authorizer: null,
    protocol: 'HTTP/1.1',
    httpMethod: 'POST',
    identity: {
      accessKey: null,
      accountId: null,
      apiKey: 'k',
      apiKeyId: 'key-id',
      caller: null,
      clientCert: null,
      cognitoAuthenticationProvider: null,
      cognitoAuthenticationType: null,
      cognitoIdentityId: null,
      cognitoIdentityPoolId: null,
      principalOrgId: null,
      sourceIp: '203.0.113.7',
      user: null,
      userAgent: 'vitest',
      userArn: null,
    },
    path: '/prod/models/flight-delay/predict',
    stage: 'prod',
    requestId: 'req-0001',
    requestTimeEpoch: 1_700_000_000_000,
    resourceId: 'res1',
    resourcePath: '/models/{model}/predict',
  },
  body: null,
  isBase64Encoded: false,
};

/** The captured event for `model` with `body`, cloned so tests cannot change each other's. */
function predictEvent(model: string, body: string | null, isBase64Encoded = false): APIGatewayProxyEvent {
  const event = structuredClone(CAPTURED_EVENT);
  return { ...event, path: `/models/${model}/predict`, pathParameters: { model }, body, isBase64Encoded };
}

interface ErrorBody {
  error: {
    code: string;
    message: string;
    details?: { issues: { path: string; message: string }[] };
    requestId: string;
  };
}

interface PredictBody {
  model: string;
  version: number;
  predictions: { score: number; label: number }[];
  requestId: string;
}

async function invoke(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult & { json: unknown }> {
  const response = await handler(event, { awsRequestId: 'lambda-request-id' });
  return { ...response, json: JSON.parse(response.body) };
}

const artifactKey = (model: string, version: number) => `models/${model}/${version}/model.onnx`;

/** Registry items as DynamoDbModelRegistry stores them, served by key from the mocked table. */
function registerModel(
  model: string,
  options: { versions?: number[]; productionVersion?: number | null; sha256?: string } = {},
): void {
  const { versions = [1], sha256 = trained.sha256 } = options;
  // null: registered but never promoted, so the head item has no Production pointer.
  const productionVersion = options.productionVersion === null ? undefined : (options.productionVersion ?? 1);
  ddb.on(GetCommand, { TableName: TABLE, Key: { pk: `MODEL#${model}`, sk: 'HEAD' } }).resolves({
    Item: {
      pk: `MODEL#${model}`,
      sk: 'HEAD',
      model,
      latestVersion: Math.max(...versions),
      ...(productionVersion === undefined ? {} : { productionVersion, stageRevision: 1 }),
    },
  });
  for (const version of versions) {
    ddb
      .on(GetCommand, {
        TableName: TABLE,
        Key: { pk: `MODEL#${model}`, sk: `VERSION#${String(version).padStart(10, '0')}` },
      })
      .resolves({
        Item: {
          pk: `MODEL#${model}`,
          sk: `VERSION#${String(version).padStart(10, '0')}`,
          model,
          version,
          stage: 'Staging',
          artifactUri: `s3://${BUCKET}/${artifactKey(model, version)}`,
          artifactSha256: sha256,
          featureSet: 'flights-v1',
          trainingRunId: `run-${version}`,
          datasetUri: 's3://data/datasets/flights-20k.json',
          datasetSha256: 'e'.repeat(64),
          params: { l2: 1e-3, seed: 0 },
          metrics: { test: { auc: 0.7 } },
          createdAt: '2024-01-01T00:00:00.000Z',
          createdBy: 'test',
        },
      });
  }
}

/** A GetObject body: the SDK's stream mixin reduced to the one method the fetcher calls. */
const objectBody = (bytes: Uint8Array) =>
  ({ transformToByteArray: async () => Uint8Array.from(bytes) }) as unknown as GetObjectCommandOutput['Body'];

function storeArtifact(model: string, version: number, bytes: Uint8Array = trained.bytes): void {
  s3.on(GetObjectCommand, { Bucket: BUCKET, Key: artifactKey(model, version) }).resolves({
    Body: objectBody(bytes),
  });
}

/** Scores of a direct onnxruntime run of the artifact on `instances`, encoded with the training encoding. */
async function directScores(instances: readonly unknown[]): Promise<number[]> {
  const parsed = instances.map((instance) => flights.instanceSchema.parse(instance));
  const session = await ort.InferenceSession.create(trained.bytes);
  const features = flights.encode(parsed, trained.encoding);
  const out = await session.run({
    features: new ort.Tensor('float32', features, [parsed.length, trained.featureNames.length]),
  });
  const probabilities = out.probabilities?.data as Float32Array;
  return parsed.map((_, i) => probabilities[2 * i + 1] ?? Number.NaN);
}

/**
 * Flights the fixture model was not trained on: a late-evening one it scores above 0.5, so both
 * labels occur, plus an unseen airport pair and lower-case codes.
 */
function sampleInstances(): FlightInstance[] {
  const held = loadFlights().instances.slice(10_000, 10_006);
  return [
    ...held,
    { date: '2001/02/20 22:33', distance: 679, origin: 'SEA', destination: 'SFO' },
    { date: '2001-03-30T17:45', distance: 90, origin: 'ZZZ', destination: 'QQQ' },
    { date: '2001/02/02 06:10', distance: 300, origin: 'ord', destination: 'dtw' },
  ];
}

const validBody = (instances: readonly unknown[] = sampleInstances()) => JSON.stringify({ instances });

beforeAll(async () => {
  vi.stubEnv('REGISTRY_TABLE', TABLE);
  vi.stubEnv('REGISTRY_CACHE_TTL_MS', '0');
  vi.stubEnv('MODEL_VERSION_PINS', JSON.stringify({ [PINNED_MODEL]: 2 }));
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
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
  // Anything not registered by a test is absent, as in an empty table or bucket.
  ddb.on(GetCommand).resolves({});
  s3.on(GetObjectCommand).rejects(
    new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }),
  );
  loggedErrors?.mockRestore();
  loggedErrors = vi.spyOn(Logger.prototype, 'error');
  stdoutLines = [];
  failWritesContaining = undefined;
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    const text = String(chunk);
    if (failWritesContaining !== undefined && text.includes(failWritesContaining))
      throw new Error('EPIPE: broken pipe, write');
    stdoutLines.push(...text.split('\n').filter((line) => line.length > 0));
    return true;
  });
});

afterEach(() => {
  vi.mocked(process.stdout.write).mockRestore();
});

const parsedLines = () =>
  stdoutLines.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
const captureLines = () => parsedLines().filter((line) => line.kind === CAPTURE_RECORD_KIND);
const metricLines = () => parsedLines().filter((line) => line._aws !== undefined);

describe('predict handler', () => {
  it('returns predictions equal to a direct onnxruntime run of the same artifact', async () => {
    // Prepare
    registerModel('flight-delay');
    storeArtifact('flight-delay', 1);
    const instances = sampleInstances();

    // Act
    const response = await invoke(predictEvent('flight-delay', validBody(instances)));

    // Assess
    expect(response.statusCode).toBe(200);
    const { predictions } = response.json as PredictBody;
    const expected = await directScores(instances);
    expect(predictions).toHaveLength(instances.length);
    predictions.forEach((prediction, i) => {
      expect(prediction.score).toBeCloseTo(expected[i] ?? Number.NaN, 6);
      expect(prediction.label).toBe(prediction.score >= 0.5 ? 1 : 0);
    });
    expect(new Set(predictions.map((p) => p.label)).size).toBe(2);
  });

  it('answers with model, version, predictions and requestId, and the version in a header', async () => {
    // Prepare
    registerModel('shape-model', { versions: [1, 2, 3], productionVersion: 3 });
    storeArtifact('shape-model', 3);

    // Act
    const response = await invoke(predictEvent('shape-model', validBody(sampleInstances().slice(0, 2))));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers).toEqual({ 'content-type': 'application/json', 'x-model-version': '3' });
    expect(response.json).toEqual({
      model: 'shape-model',
      version: 3,
      predictions: [
        { score: expect.any(Number), label: expect.any(Number) },
        { score: expect.any(Number), label: expect.any(Number) },
      ],
      requestId: 'req-0001',
    });
  });

  it('uses the Lambda request id when the event has no request context', async () => {
    // Prepare
    registerModel('context-model');
    storeArtifact('context-model', 1);
    const { requestContext: _omitted, ...rest } = predictEvent('context-model', validBody());
    const event = rest as APIGatewayProxyEvent;

    // Act
    const response = await invoke(event);

    // Assess
    expect(response.statusCode).toBe(200);
    expect((response.json as PredictBody).requestId).toBe('lambda-request-id');
  });

  it('serves the version pinned by MODEL_VERSION_PINS rather than Production', async () => {
    // Prepare
    registerModel(PINNED_MODEL, { versions: [1, 2], productionVersion: 1 });
    storeArtifact(PINNED_MODEL, 2);

    // Act
    const response = await invoke(predictEvent(PINNED_MODEL, validBody()));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['x-model-version']).toBe('2');
    expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input.Key).toBe(artifactKey(PINNED_MODEL, 2));
  });

  it('accepts a base64-encoded body', async () => {
    // Prepare
    registerModel('base64-model');
    storeArtifact('base64-model', 1);
    const instances = sampleInstances().slice(0, 3);
    const encoded = Buffer.from(validBody(instances)).toString('base64');

    // Act
    const response = await invoke(predictEvent('base64-model', encoded, true));

    // Assess
    expect(response.statusCode).toBe(200);
    const scores = (response.json as PredictBody).predictions.map((p) => p.score);
    const expected = await directScores(instances);
    scores.forEach((score, i) => {
      expect(score).toBeCloseTo(expected[i] ?? Number.NaN, 6);
    });
  });

  it('loads an artifact once and reuses it for later requests', async () => {
    // Prepare
    registerModel('cached-model');
    storeArtifact('cached-model', 1);

    // Act
    const first = await invoke(predictEvent('cached-model', validBody()));
    const second = await invoke(predictEvent('cached-model', validBody()));

    // Assess
    expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
    expect(ddb.commandCalls(GetCommand).length).toBeGreaterThanOrEqual(4); // TTL 0: the registry is read each time
  });

  it('returns 404 ModelNotFound when the model is unknown', async () => {
    // Act
    const response = await invoke(predictEvent('no-such-model', validBody()));

    // Assess
    expect(response.statusCode).toBe(404);
    expect((response.json as ErrorBody).error).toEqual({
      code: 'ModelNotFound',
      message: 'no model named "no-such-model" is registered',
      requestId: 'req-0001',
    });
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it('returns 404 when the model exists but has no Production version', async () => {
    // Prepare
    registerModel('staged-model', { versions: [1], productionVersion: null });

    // Act
    const response = await invoke(predictEvent('staged-model', validBody()));

    // Assess
    expect(response.statusCode).toBe(404);
    expect((response.json as ErrorBody).error).toMatchObject({
      code: 'ModelNotFound',
      message: 'model "staged-model" has no Production version yet',
    });
  });

  it('returns 503 ModelUnavailable when the artifact cannot be read from S3', async () => {
    // Prepare
    registerModel('missing-artifact');

    // Act
    const response = await invoke(predictEvent('missing-artifact', validBody()));

    // Assess
    expect(response.statusCode).toBe(503);
    expect((response.json as ErrorBody).error).toMatchObject({
      code: 'ModelUnavailable',
      message: expect.stringMatching(
        /^artifact of missing-artifact v1 cannot be read: The specified key does not exist/,
      ),
    });
    expect(loggedErrors).not.toHaveBeenCalled();
  });

  it('returns 503 ModelUnavailable when the artifact does not match its registered sha256', async () => {
    // Prepare
    registerModel('tampered-model', { sha256: 'a'.repeat(64) });
    storeArtifact('tampered-model', 1);

    // Act
    const response = await invoke(predictEvent('tampered-model', validBody()));

    // Assess
    expect(response.statusCode).toBe(503);
    expect((response.json as ErrorBody).error).toMatchObject({
      code: 'ModelUnavailable',
      message: `artifact of tampered-model v1 does not match its registered sha256 (got ${trained.sha256.slice(0, 12)}…)`,
    });
  });

  it('retries a failed model load on the next request', async () => {
    // Prepare
    registerModel('flaky-model');
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: artifactKey('flaky-model', 1) })
      .rejectsOnce(new Error('socket hang up'))
      .resolves({ Body: objectBody(trained.bytes) });

    // Act
    const first = await invoke(predictEvent('flaky-model', validBody()));
    const second = await invoke(predictEvent('flaky-model', validBody()));

    // Assess
    expect(first.statusCode).toBe(503);
    expect((first.json as ErrorBody).error.code).toBe('ModelUnavailable');
    expect(second.statusCode).toBe(200);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(2);
  });

  it('returns 400 naming each bad field of each bad instance by path', async () => {
    // Prepare
    registerModel('strict-model');
    storeArtifact('strict-model', 1);
    const [good] = sampleInstances();
    const instances = [
      good,
      { ...good, distance: 'far' },
      { ...good, origin: 7, seats: 180 },
      { ...good, date: '2001-02-30 10:00' },
    ];

    // Act
    const response = await invoke(predictEvent('strict-model', JSON.stringify({ instances })));

    // Assess
    expect(response.statusCode).toBe(400);
    const { error } = response.json as ErrorBody;
    expect(error.code).toBe('InvalidRequest');
    expect(error.message).toBe("3 of 4 instances do not match the model's features");
    expect(error.details?.issues.map((i) => i.path)).toEqual([
      'instances.1.distance',
      'instances.2.origin',
      'instances.2.seats',
      'instances.3.date',
    ]);
    // The model version that refused them: how a release's warm-up learns what a version serves.
    expect(response.headers?.['x-model-version']).toBe('1');
  });

  it.each([
    ['an empty body', null, /request body is empty/],
    ['a blank body', '  \n', /request body is empty/],
    ['a body that is not JSON', '{"instances": [', /request body is not valid JSON/],
    ['a body with neither instances nor entityId', '{}', /does not match the schema/],
    ['an empty instances list', '{"instances": []}', /does not match the schema/],
  ])('returns 400 InvalidRequest for %s without reading the registry', async (_case, body, message) => {
    // Act
    const response = await invoke(predictEvent('flight-delay', body));

    // Assess
    expect(response.statusCode).toBe(400);
    expect((response.json as ErrorBody).error).toMatchObject({
      code: 'InvalidRequest',
      message: expect.stringMatching(message),
    });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });

  it('returns 400 naming the model path parameter when the model name is invalid', async () => {
    // Act
    const response = await invoke(predictEvent('Not_A_Model', validBody()));

    // Assess
    expect(response.statusCode).toBe(400);
    expect((response.json as ErrorBody).error.details?.issues.map((i) => i.path)).toEqual(['model']);
  });

  it('returns 413 PayloadTooLarge for more instances than one request allows', async () => {
    // Prepare
    const [row] = sampleInstances();
    const instances = Array.from({ length: PREDICT_LIMITS.maxInstances + 1 }, () => row);

    // Act
    const response = await invoke(predictEvent('flight-delay', JSON.stringify({ instances })));

    // Assess
    expect(response.statusCode).toBe(413);
    expect((response.json as ErrorBody).error).toMatchObject({
      code: 'PayloadTooLarge',
      message: expect.stringContaining('use batch scoring'),
    });
  });

  it('returns 400 NotConfigured for an entityId request', async () => {
    // Act
    const response = await invoke(predictEvent('flight-delay', JSON.stringify({ entityId: 'x' })));

    // Assess
    expect(response.statusCode).toBe(400);
    expect((response.json as ErrorBody).error.code).toBe('NotConfigured');
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });

  it('never answers 500 or logs an unexpected error for bad input or a missing model', async () => {
    // Prepare
    registerModel('edge-model');
    storeArtifact('edge-model', 1);
    const bodies = [
      null,
      'not json',
      'null',
      '[]',
      '"instances"',
      '{"instances": [1, 2]}',
      '{"instances": [{}]}',
      '{"instances": [{"date": null, "distance": -1, "origin": "", "destination": "a b"}]}',
      '{"instances": [{"date": "2001/01/01 25:00", "distance": 1e400, "origin": "SFO", "destination": "LAX"}]}',
      '{"instances": [{"__proto__": {"x": 1}}]}',
      '{"entityId": ""}',
      '{"entityId": "x", "instances": [{}]}',
    ];

    // Act
    const statuses = [];
    for (const body of bodies) statuses.push((await invoke(predictEvent('edge-model', body))).statusCode);
    statuses.push((await invoke(predictEvent('edge-model', validBody(), true))).statusCode);
    statuses.push(
      (await invoke({ ...predictEvent('edge-model', validBody()), pathParameters: null })).statusCode,
    );

    // Assess
    expect(statuses.every((status) => status === 400 || status === 413)).toBe(true);
    expect(loggedErrors).not.toHaveBeenCalled();
  });
});

describe('predict handler: capture and metrics', () => {
  it('captures one record per instance with the input, the encoded features and the answer', async () => {
    // Prepare
    registerModel('flight-delay');
    storeArtifact('flight-delay', 1);
    const instances = sampleInstances();

    // Act
    const response = await invoke(predictEvent('flight-delay', validBody(instances)));

    // Assess
    const { predictions } = response.json as PredictBody;
    const records = captureLines().map((line) => CaptureRecordSchema.parse(line));
    expect(records.map((r) => r.index)).toEqual(instances.map((_, i) => i));
    const encoded = flights.encode(
      instances.map((i) => flights.instanceSchema.parse(i)),
      trained.encoding,
    );
    records.forEach((record, i) => {
      expect(record).toMatchObject({
        requestId: 'req-0001',
        model: 'flight-delay',
        version: 1,
        functionVersion: '$LATEST',
        sampleRate: 1,
        score: predictions[i]?.score,
        label: predictions[i]?.label,
      });
      expect(record.input).toEqual(flights.instanceSchema.parse(instances[i]));
      expect(record.features).toEqual(
        Array.from(encoded.subarray(i * trained.featureNames.length, (i + 1) * trained.featureNames.length)),
      );
    });
  });

  it('writes the request metrics per model and per function version in embedded metric format', async () => {
    // Prepare
    registerModel('flight-delay');
    storeArtifact('flight-delay', 1);

    // Act
    await invoke(predictEvent('flight-delay', validBody()));

    // Assess
    const [line] = metricLines();
    expect(line).toMatchObject({
      Model: 'flight-delay',
      FunctionVersion: '$LATEST',
      Predictions: sampleInstances().length,
      PredictionServerErrors: 0,
      _aws: {
        CloudWatchMetrics: [{ Namespace: 'MLOps', Dimensions: [['Model'], ['Model', 'FunctionVersion']] }],
      },
    });
    expect(line?.PredictionLatency).toBeGreaterThan(0);
    expect(line?.CaptureErrors).toBeUndefined();
  });

  it('still answers when the capture cannot be written, and counts the failure', async () => {
    // Prepare
    registerModel('flight-delay');
    storeArtifact('flight-delay', 1);
    failWritesContaining = CAPTURE_RECORD_KIND;
    const warnings = vi.spyOn(Logger.prototype, 'warn');

    // Act
    const response = await invoke(predictEvent('flight-delay', validBody()));

    // Assess
    expect(response.statusCode).toBe(200);
    expect((response.json as PredictBody).predictions).toHaveLength(sampleInstances().length);
    expect(captureLines()).toHaveLength(0);
    expect(metricLines()[0]).toMatchObject({ CaptureErrors: 1 });
    expect(warnings).toHaveBeenCalledWith(
      'capture failed; the prediction was answered',
      expect.objectContaining({ requestId: 'req-0001' }),
    );
    expect(loggedErrors).not.toHaveBeenCalled();
  });

  it('counts a 503 against the model, and mints no metric for a refused request', async () => {
    // Prepare
    registerModel('broken-model');

    // Act
    await invoke(predictEvent('broken-model', validBody()));
    await invoke(predictEvent('no-such-model', validBody()));
    await invoke(predictEvent('flight-delay', '{"instances": 7}'));

    // Assess
    expect(metricLines()).toEqual([
      expect.objectContaining({ Model: 'broken-model', PredictionServerErrors: 1 }),
    ]);
    expect(captureLines()).toHaveLength(0);
  });
});
