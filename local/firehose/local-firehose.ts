// The local Amazon Data Firehose: the template's S3 delivery streams, fed by PutRecordBatch-like
// `put` calls and by CloudWatch Logs subscription filters on local functions' log lines.
// Buffers are written on a short local interval (a demo sees captures within a second), flushed
// on `flush()`/`close()`, and objects that cannot be written by the end of `close()` are kept
// on disk and written by the next run: nothing is lost on shutdown.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { LogListener } from '../lambda/lambda-service.ts';
import {
  type SubscriptionEnvelope,
  type SubscriptionFilterSpec,
  subscriptionEnvelopeListener,
} from '../logs/subscription-filters.ts';
import {
  type FirehoseMetric,
  FlushTimeout,
  LocalDeliveryStream,
  type ObjectWriter,
  type SealedObject,
} from './delivery-stream.ts';
import type { DeliveryStreamSpec } from './stream-spec.ts';

export { readSubscriptionFilters, type SubscriptionFilterSpec } from '../logs/subscription-filters.ts';
export type { FirehoseMetric, ObjectWriter } from './delivery-stream.ts';
export { type DeliveryStreamSpec, readDeliveryStreams } from './stream-spec.ts';

export interface LocalFirehoseOptions {
  /** Buffering interval of every stream locally, instead of the template's (≥ 60 s). @default 1000 */
  readonly bufferIntervalMs?: number;
  /** First pause after a failed S3 write; doubles per failure. @default 200 */
  readonly retryBaseMs?: number;
  /** @default 10_000 */
  readonly retryMaxMs?: number;
  /** How long `close()` keeps retrying writes before keeping the objects on disk. @default 5_000 */
  readonly closeTimeoutMs?: number;
  /**
   * Where objects still unwritten at `close()` are kept; `addStream` writes them on the next
   * run. Without it they are reported as lost.
   */
  readonly spillDir?: string;
  readonly log?: (line: string) => void;
  /** AWS/Firehose metrics (`DeliveryToS3.Success`, `DeliveryToS3.DataFreshness`, …). */
  readonly onMetric?: (metric: FirehoseMetric) => void;
  /** Log every object written. @default false: only failures and start-up */
  readonly logDeliveries?: boolean;
}

/** Counters of one stream. */
export interface DeliveryStreamStats {
  readonly deliveredObjects: number;
  readonly deliveredRecords: number;
  readonly failedDeliveries: number;
  readonly failedRecords: number;
  readonly pendingObjects: number;
}

/** Firehose's answer for a stream that does not exist. */
export class DeliveryStreamNotFound extends Error {
  override readonly name = 'ResourceNotFoundException';
}

interface Fault {
  remaining: number;
  readonly streamName?: string;
  readonly error: () => Error;
}

export class LocalFirehose {
  private readonly streams = new Map<string, LocalDeliveryStream>();
  private readonly faults: Fault[] = [];
  private readonly log: (line: string) => void;
  private closed = false;

  constructor(private readonly options: LocalFirehoseOptions = {}) {
    this.log = options.log ?? (() => undefined);
  }

  /** Run `spec`, writing with `s3` (a client of the local S3, or any writer that overwrites by key). */
  addStream(spec: DeliveryStreamSpec, s3: S3Client | ObjectWriter): void {
    if (this.streams.has(spec.name)) throw new Error(`delivery stream ${spec.name} is already running`);
    const base: ObjectWriter =
      s3 instanceof S3Client
        ? async (bucket, key, body) => {
            await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
          }
        : s3;
    const write: ObjectWriter = (bucket, key, body) => {
      const fault = this.takeFault(spec.name);
      return fault ? Promise.reject(fault) : base(bucket, key, body);
    };
    const interval = this.options.bufferIntervalMs ?? 1000;
    const stream = new LocalDeliveryStream(spec, {
      write,
      bufferIntervalMs: interval,
      retryBaseMs: this.options.retryBaseMs ?? 200,
      retryMaxMs: this.options.retryMaxMs ?? 10_000,
      log: this.log,
      ...(this.options.onMetric ? { onMetric: this.options.onMetric } : {}),
      ...(this.options.logDeliveries ? { logDeliveries: true } : {}),
    });
    this.streams.set(spec.name, stream);
    this.log(
      `[firehose] ${spec.logicalId} (${spec.name}): buffering interval ${spec.bufferIntervalSeconds} s → ${seconds(interval)} locally; s3://${spec.bucketName}/${spec.prefix.source}`,
    );
    this.resumeSpilled(spec.name, stream);
  }

  hasStream(name: string): boolean {
    return this.streams.has(name);
  }

  /** PutRecordBatch: each record is one Firehose record (for a subscription, a gzipped envelope). */
  put(streamName: string, records: readonly Uint8Array[]): void {
    const stream = this.streams.get(streamName);
    if (!stream) throw new DeliveryStreamNotFound(`Firehose ${streamName} not found`);
    stream.put(records);
  }

  /**
   * What a CloudWatch Logs subscription puts: envelopes, each one record, processed as if they
   * had arrived gzipped (without the compression round trip when the stream decompresses them).
   */
  putEnvelopes(streamName: string, envelopes: readonly SubscriptionEnvelope[]): void {
    const stream = this.streams.get(streamName);
    if (!stream) throw new DeliveryStreamNotFound(`Firehose ${streamName} not found`);
    stream.putEnvelopes(envelopes);
  }

  /**
   * The listener that runs a subscription filter into its stream; add it with
   * `lambda.addLogListener` before the first invocation. Throws when the stream is not running.
   */
  subscriptionListener(filter: SubscriptionFilterSpec): LogListener {
    if (!this.streams.has(filter.deliveryStreamName))
      throw new DeliveryStreamNotFound(
        `destination stream ${filter.deliveryStreamName} is not running locally`,
      );
    return subscriptionEnvelopeListener(
      filter,
      (name, envelopes) => this.putEnvelopes(name, envelopes),
      this.log,
    );
  }

  /** Write every buffer of every stream now; resolves once all of it is in S3 (failed writes are retried). */
  async flush(): Promise<void> {
    await Promise.all([...this.streams.values()].map((s) => s.flush()));
  }

  /**
   * Flush, then stop timers. Objects still failing after `closeTimeoutMs` are kept in
   * `spillDir` for the next run (or reported lost without one). Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const timeout = this.options.closeTimeoutMs ?? 5_000;
    await Promise.all(
      [...this.streams.values()].map(async (stream) => {
        try {
          await stream.flush(timeout);
        } catch (err) {
          if (!(err instanceof FlushTimeout)) throw err;
          this.log(`[firehose] ${err.message}`);
        }
        const unwritten = await stream.stop();
        if (unwritten.length > 0) this.spill(stream.spec.name, unwritten);
      }),
    );
  }

  /**
   * Make the next `times` S3 writes fail (of `streamName`, or of any stream), as an S3 outage
   * would: the objects are kept and retried.
   */
  injectFault(opts: {
    readonly times: number;
    readonly streamName?: string;
    readonly message?: string;
  }): void {
    if (!(Number.isInteger(opts.times) && opts.times > 0))
      throw new RangeError(`times must be a positive integer, got ${opts.times}`);
    const message = opts.message ?? 'injected S3 fault: ServiceUnavailable';
    this.faults.push({
      remaining: opts.times,
      ...(opts.streamName === undefined ? {} : { streamName: opts.streamName }),
      error: () => Object.assign(new Error(message), { name: 'ServiceUnavailable' }),
    });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Failed S3 writes across streams (each retried). */
  get failedDeliveries(): number {
    let total = 0;
    for (const stream of this.streams.values()) total += stream.failedDeliveries;
    return total;
  }

  stats(streamName: string): DeliveryStreamStats {
    const stream = this.streams.get(streamName);
    if (!stream) throw new DeliveryStreamNotFound(`Firehose ${streamName} not found`);
    return {
      deliveredObjects: stream.deliveredObjects,
      deliveredRecords: stream.deliveredRecords,
      failedDeliveries: stream.failedDeliveries,
      failedRecords: stream.failedRecords,
      pendingObjects: stream.pendingObjects,
    };
  }

  private takeFault(streamName: string): Error | undefined {
    const index = this.faults.findIndex((f) => f.streamName === undefined || f.streamName === streamName);
    const fault = this.faults[index];
    if (!fault) return undefined;
    if (--fault.remaining <= 0) this.faults.splice(index, 1);
    return fault.error();
  }

  private spillFolder(streamName: string): string | undefined {
    return this.options.spillDir === undefined ? undefined : join(this.options.spillDir, streamName);
  }

  /** Keep unwritten objects on disk, one file per object key (re-spilling overwrites). */
  private spill(streamName: string, objects: readonly SealedObject[]): void {
    const folder = this.spillFolder(streamName);
    if (!folder) {
      this.log(`[firehose] ${streamName}: ${objects.length} object(s) could not be written and are lost`);
      return;
    }
    mkdirSync(folder, { recursive: true });
    for (const object of objects) {
      const file = join(
        folder,
        `${createHash('sha256').update(`${object.bucket}/${object.key}`).digest('hex')}.json`,
      );
      writeFileSync(`${file}.tmp`, JSON.stringify({ ...object, body: object.body.toString('base64') }));
      renameSync(`${file}.tmp`, file);
    }
    this.log(
      `[firehose] ${streamName}: ${objects.length} unwritten object(s) kept in ${folder}; written on next start`,
    );
  }

  /** Write the objects an earlier run kept, removing each file once its object is in S3. */
  private resumeSpilled(streamName: string, stream: LocalDeliveryStream): void {
    const folder = this.spillFolder(streamName);
    if (!folder) return;
    let files: string[];
    try {
      files = readdirSync(folder).filter((f) => f.endsWith('.json'));
    } catch {
      return;
    }
    for (const name of files) {
      const file = join(folder, name);
      try {
        const kept = JSON.parse(readFileSync(file, 'utf8')) as Omit<SealedObject, 'body'> & { body: string };
        stream
          .enqueue({ ...kept, body: Buffer.from(kept.body, 'base64') })
          .then((written) => {
            if (written) rmSync(file, { force: true });
          })
          .catch(() => undefined);
      } catch (err) {
        this.log(
          `[firehose] ${streamName}: kept object ${file} is unreadable (${(err as Error).message}); left in place`,
        );
      }
    }
    if (files.length > 0)
      this.log(`[firehose] ${streamName}: writing ${files.length} object(s) kept by the last run`);
  }
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
