import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  GetBucketCorsCommand,
  GetObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureBucketsFromTemplate,
  type LocalS3,
  localS3Client,
  onObjectEvent,
  type S3ObjectEvent,
  startS3,
  type TemplateBucket,
} from '../../../../local/emulators/s3.ts';
import { findStack, loadCloudAssembly } from '../../../../local/template/cloud-assembly.ts';
import { defined } from '../defined.ts';

/** The fixture stack's buckets, as the runtime passes them. */
function templateBuckets(): TemplateBucket[] {
  const fixture = fileURLToPath(new URL('../../../fixtures/templates/mlops-stack', import.meta.url));
  const stack = findStack(loadCloudAssembly(fixture), 'MlopsStack');
  return Object.entries(stack.template.Resources)
    .filter(([, r]) => r.Type === 'AWS::S3::Bucket')
    .map(([logicalId, r]) => ({
      logicalId,
      bucketName: `mlopsstack-${logicalId.toLowerCase()}`,
      properties: r.Properties ?? {},
    }));
}

const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');
async function read(client: S3Client, Bucket: string, Key: string): Promise<Buffer> {
  const { Body } = await client.send(new GetObjectCommand({ Bucket, Key }));
  return Buffer.from(await defined(Body, `a body for ${Key}`).transformToByteArray());
}

describe('startS3', () => {
  const root = mkdtempSync(join(tmpdir(), 'mlops-s3-'));
  const dataDir = join(root, 's3');
  const buckets = templateBuckets();
  const bucket = defined(buckets[0], 'a bucket in the fixture');
  let s3: LocalS3;
  let client: S3Client;

  beforeAll(async () => {
    s3 = await startS3({ dataDir, port: 0 });
    client = localS3Client(s3.endpoint);
  });
  afterAll(async () => {
    client.destroy();
    await s3.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 on a free port', () => {
    expect(s3.endpoint).toBe(`http://127.0.0.1:${s3.port}`);
  });

  it('creates the template buckets, reporting what s3rver lacks by logical id', async () => {
    const warnings = await ensureBucketsFromTemplate(client, buckets);

    const names = (await client.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name);
    expect(names).toContain(bucket.bucketName);
    expect(warnings).toContainEqual(
      expect.stringMatching(new RegExp(`^${bucket.logicalId}: LifecycleConfiguration`)),
    );
  });

  it('round-trips a streamed upload over 1 MB byte for byte', async () => {
    const data = randomBytes(1536 * 1024);
    const body = Readable.from([data.subarray(0, 700_000), data.subarray(700_000)]);

    await client.send(
      new PutObjectCommand({
        Bucket: bucket.bucketName,
        Key: 'datasets/big.bin',
        Body: body,
        ContentLength: data.length,
      }),
    );

    expect(md5(await read(client, bucket.bucketName, 'datasets/big.bin'))).toBe(md5(data));
  });

  it('tells listeners about a put with its bucket, raw key, size and etag', async () => {
    const events: S3ObjectEvent[] = [];
    const unsubscribe = onObjectEvent(s3.server, (event) => {
      events.push(event);
    });

    await client.send(
      new PutObjectCommand({ Bucket: bucket.bucketName, Key: 'drops/a b+c.csv', Body: 'x,y\n1,2\n' }),
    );
    await client.send(
      new PutObjectCommand({ Bucket: bucket.bucketName, Key: 'drops/second.csv', Body: 'x\n' }),
    );
    unsubscribe();
    await client.send(
      new PutObjectCommand({ Bucket: bucket.bucketName, Key: 'drops/unheard.csv', Body: 'x\n' }),
    );

    expect(events.map((e) => [e.eventName, e.bucket, e.key, e.size])).toEqual([
      ['ObjectCreated:Put', bucket.bucketName, 'drops/a b+c.csv', 8],
      ['ObjectCreated:Put', bucket.bucketName, 'drops/second.csv', 2],
    ]);
    const [first, second] = events.map((e) => defined(e, 'an event'));
    expect(first?.etag).toBe(md5(Buffer.from('x,y\n1,2\n')));
    expect(defined(first, 'a first event').sequencer < defined(second, 'a second event').sequencer).toBe(
      true,
    );
  });

  it('keeps a failing listener from failing the upload', async () => {
    const failures: unknown[] = [];
    const unsubscribe = onObjectEvent(
      s3.server,
      () => {
        throw new Error('listener bug');
      },
      (err) => failures.push(err),
    );

    await client.send(new PutObjectCommand({ Bucket: bucket.bucketName, Key: 'drops/ok.csv', Body: 'x\n' }));
    unsubscribe();

    expect(failures).toEqual([new Error('listener bug')]);
  });

  it('applies the CORS rules of the template', async () => {
    const cors = { CorsRules: [{ AllowedMethods: ['GET'], AllowedOrigins: ['*'], MaxAge: 60 }] };

    await ensureBucketsFromTemplate(client, [
      { logicalId: 'Site', bucketName: 'site-bucket', properties: { CorsConfiguration: cors } },
    ]);

    const rules = (await client.send(new GetBucketCorsCommand({ Bucket: 'site-bucket' }))).CORSRules;
    expect(rules).toEqual([{ AllowedMethods: ['GET'], AllowedOrigins: ['*'], MaxAgeSeconds: 60 }]);
  });

  it('keeps buckets and their objects across a second call and a restart', async () => {
    await client.send(new PutObjectCommand({ Bucket: bucket.bucketName, Key: 'keep.txt', Body: 'kept' }));
    await ensureBucketsFromTemplate(client, buckets);
    await s3.stop();
    client.destroy();

    s3 = await startS3({ dataDir, port: 0 });
    client = localS3Client(s3.endpoint);
    await ensureBucketsFromTemplate(client, buckets);

    expect((await read(client, bucket.bucketName, 'keep.txt')).toString()).toBe('kept');
    expect((await read(client, bucket.bucketName, 'datasets/big.bin')).length).toBe(1536 * 1024);
  });
});
