// Lambda entry point of the retraining's DescribeRetrainingOutcome step.
import * as z from 'zod';
import { parseEnv } from '../lib/config/env.ts';
import { retrainingStep, s3 } from '../lib/retraining/retraining-handler.ts';
import { s3ObjectStore } from '../lib/storage/object-store.ts';
import { describeRetrainingOutcome } from './core.ts';

const env = parseEnv(z.object({ ARTIFACTS_BUCKET: z.string().min(1) }));
const artifacts = s3ObjectStore(s3, env.ARTIFACTS_BUCKET);

export const handler = (event: unknown) =>
  retrainingStep('describe-outcome', () => describeRetrainingOutcome(event, { artifacts }));
