// Inference capture through the local runtime: the predict function's capture log lines go
// through the template's log subscription and delivery stream into S3, partitioned by model,
// date and hour, and nothing is lost when S3 fails for a while or the platform stops.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CaptureRecord, CaptureRecordSchema } from '../../functions/lib/capture/capture-record.ts';
import { CAPTURE_PREFIX } from '../../functions/lib/storage/s3-layout.ts';
import { localS3Client } from '../../local/emulators/s3.ts';
import { bootTestPlatform, type TestPlatform } from '../support/local-platform.ts';

const rows = [
  { date: '2001/01/14 21:55', distance: 1200, origin: 'SFO', destination: 'LAX' },
  { date: '2001/02/02 06:10', distance: 300, origin: 'ORD', destination: 'DTW' },
  { date: '2001/03/30 17:45', distance: 2475, origin: 'JFK', destination: 'LAX' },
];

const dataDir = mkdtempSync(join(tmpdir(), 'mlops-capture-'));
let t: TestPlatform;

async function predict(platform: TestPlatform['platform']): Promise<{ status: number; requestId: string }> {
  const res = await fetch(`${platform.url}models/flight-delay/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': platform.apiKey },
    body: JSON.stringify({ instances: rows }),
  });
  const body = (await res.json()) as { requestId: string };
  return { status: res.status, requestId: body.requestId };
}

const dataBucket = (platform: TestPlatform['platform']) => platform.stacks[0]?.outputs.DataBucketName ?? '';

/** Every capture record in the data bucket, with the key it is stored under. */
async function capturedRecords(
  s3: S3Client,
  bucket: string,
): Promise<Array<CaptureRecord & { key: string }>> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: CAPTURE_PREFIX }));
  const records: Array<CaptureRecord & { key: string }> = [];
  for (const { Key } of listed.Contents ?? []) {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key }));
    const text = gunzipSync(await object.Body!.transformToByteArray()).toString('utf8');
    for (const line of text.split('\n').filter((l) => l.length > 0))
      records.push({ ...CaptureRecordSchema.parse(JSON.parse(line)), key: Key ?? '' });
  }
  return records;
}

async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  t = await bootTestPlatform({ dataDir });
});

afterAll(async () => {
  await t?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('inference capture', () => {
  it('lands every scored instance in S3 under its model, date and hour, gzipped', async () => {
    const { status, requestId } = await predict(t.platform);
    expect(status).toBe(200);
    const s3 = localS3Client(t.platform.endpoints.s3);
    const records = await waitFor(
      () => capturedRecords(s3, dataBucket(t.platform)),
      (found) => found.filter((r) => r.requestId === requestId).length === rows.length,
    );
    const mine = records.filter((r) => r.requestId === requestId);
    expect(mine.map((r) => r.index).sort()).toEqual([0, 1, 2]);
    for (const record of mine) {
      const time = new Date(record.time).toISOString();
      expect(record.key).toMatch(
        new RegExp(`^capture/model=flight-delay/dt=${time.slice(0, 10)}/hour=${time.slice(11, 13)}/.+\\.gz$`),
      );
      expect(record).toMatchObject({
        model: 'flight-delay',
        version: 1,
        functionVersion: expect.any(String),
      });
    }
  });

  it('keeps answering while S3 refuses deliveries, and delivers everything once it recovers', async () => {
    t.platform.firehose.injectFault({ times: 3 });
    const answers = await Promise.all(Array.from({ length: 5 }, () => predict(t.platform)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    const s3 = localS3Client(t.platform.endpoints.s3);
    const ids = new Set(answers.map((a) => a.requestId));
    const records = await waitFor(
      () => capturedRecords(s3, dataBucket(t.platform)),
      (found) => found.filter((r) => ids.has(r.requestId)).length === ids.size * rows.length,
    );
    expect(records.filter((r) => ids.has(r.requestId))).toHaveLength(ids.size * rows.length);
    expect(t.platform.firehose.failedDeliveries).toBeGreaterThan(0);
  });

  it('loses nothing captured just before the platform stops', async () => {
    const { requestId } = await predict(t.platform);
    await t.platform.stop();
    t = await bootTestPlatform({ dataDir });
    const s3 = localS3Client(t.platform.endpoints.s3);
    const records = await capturedRecords(s3, dataBucket(t.platform));
    expect(records.filter((r) => r.requestId === requestId)).toHaveLength(rows.length);
  });
});
