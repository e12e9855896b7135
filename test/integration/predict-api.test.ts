// The prediction API through the local runtime: real HTTP, the synthesized template, the
// bundled predict function in its worker, the seed model trained by the train function.
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getFeatureSet } from '../../functions/lib/features/index.ts';
import { readModelMetadata } from '../../functions/lib/onnx/model-metadata.ts';
import { DynamoDbModelRegistry } from '../../functions/lib/registry/dynamodb-registry.ts';
import { parseS3Uri } from '../../functions/lib/storage/s3-layout.ts';
import { localDynamoDbClient } from '../../local/emulators/dynamodb.ts';
import { localS3Client } from '../../local/emulators/s3.ts';
import { bootTestPlatform, type TestPlatform } from '../support/local-platform.ts';

const rows = [
  { date: '2001/01/14 21:55', distance: 1200, origin: 'SFO', destination: 'LAX' },
  { date: '2001/02/02 06:10', distance: 300, origin: 'ORD', destination: 'DTW' },
  { date: '2001/03/30 17:45', distance: 2475, origin: 'JFK', destination: 'LAX' },
  { date: '2001/03/30 17:45', distance: 90, origin: 'ZZZ', destination: 'QQQ' },
];

let t: TestPlatform;
let url: string;
let apiKey: string;

async function post(body: string | undefined, headers: Record<string, string> = {}, model = 'flight-delay') {
  const res = await fetch(`${url}models/${model}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey, ...headers },
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

beforeAll(async () => {
  t = await bootTestPlatform();
  url = t.platform.url;
  apiKey = t.platform.apiKey;
});

afterAll(async () => {
  await t?.stop();
});

describe('POST /models/{model}/predict', () => {
  it('returns predictions equal to a direct onnxruntime run of the registered artifact', async () => {
    const { status, body } = await post(JSON.stringify({ instances: rows }));
    expect(status).toBe(200);
    expect(body).toMatchObject({ model: 'flight-delay', version: 1, requestId: expect.any(String) });
    expect(body.predictions).toHaveLength(rows.length);

    const stack = t.platform.stacks[0]!;
    const registry = new DynamoDbModelRegistry(
      DynamoDBDocumentClient.from(localDynamoDbClient(t.platform.endpoints.dynamodb)),
      stack.outputs.RegistryTableName!,
    );
    const production = await registry.getProductionVersion('flight-delay');
    const { bucket, key } = parseS3Uri(production!.artifactUri);
    const object = await localS3Client(t.platform.endpoints.s3).send(
      new GetObjectCommand({ Bucket: bucket, Key: key }),
    );
    const bytes = await object.Body!.transformToByteArray();
    const metadata = readModelMetadata(bytes);
    const featureSet = getFeatureSet(metadata['mlops.featureSet']!)!;
    const encoding: unknown = JSON.parse(metadata['mlops.encoding']!);
    const width = featureSet.featureNames(encoding).length;
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({
      features: new ort.Tensor('float32', featureSet.encode(rows as never[], encoding), [rows.length, width]),
    });
    const probabilities = out.probabilities!.data as Float32Array;
    body.predictions.forEach((p: { score: number; label: number }, i: number) => {
      expect(p.score).toBeCloseTo(probabilities[2 * i + 1]!, 6);
      expect(p.label).toBe(p.score >= 0.5 ? 1 : 0);
    });
  });

  it('names each field of a wrongly typed instance', async () => {
    const { status, body } = await post(
      JSON.stringify({ instances: [{ ...rows[0], distance: 'far', origin: 7 }] }),
    );
    expect(status).toBe(400);
    expect(body.error.code).toBe('InvalidRequest');
    const paths = body.error.details.issues.map((i: { path: string }) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['instances.0.distance', 'instances.0.origin']));
  });

  it('names a missing field', async () => {
    const { date: _date, ...withoutDate } = rows[0]!;
    const { status, body } = await post(JSON.stringify({ instances: [rows[1], withoutDate] }));
    expect(status).toBe(400);
    expect(body.error.details.issues.map((i: { path: string }) => i.path)).toContain('instances.1.date');
  });

  it('names an extra field', async () => {
    const { status, body } = await post(JSON.stringify({ instances: [{ ...rows[0], carrier: 'UA' }] }));
    expect(status).toBe(400);
    expect(body.error.details.issues.map((i: { path: string }) => i.path)).toContain('instances.0.carrier');
  });

  it('rejects an empty body', async () => {
    const { status, body } = await post('');
    expect(status).toBe(400);
    expect(body.error.message).toMatch(/empty/);
  });

  it('rejects a body that is not JSON', async () => {
    const { status, body } = await post('instances=1&x=2');
    expect(status).toBe(400);
    expect(body.error.message).toMatch(/not valid JSON/);
  });

  it('answers 413 for a body over the function limit', async () => {
    const { status, body } = await post(
      JSON.stringify({ instances: [{ ...rows[0], pad: 'x'.repeat(2_000_000) }] }),
    );
    expect(status).toBe(413);
    expect(body.error.code).toBe('PayloadTooLarge');
  });

  it('answers 413 at the gateway for a body over 10 MB', async () => {
    const { status, body } = await post('x'.repeat(11 * 1024 * 1024));
    expect(status).toBe(413);
    expect(body.error.code).toBe('REQUEST_TOO_LARGE');
  });

  it('answers 404 for an unknown model', async () => {
    const { status, body } = await post(JSON.stringify({ instances: rows }), {}, 'no-such-model');
    expect(status).toBe(404);
    expect(body.error.code).toBe('ModelNotFound');
  });

  it('answers 403 without a valid API key', async () => {
    expect((await post(JSON.stringify({ instances: rows }), { 'x-api-key': 'wrong' })).status).toBe(403);
  });

  it('answers 404 for a route the API does not have', async () => {
    const res = await fetch(`${url}models/flight-delay/explain`, {
      method: 'POST',
      headers: { 'x-api-key': apiKey },
    });
    expect(res.status).toBe(404);
  });

  it('never answers 5xx to a barrage of malformed requests', async () => {
    const bodies = [
      'null',
      '[]',
      '"x"',
      '{"instances": null}',
      '{"instances": [null]}',
      '{"instances": [[1,2]]}',
      '{"instances": [{"date": 5}]}',
      '{"instances": [{"date": "2001/13/45 99:99", "distance": 1, "origin": "A", "destination": "B"}]}',
      '{"instances": [{"date": "2001/01/01 10:00", "distance": -1, "origin": "A", "destination": "B"}]}',
      '{"instances": [{"date": "2001/01/01 10:00", "distance": 1e309, "origin": "A", "destination": "B"}]}',
      '{"entityId": ""}',
      '{"entityId": "user-1"}',
      '\u0000\u0001',
      '{"instances": [{"__proto__": {"x": 1}}]}',
    ];
    for (const body of bodies) {
      const { status } = await post(body);
      expect(status, body).toBeGreaterThanOrEqual(400);
      expect(status, body).toBeLessThan(500);
    }
  });
});
