// Runs s3rver, the S3 emulator, on 127.0.0.1 over a folder, and forwards its object events.

import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { LOCAL_CLIENT_REGION, LOCAL_CREDENTIALS } from './local-aws.ts';

export { ensureBucketsFromTemplate, type TemplateBucket } from './s3-buckets.ts';

const require = createRequire(import.meta.url);

interface S3rverOptions {
  readonly port: number;
  readonly address: string;
  readonly directory: string;
  readonly silent: boolean;
}

/** The S3 notification record s3rver emits as `event` (one record per event). */
interface S3rverRecord {
  readonly eventName: string;
  readonly eventTime: string;
  readonly s3: {
    readonly bucket: { readonly name: string };
    readonly object: {
      readonly key: string;
      readonly size?: number;
      readonly eTag?: string;
      readonly sequencer: string;
    };
  };
}
interface S3rverEvent {
  readonly Records: readonly S3rverRecord[];
}
type S3rverListener = (event: S3rverEvent) => void;

/** The part of an s3rver instance (a Koa app) the runtime uses. */
export interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  on(event: 'event', listener: S3rverListener): unknown;
  off(event: 'event', listener: S3rverListener): unknown;
}
type S3rverConstructor = new (options: S3rverOptions) => S3rverInstance;

export interface StartS3Options {
  /** Folder holding the buckets (one sub-folder each); created when missing. Persists across runs. */
  readonly dataDir: string;
  /** @default 0: a free port */
  readonly port?: number;
  /** @default '127.0.0.1': an IP, so SDK clients use path-style addressing on their own */
  readonly host?: string;
}

/** A running s3rver. */
export interface LocalS3 {
  /** `http://127.0.0.1:<port>`, for clients and `AWS_ENDPOINT_URL_S3`. */
  readonly endpoint: string;
  readonly port: number;
  /** For `onObjectEvent`. */
  readonly server: S3rverInstance;
  /** Close the server; safe to call twice. */
  stop(): Promise<void>;
}

/** Start s3rver over `dataDir`. Loading it costs ~0.1–0.2 s (Koa, winston); listening a few ms. */
export async function startS3(options: StartS3Options): Promise<LocalS3> {
  const { dataDir, port = 0, host = '127.0.0.1' } = options;
  mkdirSync(dataDir, { recursive: true });
  const S3rver = require('s3rver') as S3rverConstructor;
  const server = new S3rver({ port, address: host, directory: dataDir, silent: true });
  const address = await server.run();
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://${host}:${address.port}`,
    port: address.port,
    server,
    stop: () => {
      stopped ??= server.close();
      return stopped;
    },
  };
}

/**
 * An S3 client for `endpoint` that s3rver can serve: path-style, the local credentials, and
 * checksums only when an operation requires them. With the SDK's default (`WHEN_SUPPORTED`) a
 * streamed upload is sent aws-chunked with a trailing checksum, and s3rver stores the framing
 * as part of the object.
 */
export function localS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: LOCAL_CLIENT_REGION,
    credentials: { ...LOCAL_CREDENTIALS },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** An object change in a local bucket, as S3 notifications and EventBridge describe it. */
export interface S3ObjectEvent {
  /**
   * As S3 names it, except that s3rver reports a completed multipart upload as
   * `ObjectCreated:Post` (S3: `ObjectCreated:CompleteMultipartUpload`).
   */
  readonly eventName:
    | 'ObjectCreated:Put'
    | 'ObjectCreated:Post'
    | 'ObjectCreated:Copy'
    | 'ObjectRemoved:Delete';
  readonly bucket: string;
  /** The key as stored, not URL-encoded (S3 notifications encode it: encode when building one). */
  readonly key: string;
  /** Bytes; absent for deletes. */
  readonly size?: number;
  /** MD5 hex without quotes; absent for copies and deletes. */
  readonly etag?: string;
  /** Orders events of one key: compare as strings (fixed-width hex, increasing). */
  readonly sequencer: string;
  /** ISO 8601. */
  readonly eventTime: string;
}

/**
 * Call `listener` for each object put, POST upload, multipart completion, copy and single
 * delete in `server` (s3rver emits nothing for multi-object deletes). It runs when the object is
 * stored, before the client gets its response. A throw or rejection goes to `onError`, never
 * into the request. Returns the function that unsubscribes.
 */
export function onObjectEvent(
  server: S3rverInstance,
  listener: (event: S3ObjectEvent) => void | Promise<void>,
  onError: (err: unknown, event: S3ObjectEvent) => void = (err, event) =>
    console.error(`S3 event listener failed for s3://${event.bucket}/${event.key}:`, err),
): () => void {
  const forward: S3rverListener = (raw) => {
    for (const record of raw.Records) {
      const event = toObjectEvent(record);
      try {
        Promise.resolve(listener(event)).catch((err: unknown) => onError(err, event));
      } catch (err) {
        onError(err, event);
      }
    }
  };
  server.on('event', forward);
  return () => {
    server.off('event', forward);
  };
}

// s3rver's sequencer is the time in ms: equal for events in the same ms. One sequencer per
// record, shared by every listener, made from time and a counter.
const sequencers = new WeakMap<S3rverRecord, string>();
let counter = 0;
let lastTime = 0;

function toObjectEvent(record: S3rverRecord): S3ObjectEvent {
  let sequencer = sequencers.get(record);
  if (!sequencer) {
    counter = (counter + 1) % 0x10000;
    lastTime = Math.max(lastTime, Date.now()); // never backwards, even if the clock is
    sequencer =
      `${lastTime.toString(16).padStart(12, '0')}${counter.toString(16).padStart(4, '0')}`.toUpperCase();
    sequencers.set(record, sequencer);
  }
  const { object, bucket } = record.s3;
  return {
    eventName: record.eventName as S3ObjectEvent['eventName'],
    bucket: bucket.name,
    key: object.key,
    ...(object.size !== undefined ? { size: object.size } : {}),
    ...(object.eTag !== undefined ? { etag: object.eTag } : {}),
    sequencer,
    eventTime: record.eventTime,
  };
}
