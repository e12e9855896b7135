import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { decodeInput, inputFormatOf, readItems } from '../../../../functions/lib/batch/input-file.ts';
import { type CaptureRecord, CaptureRecordSchema } from '../../../../functions/lib/capture/capture-record.ts';
import { capturePartitionPrefix } from '../../../../functions/lib/storage/s3-layout.ts';
import {
  DeliveryStreamNotFound,
  type FirehoseMetric,
  LocalFirehose,
  type LocalFirehoseOptions,
  type ObjectWriter,
  readDeliveryStreams,
  readSubscriptionFilters,
} from '../../../../local/firehose/local-firehose.ts';
import { defined } from '../defined.ts';
import { captureStack } from './capture-stack.ts';

const { stack, resolution } = captureStack();
const spec = defined(readDeliveryStreams(stack, resolution).streams[0], 'the capture stream');
const filter = defined(readSubscriptionFilters(stack, resolution).filters[0], 'the capture filter');
const source = { functionName: filter.functionNames[0] ?? '', version: '1' };
const tmp = mkdtempSync(join(tmpdir(), 'mlops-firehose-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function record(model: string, time: string, index = 0): CaptureRecord {
  return {
    kind: 'inference-capture',
    time,
    requestId: `req-${index}`,
    index,
    model,
    version: 1,
    functionVersion: '$LATEST',
    latencyMs: 3.5,
    input: { distance: 100 + index },
    features: [100 + index, 1],
    score: 0.25,
    label: 0,
    sampleRate: 1,
  };
}

/** A firehose over an in-memory bucket; `fail` makes writes reject while it returns true. */
function setUp(options: LocalFirehoseOptions = {}, fail: () => boolean = () => false) {
  const objects = new Map<string, Buffer>();
  const write: ObjectWriter = async (bucket, key, body) => {
    if (fail()) throw new Error('S3 is down');
    objects.set(`${bucket}/${key}`, body);
  };
  const metrics: FirehoseMetric[] = [];
  const logs: string[] = [];
  const firehose = new LocalFirehose({
    retryBaseMs: 5,
    log: (line) => logs.push(line),
    onMetric: (m) => metrics.push(m),
    ...options,
  });
  firehose.addStream(spec, write);
  const listener = firehose.subscriptionListener(filter);
  const log = (lines: readonly unknown[]) =>
    listener.onLines(
      lines.map((l) => JSON.stringify(l)),
      source,
    );
  const rows = (key: string) => readItems(decodeInput(defined(objects.get(key), key)), 'jsonl');
  return { firehose, objects, metrics, logs, log, rows };
}

describe('LocalFirehose', () => {
  it('says at start-up how much shorter the local buffering interval is', () => {
    const { logs } = setUp({ bufferIntervalMs: 1000 });
    expect(logs[0]).toMatch(
      new RegExp(`${spec.logicalId} \\(${spec.name}\\): buffering interval 60 s → 1 s locally`),
    );
  });

  it('writes each model and hour to its own partition as gzipped JSON Lines the batch reader reads', async () => {
    const { firehose, objects, log, rows } = setUp({ bufferIntervalMs: 60_000 });
    const a7 = [record('a', '2026-11-27T07:00:00.000Z', 0), record('a', '2026-11-27T07:59:59.999Z', 1)];
    const a8 = [record('a', '2026-11-27T08:00:00.000Z', 2)];
    const b7 = [record('b', '2026-11-27T07:30:00.000Z', 3)];
    log([a7[0], b7[0], { kind: 'other-log-line' }]);
    log([a8[0], a7[1]]);
    expect(objects.size).toBe(0);
    await firehose.flush();

    const keys = [...objects.keys()].sort();
    expect(keys).toHaveLength(3);
    const expected = [
      [capturePartitionPrefix('a', new Date(a7[0]?.time ?? '')), a7],
      [capturePartitionPrefix('a', new Date(a8[0]?.time ?? '')), a8],
      [capturePartitionPrefix('b', new Date(b7[0]?.time ?? '')), b7],
    ] as const;
    for (const [prefix, records] of expected) {
      const key = defined(
        keys.find((k) => k.startsWith(`${spec.bucketName}/${prefix}`)),
        `an object under ${prefix}`,
      );
      expect(key.slice(spec.bucketName.length + 1 + prefix.length)).toMatch(
        new RegExp(`^${spec.name}-1-\\d{4}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-[0-9a-f-]{36}\\.jsonl\\.gz$`),
      );
      expect(inputFormatOf(key)).toEqual({ format: 'jsonl', gzip: true });
      expect(rows(key).map((r) => CaptureRecordSchema.parse(r))).toEqual(records);
    }
    expect(firehose.stats(spec.name)).toMatchObject({
      deliveredObjects: 3,
      deliveredRecords: 4,
      failedDeliveries: 0,
    });
  });

  it('writes a partition when the local interval ends, without a flush', async () => {
    const { objects, log } = setUp({ bufferIntervalMs: 30 });
    log([record('a', '2026-11-27T07:00:00.000Z')]);
    await vi.waitFor(() => expect(objects.size).toBe(1), { timeout: 2000, interval: 10 });
  });

  it('writes a partition as soon as it reaches the size hint', async () => {
    const objects = new Map<string, Buffer>();
    const firehose = new LocalFirehose({ bufferIntervalMs: 60_000 });
    const line = JSON.stringify(record('a', '2026-11-27T07:00:00.000Z'));
    // Three records with their newlines reach the hint; two do not.
    firehose.addStream({ ...spec, bufferSizeBytes: 3 * (line.length + 1) }, async (bucket, key, body) => {
      objects.set(`${bucket}/${key}`, body);
    });
    const listener = firehose.subscriptionListener(filter);
    listener.onLines([line, line], source);
    await new Promise((r) => setTimeout(r, 20));
    expect(objects.size).toBe(0);
    listener.onLines([line], source);
    await vi.waitFor(() => expect(objects.size).toBe(1), { timeout: 2000, interval: 10 });
    await firehose.close();
  });

  it('sends a record without partition keys to the error prefix with Firehose’s error document', async () => {
    const { firehose, objects, log, rows } = setUp();
    const good = record('a', '2026-11-27T07:00:00.000Z');
    const bad = { kind: 'inference-capture', model: 'a' };
    log([good, bad]);
    await firehose.flush();
    const day = new Date().toISOString().slice(0, 10);
    const errorKey = defined(
      [...objects.keys()].find((k) =>
        k.startsWith(`${spec.bucketName}/capture-errors/partitioning-failed/dt=${day}/`),
      ),
      'an error object',
    );
    const [document] = rows(errorKey);
    expect(document).toMatchObject({
      errorCode: 'DynamicPartitioning.MetadataExtractionFailed',
      errorMessage: expect.stringMatching(/dt/),
      attemptsMade: 1,
      arrivalTimestamp: expect.any(Number),
    });
    expect(Buffer.from(String(document?.rawData), 'base64').toString('utf8')).toBe(JSON.stringify(bad));
    expect(firehose.stats(spec.name).failedRecords).toBe(1);
    expect([...objects.keys()].filter((k) => k.includes('/capture/model=a/'))).toHaveLength(1);
  });

  it('drops CloudWatch Logs control messages and fails records that are not subscription payloads', async () => {
    const { firehose, objects } = setUp();
    firehose.put(spec.name, [gzipSync(JSON.stringify({ messageType: 'CONTROL_MESSAGE', logEvents: [] }))]);
    await firehose.flush();
    expect(objects.size).toBe(0);
    firehose.put(spec.name, [Buffer.from('not gzip')]);
    await firehose.flush();
    expect([...objects.keys()]).toEqual([
      expect.stringMatching(new RegExp(`^${spec.bucketName}/capture-errors/decompression-failed/dt=`)),
    ]);
  });

  it('keeps and retries an object S3 refuses, so nothing is lost', async () => {
    const { firehose, objects, log, metrics, logs, rows } = setUp();
    firehose.injectFault({ times: 2 });
    const records = [record('a', '2026-11-27T07:00:00.000Z', 0), record('a', '2026-11-27T07:00:01.000Z', 1)];
    log(records);
    await firehose.flush();
    expect(objects.size).toBe(1);
    expect(rows([...objects.keys()][0] ?? '')).toEqual(records);
    expect(firehose.failedDeliveries).toBe(2);
    expect(metrics.filter((m) => m.name === 'DeliveryToS3.Success').map((m) => m.value)).toEqual([0, 0, 1]);
    expect(metrics.find((m) => m.name === 'DeliveryToS3.Records')).toMatchObject({
      streamName: spec.name,
      value: 2,
      unit: 'Count',
    });
    expect(logs.filter((l) => l.includes('failed (attempt'))).toHaveLength(2);
  });

  it('keeps objects still unwritten at close on disk and writes them on the next start', async () => {
    const spillDir = join(tmp, 'spill');
    const down = setUp({ spillDir, closeTimeoutMs: 50 }, () => true);
    const records = [record('a', '2026-11-27T07:00:00.000Z')];
    down.log(records);
    await down.firehose.close();
    expect(down.objects.size).toBe(0);
    expect(readdirSync(join(spillDir, spec.name))).toHaveLength(1);
    expect(down.logs.some((l) => l.includes('kept in'))).toBe(true);

    const up = setUp({ spillDir });
    await vi.waitFor(() => expect(up.objects.size).toBe(1), { timeout: 2000, interval: 10 });
    expect(up.rows([...up.objects.keys()][0] ?? '')).toEqual(records);
    await vi.waitFor(() => expect(readdirSync(join(spillDir, spec.name))).toEqual([]), { timeout: 2000 });
  });

  it('flushes on close and refuses records afterwards', async () => {
    const { firehose, objects, log } = setUp({ bufferIntervalMs: 60_000 });
    log([record('a', '2026-11-27T07:00:00.000Z')]);
    await firehose.close();
    expect(objects.size).toBe(1);
    await firehose.close();
    expect(() => firehose.put(spec.name, [Buffer.from('x')])).toThrow(/shut down/);
  });

  it('refuses unknown streams and bad fault counts', () => {
    const firehose = new LocalFirehose();
    expect(() => firehose.put('nope', [])).toThrow(DeliveryStreamNotFound);
    expect(() => firehose.subscriptionListener(filter)).toThrow(/not running locally/);
    expect(() => firehose.injectFault({ times: 0 })).toThrow(RangeError);
  });
});
