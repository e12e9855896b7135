// Lambda entry point of the release's DecideChallenger step (strategy champion-challenger).
import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { s3CaptureObjects } from '../drift-check/adapters.ts';
import { parseEnv } from '../lib/config/env.ts';
import { releasePorts, releaseStep } from '../lib/releases/release-handler.ts';
import { s3ObjectStore } from '../lib/storage/object-store.ts';
import { decideChallenger } from './core.ts';

const env = parseEnv(
  z.object({
    DATA_BUCKET: z.string().min(1),
    ARTIFACTS_BUCKET: z.string().min(1),
  }),
);
const s3 = new S3Client({});
const captures = s3CaptureObjects(s3, env.DATA_BUCKET);
const data = s3ObjectStore(s3, env.DATA_BUCKET);

export const handler = (event: unknown) =>
  releaseStep('DecideChallenger', () => {
    const { registry, store, now, log } = releasePorts();
    return decideChallenger(event, {
      captures,
      groundTruth: { listKeys: captures.list, read: (key) => data.read(key) },
      reports: s3ObjectStore(s3, env.ARTIFACTS_BUCKET),
      registry,
      store,
      now,
      log,
    });
  });
