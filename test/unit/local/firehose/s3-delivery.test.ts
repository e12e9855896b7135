// The whole local capture path on real emulators: a function running in a worker logs capture
// records, the subscription filter picks them from its log lines, the delivery stream writes
// them to s3rver, and a reader gets them back, through an S3 outage too.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeInput, readItems } from '../../../../functions/lib/batch/input-file.ts';
import { CaptureRecordSchema } from '../../../../functions/lib/capture/capture-record.ts';
import { capturePartitionPrefix } from '../../../../functions/lib/storage/s3-layout.ts';
import { type LocalS3, localS3Client, startS3 } from '../../../../local/emulators/s3.ts';
import {
  LocalFirehose,
  readDeliveryStreams,
  readSubscriptionFilters,
} from '../../../../local/firehose/local-firehose.ts';
import { LambdaService } from '../../../../local/lambda/lambda-service.ts';
import { defined } from '../defined.ts';
import { captureStack } from './capture-stack.ts';

/** A handler that logs one capture record per instance, with other log lines around them. */
const HANDLER = `
exports.handler = async (event) => {
  console.log('scoring', event.instances.length, 'instances');
  for (const [index, input] of event.instances.entries()) {
    process.stdout.write(JSON.stringify({
      kind: 'inference-capture', time: event.time, requestId: event.requestId, index,
      model: event.model, version: 1, functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      latencyMs: 2, input, features: [input.x], score: 0.5, label: 1, sampleRate: 1,
    }) + '\\n');
  }
  return { ok: true };
};
`;

describe('capture delivery on the local emulators', () => {
  const root = mkdtempSync(join(tmpdir(), 'mlops-capture-'));
  const { stack, resolution } = captureStack();
  const spec = defined(readDeliveryStreams(stack, resolution).streams[0], 'the stream');
  const filter = defined(readSubscriptionFilters(stack, resolution).filters[0], 'the filter');
  const functionName = defined(filter.functionNames[0], 'the function');
  let s3: LocalS3;
  let client: S3Client;
  let lambda: LambdaService;
  let firehose: LocalFirehose;
  const log: string[] = [];

  beforeAll(async () => {
    s3 = await startS3({ dataDir: join(root, 's3') });
    client = localS3Client(s3.endpoint);
    await client.send(new CreateBucketCommand({ Bucket: spec.bucketName }));
    const code = join(root, 'code');
    mkdirSync(code);
    writeFileSync(join(code, 'index.js'), HANDLER);
    firehose = new LocalFirehose({ bufferIntervalMs: 60_000, retryBaseMs: 10, log: (l) => log.push(l) });
    firehose.addStream(spec, client);
    lambda = new LambdaService();
    lambda.addFunction({
      logicalId: 'Predict',
      functionName,
      bundleFile: join(code, 'index.js'),
      handlerName: 'handler',
      environment: {},
      memorySize: 128,
      timeoutSeconds: 10,
      logDir: join(root, 'logs'),
    });
    lambda.addLogListener(firehose.subscriptionListener(filter));
  });

  afterAll(async () => {
    await lambda.close();
    await firehose.close();
    client.destroy();
    await s3.stop();
    rmSync(root, { recursive: true, force: true });
  });

  async function captured(prefix: string) {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: spec.bucketName, Prefix: prefix }));
    const rows = [];
    for (const { Key } of listed.Contents ?? []) {
      const object = await client.send(new GetObjectCommand({ Bucket: spec.bucketName, Key }));
      const bytes = await defined(object.Body, 'a body').transformToByteArray();
      rows.push(...readItems(decodeInput(bytes), 'jsonl').map((r) => CaptureRecordSchema.parse(r)));
    }
    return { keys: (listed.Contents ?? []).map((c) => c.Key), rows };
  }

  it('delivers what the function logs, once the environments hand over their lines', async () => {
    const time = '2026-11-27T09:15:00.000Z';
    await lambda.invoke(functionName, {
      model: 'flights',
      time,
      requestId: 'r1',
      instances: [{ x: 1 }, { x: 2 }],
    });
    await lambda.invoke(functionName, { model: 'flights', time, requestId: 'r2', instances: [{ x: 3 }] });
    // Shutdown order: environments hand over their buffered log lines, then the stream flushes.
    await lambda.close();
    await firehose.flush();
    const { keys, rows } = await captured(capturePartitionPrefix('flights', new Date(time)));
    expect(keys).toHaveLength(1);
    expect(rows.map((r) => [r.requestId, r.index, r.input])).toEqual([
      ['r1', 0, { x: 1 }],
      ['r1', 1, { x: 2 }],
      ['r2', 0, { x: 3 }],
    ]);
  });

  it('loses nothing while S3 fails: the object is retried until it is written', async () => {
    const time = '2026-11-27T10:00:00.000Z';
    firehose.injectFault({ times: 3, streamName: spec.name });
    await lambda.invoke(functionName, { model: 'flights', time, requestId: 'r3', instances: [{ x: 4 }] });
    await lambda.close();
    await firehose.flush();
    const { rows } = await captured(capturePartitionPrefix('flights', new Date(time)));
    expect(rows.map((r) => r.requestId)).toEqual(['r3']);
    expect(firehose.stats(spec.name)).toMatchObject({ failedDeliveries: 3, pendingObjects: 0 });
    expect(log.filter((l) => l.includes('injected S3 fault'))).toHaveLength(3);
  });
});
