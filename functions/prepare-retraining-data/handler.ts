// Lambda entry point of the retraining's PrepareRetrainingData step.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { jsonEnv, parseEnv } from '../lib/config/env.ts';
import { logger, registry, retrainingStep, s3 } from '../lib/retraining/retraining-handler.ts';
import { RetrainingPolicyOverrides } from '../lib/retraining/retraining-policy.ts';
import { s3ObjectStore } from '../lib/storage/object-store.ts';
import { prepareRetrainingData } from './core.ts';

const env = parseEnv(
  z.object({
    DATA_BUCKET: z.string().min(1),
    ARTIFACTS_BUCKET: z.string().min(1),
    /** The deployment's retraining policy (JSON); absent fields take the platform's defaults. */
    RETRAINING_POLICY: jsonEnv(RetrainingPolicyOverrides).default({}),
  }),
);

async function listKeys(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: env.DATA_BUCKET, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

export const handler = (event: unknown) =>
  retrainingStep('prepare', () =>
    prepareRetrainingData(event, {
      data: s3ObjectStore(s3, env.DATA_BUCKET),
      listKeys,
      artifacts: s3ObjectStore(s3, env.ARTIFACTS_BUCKET),
      registry: registry(),
      policy: env.RETRAINING_POLICY,
      log: (message, data) => logger.info(message, data ?? {}),
    }),
  );
