// Small S3 helpers shared by functions: read an object's bytes, write bytes at a key.
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parseS3Uri } from './s3-layout.ts';

/** Fetch an `s3://` object's bytes (the ArtifactFetcher port for serving). */
export function s3ObjectFetcher(s3: S3Client) {
  return async (uri: string): Promise<Uint8Array> => {
    const { bucket, key } = parseS3Uri(uri);
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!out.Body) throw new Error(`empty body for ${uri}`);
    return out.Body.transformToByteArray();
  };
}

/** Overwrite-by-key write: retrying it leaves the same single object. */
export async function putObject(
  s3: S3Client,
  bucket: string,
  key: string,
  body: Uint8Array | string,
  contentType: string,
) {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
}
