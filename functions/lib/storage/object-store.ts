// Port for one bucket's objects as use cases see it, and its S3 adapter. Writes overwrite by
// key, so a retried step leaves the same single object.
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { s3Uri } from './s3-layout.ts';

export interface ObjectStore {
  readonly bucket: string;
  /** The object's bytes; rejects with an error named `NoSuchKey` when it does not exist. */
  read(key: string): Promise<Uint8Array>;
  /** Overwrite-by-key put; returns the object's `s3://` URI. */
  write(key: string, body: Uint8Array | string, contentType: string): Promise<string>;
}

/** An ObjectStore on an S3 bucket. */
export function s3ObjectStore(s3: S3Client, bucket: string): ObjectStore {
  return {
    bucket,
    async read(key) {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!out.Body) throw new Error(`empty body for ${s3Uri(bucket, key)}`);
      return out.Body.transformToByteArray();
    },
    async write(key, body, contentType) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
      return s3Uri(bucket, key);
    },
  };
}

/** Read and parse a JSON object. */
export async function readJson<T = unknown>(store: ObjectStore, key: string): Promise<T> {
  return JSON.parse(Buffer.from(await store.read(key)).toString('utf8')) as T;
}

/** Write `value` as pretty JSON (stable for the same value, so rewrites are byte-identical). */
export function writeJson(store: ObjectStore, key: string, value: unknown): Promise<string> {
  return store.write(key, `${JSON.stringify(value, null, 2)}\n`, 'application/json');
}
