// Lambda entry point of the batch-scoring PlanBatch step.
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import * as z from 'zod';
import { batchStep, registry, s3 } from '../lib/batch/batch-handler.ts';
import { parseEnv } from '../lib/config/env.ts';
import { InvalidRequest } from '../lib/errors.ts';
import { planBatch } from './core.ts';

const env = parseEnv(
  z.object({
    /** Files up to this size are scored by one step; larger ones by the Distributed Map. */
    SMALL_FILE_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(8 * 1024 * 1024),
    /** Rows per output part (and per Distributed Map batch). */
    BATCH_ROWS: z.coerce.number().int().positive().default(10_000),
  }),
);

const missing = (err: unknown) => ['NoSuchKey', 'NotFound', 'NoSuchBucket'].includes((err as Error).name);

export const handler = (event: unknown) =>
  batchStep('plan', () =>
    planBatch(event, {
      registry: registry(),
      async head(bucket, key) {
        try {
          const out = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
          return {
            etag: out.ETag ?? '',
            bytes: out.ContentLength ?? 0,
            lastModified: out.LastModified ?? new Date(),
            metadata: out.Metadata ?? {},
          };
        } catch (err) {
          if (missing(err)) return undefined;
          throw err;
        }
      },
      async readText(bucket, key) {
        try {
          const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          return await out.Body?.transformToString();
        } catch (err) {
          if (missing(err)) return undefined;
          throw err;
        }
      },
      async readStart(bucket, key, bytes) {
        const out = await s3.send(
          new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${bytes - 1}` }),
        );
        return (await out.Body?.transformToByteArray()) ?? new Uint8Array();
      },
      async stageDecompressed(bucket, key, stagedKey) {
        const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const body = out.Body as NodeJS.ReadableStream | undefined;
        if (!body) throw new InvalidRequest(`s3://${bucket}/${key} has no body`);
        // Streamed: a large gzip file never sits in memory whole.
        await new Upload({
          client: s3,
          params: { Bucket: bucket, Key: stagedKey, Body: body.pipe(createGunzip()) },
        }).done();
      },
      config: { smallFileBytes: env.SMALL_FILE_BYTES, batchSize: env.BATCH_ROWS },
      now: () => new Date(),
    }),
  );
