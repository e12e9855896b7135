// Lambda entry point of the batch-scoring Finalize step.
import { DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { batchStep, dataStore, s3 } from '../lib/batch/batch-handler.ts';
import { BatchPlan } from '../lib/batch/batch-plan.ts';
import { finalizeBatch } from './core.ts';

const Event = z.looseObject({ plan: BatchPlan, parts: z.array(z.unknown()) });

export const handler = (event: unknown) =>
  batchStep('finalize', async () => {
    const input = Event.parse(event);
    return finalizeBatch(input, {
      data: dataStore(input.plan.bucket),
      async list(bucket, prefix) {
        const keys: string[] = [];
        let token: string | undefined;
        do {
          const page = await s3.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
          );
          keys.push(...(page.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])));
          token = page.NextContinuationToken;
        } while (token);
        return keys;
      },
      async remove(bucket, keys) {
        // DeleteObjects takes up to 1,000 keys a request.
        for (let i = 0; i < keys.length; i += 1000)
          await s3.send(
            new DeleteObjectsCommand({
              Bucket: bucket,
              Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
            }),
          );
      },
      now: () => new Date(),
    });
  });
