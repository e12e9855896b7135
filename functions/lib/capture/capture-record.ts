// One captured prediction (DESIGN.md "Inference capture"): what the model was asked, what it saw
// after preprocessing, and what it answered. One home for the record's shape: the predict
// function writes it, the delivery stream partitions it, the drift check and replays read it.
import * as z from 'zod';

/**
 * Marks a log line as a capture record. The log subscription that feeds the delivery stream
 * matches on it (`{ $.kind = "inference-capture" }`), so other log lines never reach S3.
 */
export const CAPTURE_RECORD_KIND = 'inference-capture';

/** CloudWatch Logs filter pattern selecting capture records among a function's log lines. */
export const CAPTURE_FILTER_PATTERN = `{ $.kind = "${CAPTURE_RECORD_KIND}" }`;

/**
 * Firehose inline-parsing (jq 1.6) query giving the partition keys of a capture record: the
 * model, and the UTC date and hour of the record's own `time`, so a record lands in the hour it
 * was made, not the hour it was delivered. Keys match `capturePartitionPrefix`.
 */
export const CAPTURE_PARTITION_QUERY = '{model: .model, dt: .time[0:10], hour: .time[11:13]}';

/** S3 prefix template for the delivery stream, rendering to `capturePartitionPrefix(model, time)`. */
export const CAPTURE_S3_PREFIX =
  'capture/model=!{partitionKeyFromQuery:model}/dt=!{partitionKeyFromQuery:dt}/hour=!{partitionKeyFromQuery:hour}/';

/** Who a capture record's answer was for: see `CaptureRecord.role`. */
export const CAPTURE_ROLES = ['live', 'shadow'] as const;
export type CaptureRole = (typeof CAPTURE_ROLES)[number];

export const CaptureRecordSchema = z.object({
  kind: z.literal(CAPTURE_RECORD_KIND),
  /** When the prediction was answered, ISO-8601 UTC with milliseconds. */
  time: z.iso.datetime(),
  /** API Gateway's request id (the Lambda request id when invoked directly). */
  requestId: z.string(),
  /** Position of this instance in its request. */
  index: z.number().int().min(0),
  model: z.string(),
  /** Registry version of the model that scored it. */
  version: z.number().int().positive(),
  /** Lambda version of the predict function that served it (`$LATEST` when unpublished): tells champion from challenger during a release. */
  functionVersion: z.string(),
  /** Latency of the whole request, in milliseconds (every instance of a request has the same). */
  latencyMs: z.number().min(0),
  /** The instance as received, after validation. */
  input: z.record(z.string(), z.unknown()),
  /** The model's input vector after preprocessing (the feature set's encoding). */
  features: z.array(z.number()),
  score: z.number(),
  label: z.union([z.literal(0), z.literal(1)]),
  /** Share of requests captured when this one was (1 = all): to weigh counts back up. */
  sampleRate: z.number().gt(0).max(1),
  /**
   * `live`: the answer a client got. `shadow`: a challenger's answer to a copy of a live request
   * (functions/lib/releases/shadow-copy.ts), never seen by anyone; drift checks and health
   * comparisons of the served path leave these out. Absent means `live` (see `captureRole`):
   * live records carry no role, so they are what they were before shadows existed.
   */
  role: z.enum(CAPTURE_ROLES).optional(),
  /** Shadow records: the `requestId` of the live request this one is a copy of (joined on it and `index`). */
  shadowOf: z.string().optional(),
});

export type CaptureRecord = z.output<typeof CaptureRecordSchema>;

/** A record's role; records without one are live. */
export const captureRole = (record: Pick<CaptureRecord, 'role'>): CaptureRole => record.role ?? 'live';
