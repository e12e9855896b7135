// Simulated clients and data teams for the CLI's demos: the seed flights, instances sent through
// the prediction API as real clients send them (HTTPS, the API key, requests of many instances, a
// few at a time), and outcomes dropped as ground truth. The same calls reach the local platform
// and AWS.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { compactTime, groundTruthPartitionPrefix, s3Uri } from '../functions/lib/storage/s3-layout.ts';
import type { FlightRecord } from './drift-simulation.ts';
import { clientOptions, type Target } from './target.ts';

/** The seed dataset, as `npm start` trains on it. */
export function seedFlights(): FlightRecord[] {
  const entry = createRequire(import.meta.url).resolve('vega-datasets');
  return JSON.parse(
    readFileSync(join(dirname(entry), '..', 'data', 'flights-20k.json'), 'utf8'),
  ) as FlightRecord[];
}

/** What a run of requests got back. */
export interface SentTraffic {
  /** Request ids of the answered (200) requests. */
  readonly requestIds: string[];
  /** `status message` of every other answer. */
  readonly failures: string[];
  /** Request latencies as the client saw them, in ms, in completion order. */
  readonly latenciesMs: number[];
}

/** POST the instances in requests of `batch`, `concurrency` at a time. */
export async function sendInstances(
  target: Target,
  model: string,
  instances: readonly unknown[],
  options: { readonly batch?: number; readonly concurrency?: number } = {},
): Promise<SentTraffic> {
  const batch = options.batch ?? 100;
  const concurrency = options.concurrency ?? 4;
  const sent: SentTraffic = { requestIds: [], failures: [], latenciesMs: [] };
  const chunks: unknown[][] = [];
  for (let i = 0; i < instances.length; i += batch) chunks.push(instances.slice(i, i + batch));
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < chunks.length; i = next++) {
      const started = performance.now();
      const res = await fetch(`${target.apiUrl}models/${model}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': target.apiKey },
        body: JSON.stringify({ instances: chunks[i] }),
      });
      const body = (await res.json()) as { requestId?: string; error?: { message?: string } };
      sent.latenciesMs.push(performance.now() - started);
      if (res.status === 200 && body.requestId) sent.requestIds.push(body.requestId);
      else sent.failures.push(`${res.status} ${body.error?.message ?? ''}`.trim());
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, chunks.length) }, worker));
  return sent;
}

/**
 * Drop labelled rows as ground truth in today's partition of the model
 * (`ground-truth/model=<m>/dt=<today>/<name>-<time>.json`), as a data team would; their URI.
 */
export async function dropGroundTruth(
  target: Target,
  model: string,
  name: string,
  rows: readonly unknown[],
): Promise<string> {
  const bucket = target.outputs.DataBucketName;
  if (!bucket) throw new Error('the stack has no DataBucketName output to drop ground truth in');
  const now = new Date();
  const key = `${groundTruthPartitionPrefix(model, now.toISOString().slice(0, 10))}${name}-${compactTime(now)}.json`;
  await new S3Client(clientOptions(target, 's3')).send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: JSON.stringify(rows),
      ContentType: 'application/json',
    }),
  );
  return s3Uri(bucket, key);
}
