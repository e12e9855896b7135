// The EventBridge event S3 sends for an object created in a bucket with EventBridge enabled
// (S3 user guide, "EventBridge event message structure"), made from a local s3rver event.
import { randomBytes, randomUUID } from 'node:crypto';
import type { S3ObjectEvent } from '../emulators/s3.ts';
import { DEFAULT_LOCAL_REGION, LOCAL_ACCOUNT_ID } from '../template/pseudo-parameters.ts';

/** An event as EventBridge delivers it to a rule's targets. */
export interface EventBridgeEvent {
  readonly version: string;
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  /** ISO 8601 to the second, e.g. `2021-11-12T00:00:00Z`. */
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: unknown;
}

/** `detail` of an S3 "Object Created" event. */
export interface ObjectCreatedDetail {
  readonly version: '0';
  readonly bucket: { readonly name: string };
  readonly object: {
    readonly key: string;
    readonly size?: number;
    readonly etag?: string;
    readonly 'version-id'?: string;
    readonly sequencer: string;
  };
  readonly 'request-id': string;
  readonly requester: string;
  readonly 'source-ip-address': string;
  readonly reason: 'PutObject' | 'CopyObject' | 'CompleteMultipartUpload';
}

/**
 * The API call S3 names as the reason. s3rver reports a completed multipart upload as
 * `ObjectCreated:Post` (it has no browser POST uploads of its own to confuse it with).
 */
const REASONS: Readonly<Record<string, ObjectCreatedDetail['reason']>> = {
  'ObjectCreated:Put': 'PutObject',
  'ObjectCreated:Copy': 'CopyObject',
  'ObjectCreated:Post': 'CompleteMultipartUpload',
};

/** Whether `event` is an object creation (what becomes "Object Created"). */
export function isObjectCreated(event: S3ObjectEvent): boolean {
  return Object.hasOwn(REASONS, event.eventName);
}

/**
 * The "Object Created" event for `created` (an `ObjectCreated:*` event): the key as stored (not
 * URL-encoded), size and ETag when known, the local account and region, requester the account
 * and source IP 127.0.0.1. `id` defaults to a new UUID.
 */
export function objectCreatedEvent(created: S3ObjectEvent, id: string = randomUUID()): EventBridgeEvent {
  const reason = REASONS[created.eventName];
  if (!reason) throw new Error(`${created.eventName} is not an object creation`);
  const detail: ObjectCreatedDetail = {
    version: '0',
    bucket: { name: created.bucket },
    object: {
      key: created.key,
      ...(created.size === undefined ? {} : { size: created.size }),
      ...(created.etag === undefined ? {} : { etag: created.etag }),
      sequencer: created.sequencer,
    },
    'request-id': randomBytes(8).toString('hex').toUpperCase(),
    requester: LOCAL_ACCOUNT_ID,
    'source-ip-address': '127.0.0.1',
    reason,
  };
  return {
    version: '0',
    id,
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: LOCAL_ACCOUNT_ID,
    time: toSecond(created.eventTime),
    region: DEFAULT_LOCAL_REGION,
    resources: [`arn:aws:s3:::${created.bucket}`],
    detail,
  };
}

/** `2021-11-12T00:00:00.123Z` → `2021-11-12T00:00:00Z`, as EventBridge writes times. */
function toSecond(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${date.toISOString().slice(0, 19)}Z`;
}
