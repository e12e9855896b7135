// One local delivery stream: records are processed as they arrive, buffered per partition
// (and per error type), and written as one S3 object per buffer when it reaches the size hint or
// its interval ends, named and compressed as Firehose names and compresses them. A write that
// fails keeps its object and is retried with backoff until it succeeds: nothing is dropped.
import type { SubscriptionEnvelope } from '../logs/subscription-filters.ts';
import { ObjectBody } from './object-body.ts';
import { type FailedRecord, type ProcessedRecord, processEnvelope, processRecord } from './processors.ts';
import { objectNamer } from './s3-prefix.ts';
import type { DeliveryStreamSpec } from './stream-spec.ts';

/** Writes one object (an S3 PutObject); rejects when the write failed. Must overwrite by key. */
export type ObjectWriter = (bucket: string, key: string, body: Buffer) => Promise<void>;

/** A metric in the AWS/Firehose namespace, dimension DeliveryStreamName = `streamName`. */
export interface FirehoseMetric {
  readonly streamName: string;
  /** e.g. `IncomingRecords`, `DeliveryToS3.Success`, `DeliveryToS3.DataFreshness`. */
  readonly name: string;
  readonly value: number;
  readonly unit: 'Count' | 'Bytes' | 'Seconds' | 'None';
}

export interface DeliveryStreamOptions {
  readonly write: ObjectWriter;
  /** How long a partition buffers before it is written (the template's interval is not used locally). */
  readonly bufferIntervalMs: number;
  /** First pause after a failed write, doubled per failure up to `retryMaxMs`. */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly log: (line: string) => void;
  readonly onMetric?: (metric: FirehoseMetric) => void;
  /** Log every object written, not only failures. */
  readonly logDeliveries?: boolean;
}

/** One object to write: the key is fixed when it is sealed, so retries overwrite the same key. */
export interface SealedObject {
  readonly bucket: string;
  readonly key: string;
  readonly body: Buffer;
  readonly records: number;
  /** Bytes before compression. */
  readonly bytes: number;
  /** Arrival time (ms) of its oldest record. */
  readonly oldestArrival: number;
}

interface PartitionBuffer {
  readonly body: ObjectBody;
  readonly oldestArrival: number;
  readonly partitionKeys?: Readonly<Record<string, string>>;
  readonly errorOutputType?: string;
  readonly timer: NodeJS.Timeout;
}

interface Delivery {
  object?: SealedObject;
  /** Ends the pause before the next attempt (flush, stop). */
  wake?: () => void;
  /** True once written; false when the stream stopped first. */
  readonly done: Promise<boolean>;
}

/** `flush` gave up waiting: objects are still failing to be written. */
export class FlushTimeout extends Error {
  override readonly name = 'FlushTimeout';
}

export class LocalDeliveryStream {
  private readonly buffers = new Map<string, PartitionBuffer>();
  private readonly deliveries = new Set<Delivery>();
  private readonly nameObject: (time: Date) => string;
  private stopped = false;
  /** Failed object writes (each retried until it succeeds). */
  failedDeliveries = 0;
  deliveredObjects = 0;
  deliveredRecords = 0;
  /** Records sent to the error output (partition keys missing, not decompressible, …). */
  failedRecords = 0;

  constructor(
    readonly spec: DeliveryStreamSpec,
    private readonly options: DeliveryStreamOptions,
  ) {
    this.nameObject = objectNamer({
      streamName: spec.name,
      streamVersion: 1,
      timeZone: spec.timeZone,
      extension: spec.extension,
    });
  }

  /** PutRecordBatch: process and buffer `records`. Never throws for a bad record: it fails to the error output. */
  put(records: readonly Uint8Array[], arrival = Date.now()): void {
    if (this.stopped) throw new Error(`delivery stream ${this.spec.name} is shut down`);
    let bytes = 0;
    for (const record of records) {
      const data = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
      bytes += data.length;
      this.buffer(processRecord(data, this.spec.processing, this.spec.prefix.partitionKeys), arrival);
    }
    this.metric('IncomingRecords', records.length, 'Count');
    this.metric('IncomingBytes', bytes, 'Bytes');
  }

  /**
   * What a CloudWatch Logs subscription puts: one record per envelope, processed as if gzipped
   * (see processEnvelope). `IncomingBytes` counts the log events' message bytes here: the
   * compressed size is not computed when the compression round trip is skipped.
   */
  putEnvelopes(envelopes: readonly SubscriptionEnvelope[], arrival = Date.now()): void {
    if (this.stopped) throw new Error(`delivery stream ${this.spec.name} is shut down`);
    let bytes = 0;
    for (const envelope of envelopes) {
      for (const event of envelope.logEvents) bytes += event.message.length;
      this.buffer(processEnvelope(envelope, this.spec.processing, this.spec.prefix.partitionKeys), arrival);
    }
    this.metric('IncomingRecords', envelopes.length, 'Count');
    this.metric('IncomingBytes', bytes, 'Bytes');
  }

  /** Buffer processed records by partition, failed ones by error output type. */
  private buffer(outputs: ReadonlyArray<ProcessedRecord | FailedRecord>, arrival: number): void {
    for (const out of outputs) {
      if (out.kind === 'record') {
        this.append(`data:${JSON.stringify(out.partitionKeys ?? {})}`, out.data, arrival, {
          ...(out.partitionKeys ? { partitionKeys: out.partitionKeys } : {}),
        });
      } else {
        this.failedRecords++;
        const document = {
          attemptsMade: 1,
          arrivalTimestamp: arrival,
          errorCode: out.errorCode,
          errorMessage: out.errorMessage,
          attemptEndingTimestamp: Date.now(),
          rawData: out.rawData.toString('base64'),
        };
        this.append(`error:${out.errorOutputType}`, `${JSON.stringify(document)}\n`, arrival, {
          errorOutputType: out.errorOutputType,
        });
      }
    }
  }

  /** Write every buffer now and wait until every object so far is written (retrying failures at once). */
  async flush(timeoutMs?: number): Promise<void> {
    for (const id of [...this.buffers.keys()]) this.seal(id);
    const pending = [...this.deliveries];
    for (const delivery of pending) delivery.wake?.();
    const all = Promise.all(pending.map((d) => d.done));
    if (timeoutMs === undefined) {
      await all;
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new FlushTimeout(
              `${this.spec.name}: ${this.deliveries.size} object(s) not written after ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      await Promise.race([all, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Write an object sealed earlier (e.g. kept from a previous run), with the same retries.
   * Resolves true once written, false if the stream stopped first.
   */
  enqueue(object: SealedObject): Promise<boolean> {
    return this.deliver(Promise.resolve(object));
  }

  /**
   * Stop: no more records, timers cleared, retries end after their current attempt. Returns the
   * objects not written, so the caller can keep them.
   */
  async stop(): Promise<SealedObject[]> {
    for (const id of [...this.buffers.keys()]) this.seal(id);
    this.stopped = true;
    const pending = [...this.deliveries];
    for (const delivery of pending) delivery.wake?.();
    await Promise.all(pending.map((d) => d.done));
    return pending.filter((d) => this.deliveries.has(d)).flatMap((d) => (d.object ? [d.object] : []));
  }

  /** Objects sealed and not yet written. */
  get pendingObjects(): number {
    return this.deliveries.size;
  }

  private append(
    id: string,
    data: string | Buffer,
    arrival: number,
    identity: { partitionKeys?: Readonly<Record<string, string>>; errorOutputType?: string },
  ): void {
    let buffer = this.buffers.get(id);
    if (!buffer) {
      const timer = setTimeout(() => this.seal(id), this.options.bufferIntervalMs);
      timer.unref();
      buffer = { body: new ObjectBody(this.spec.compression), oldestArrival: arrival, timer, ...identity };
      this.buffers.set(id, buffer);
    }
    buffer.body.append(data);
    if (buffer.body.size >= this.spec.bufferSizeBytes) this.seal(id);
  }

  /** Turn a buffer into an object with its final key, and start writing it. */
  private seal(id: string): void {
    const buffer = this.buffers.get(id);
    if (!buffer) return;
    this.buffers.delete(id);
    clearTimeout(buffer.timer);
    const arrival = new Date(buffer.oldestArrival);
    const prefix =
      buffer.errorOutputType === undefined
        ? this.spec.prefix.render({
            arrival,
            ...(buffer.partitionKeys ? { partitionKeys: buffer.partitionKeys } : {}),
          })
        : this.spec.errorOutputPrefix.render({ arrival, errorOutputType: buffer.errorOutputType });
    const key = `${prefix}${this.nameObject(arrival)}`;
    const { body } = buffer;
    this.deliver(
      body.finish().then((b) => ({
        bucket: this.spec.bucketName,
        key,
        body: b,
        records: body.records,
        bytes: body.bytes,
        oldestArrival: buffer.oldestArrival,
      })),
    );
  }

  private deliver(sealed: Promise<SealedObject>): Promise<boolean> {
    const delivery: { object?: SealedObject; wake?: () => void; done?: Promise<boolean> } = {};
    delivery.done = (async () => {
      const object = await sealed;
      delivery.object = object;
      for (let attempt = 1; ; attempt++) {
        try {
          await this.options.write(object.bucket, object.key, object.body);
          this.delivered(object);
          this.deliveries.delete(delivery as Delivery);
          return true;
        } catch (err) {
          this.failedDeliveries++;
          this.metric('DeliveryToS3.Success', 0, 'None');
          if (this.stopped) {
            this.options.log(
              `[firehose] ${this.spec.name}: s3://${object.bucket}/${object.key} not written (${(err as Error).message}); stopping`,
            );
            return false;
          }
          const delay = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** (attempt - 1));
          this.options.log(
            `[firehose] ${this.spec.name}: writing s3://${object.bucket}/${object.key} failed (attempt ${attempt}: ${(err as Error).message}); retrying in ${delay} ms`,
          );
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, delay);
            timer.unref();
            delivery.wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          delivery.wake = undefined;
        }
      }
    })();
    this.deliveries.add(delivery as Delivery);
    return delivery.done;
  }

  private delivered(object: SealedObject): void {
    this.deliveredObjects++;
    this.deliveredRecords += object.records;
    this.metric('DeliveryToS3.Success', 1, 'None');
    this.metric('DeliveryToS3.Records', object.records, 'Count');
    this.metric('DeliveryToS3.Bytes', object.bytes, 'Bytes');
    this.metric('DeliveryToS3.DataFreshness', (Date.now() - object.oldestArrival) / 1000, 'Seconds');
    if (this.options.logDeliveries)
      this.options.log(
        `[firehose] ${this.spec.name}: ${object.records} record(s) → s3://${object.bucket}/${object.key}`,
      );
  }

  private metric(name: string, value: number, unit: FirehoseMetric['unit']): void {
    if (!this.options.onMetric) return;
    try {
      this.options.onMetric({ streamName: this.spec.name, name, value, unit });
    } catch {
      // A metrics sink's failure never stops delivery.
    }
  }
}
