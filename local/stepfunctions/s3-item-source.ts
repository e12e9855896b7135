// The local engine's Distributed Map ItemReader over the local S3: the object's bytes read with
// the same code the batch Lambdas use (functions/lib/batch/input-file.ts), so a file the
// one-step path accepts is read into the same rows here.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { decodeInput, readItems as readRows } from '../../functions/lib/batch/input-file.ts';
import type { ReadItems } from './item-reader.ts';

/**
 * Items of `s3://bucket/key`: CSV rows (header first) and JSON Lines objects as the shared
 * reader gives them, or the elements of a JSON array. Gzip is decoded as the Lambdas decode it.
 */
export function s3ItemSource(s3: S3Client): ReadItems {
  return async ({ bucket, key, versionId, inputType }) => {
    const object = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }),
    );
    const bytes = decodeInput((await object.Body?.transformToByteArray()) ?? new Uint8Array());
    switch (inputType) {
      case 'CSV':
        return readRows(bytes, 'csv');
      case 'JSONL':
        return readRows(bytes, 'jsonl');
      case 'JSON': {
        const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
        if (!Array.isArray(value))
          throw new TypeError(
            `s3://${bucket}/${key} holds JSON but not an array, which InputType JSON needs`,
          );
        return value;
      }
    }
  };
}
