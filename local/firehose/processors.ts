// The record transformations a delivery stream declares, run on each incoming record in
// Firehose's order: decompression (of CloudWatch Logs subscription payloads), CloudWatch Logs
// message extraction (one record per log event), inline-parsing partition keys (jq), and the
// newline appended to each record. A record a step cannot handle fails to the error output.
import { gunzipSync } from 'node:zlib';
import { encodeEnvelope, envelopeJson, type SubscriptionEnvelope } from '../logs/subscription-filters.ts';
import { JqError, type JqProgram } from './jq.ts';

/** The processors of a stream, as read from its ProcessingConfiguration. */
export interface ProcessingSpec {
  /** Decompression processor (CloudWatch Logs sends gzip). */
  readonly decompression?: 'GZIP';
  /** CloudWatchLogProcessing with DataMessageExtraction: records become the log events' messages. */
  readonly cloudWatchLogsExtraction: boolean;
  /** MetadataExtraction (inline parsing): partition keys from each record. */
  readonly partitionQuery?: JqProgram;
  /** AppendDelimiterToRecord: a newline after each record. */
  readonly appendDelimiter: boolean;
}

/** A record ready for its partition's buffer. */
export interface ProcessedRecord {
  readonly kind: 'record';
  /** The record as written (a string is UTF-8 text). */
  readonly data: Buffer | string;
  /** Key → value of every `partitionKeyFromQuery` the prefix uses; absent without inline parsing. */
  readonly partitionKeys?: Readonly<Record<string, string>>;
}

/** A record a processor could not handle: it goes to the error output under `errorOutputType`. */
export interface FailedRecord {
  readonly kind: 'failed';
  readonly errorOutputType: string;
  readonly errorCode: string;
  readonly errorMessage: string;
  /** The record as it was when the step failed. */
  readonly rawData: Buffer;
}

/** Where a record whose partition keys cannot be extracted goes (`!{firehose:error-output-type}`). */
export const PARTITIONING_FAILED = 'partitioning-failed';
/** Where a record that cannot be decompressed goes. */
export const DECOMPRESSION_FAILED = 'decompression-failed';
/** Where a record another processor cannot handle goes. */
export const PROCESSING_FAILED = 'processing-failed';

/** Run one incoming record through the stream's processors; a record may become several (log events). */
export function processRecord(
  data: Buffer,
  spec: ProcessingSpec,
  partitionKeys: readonly string[],
): Array<ProcessedRecord | FailedRecord> {
  let records: Buffer[] = [data];
  if (spec.decompression) {
    try {
      records = [gunzipSync(data)];
    } catch (err) {
      return [failed(DECOMPRESSION_FAILED, 'Decompression.Failed', (err as Error).message, data)];
    }
  }
  if (spec.cloudWatchLogsExtraction) {
    const record = records[0] as Buffer;
    const messages = logEventMessages(record);
    if (typeof messages === 'string')
      return [failed(PROCESSING_FAILED, 'CloudWatchLogProcessing.ExtractionFailed', messages, record)];
    records = messages;
  }
  return records.map((record) => partition(record, spec, partitionKeys));
}

/**
 * Run a CloudWatch Logs subscription envelope through the processors as if it had arrived
 * gzipped (`encodeEnvelope`), with the same result. A stream that decompresses it skips the
 * compression round trip, and one that also extracts the messages skips the JSON one: the
 * records are the log events' messages, as they would come out of both (parsed only once when
 * the filter pattern parsed them already).
 */
export function processEnvelope(
  envelope: SubscriptionEnvelope,
  spec: ProcessingSpec,
  partitionKeys: readonly string[],
): Array<ProcessedRecord | FailedRecord> {
  if (!spec.decompression) return processRecord(encodeEnvelope(envelope), spec, partitionKeys);
  if (!spec.cloudWatchLogsExtraction)
    return [partition(Buffer.from(envelopeJson(envelope), 'utf8'), spec, partitionKeys)];
  return envelope.logEvents.map((event) => partitionMessage(event.message, event.json, spec, partitionKeys));
}

function partition(
  record: Buffer,
  spec: ProcessingSpec,
  keys: readonly string[],
): ProcessedRecord | FailedRecord {
  const data = spec.appendDelimiter ? Buffer.concat([record, NEWLINE]) : record;
  if (!spec.partitionQuery) return { kind: 'record', data };
  let input: unknown;
  try {
    input = JSON.parse(record.toString('utf8'));
  } catch {
    return failedPartitioning('Non JSON record provided', record);
  }
  return withPartitionKeys(data, input, spec.partitionQuery, keys, () => record);
}

/** `partition` for a record that is a log event's message (`json`: the message parsed, if it was). */
function partitionMessage(
  message: string,
  json: object | undefined,
  spec: ProcessingSpec,
  keys: readonly string[],
): ProcessedRecord | FailedRecord {
  const data = spec.appendDelimiter ? `${message}\n` : message;
  if (!spec.partitionQuery) return { kind: 'record', data };
  let input: unknown = json;
  if (input === undefined)
    try {
      input = JSON.parse(message);
    } catch {
      return failedPartitioning('Non JSON record provided', Buffer.from(message, 'utf8'));
    }
  return withPartitionKeys(data, input, spec.partitionQuery, keys, () => Buffer.from(message, 'utf8'));
}

/** The record with the partition keys `query` gives for `input`, or the failure (`raw`: the record as it was). */
function withPartitionKeys(
  data: Buffer | string,
  input: unknown,
  query: JqProgram,
  keys: readonly string[],
  raw: () => Buffer,
): ProcessedRecord | FailedRecord {
  let output: unknown;
  try {
    output = query.evaluate(input);
  } catch (err) {
    if (err instanceof JqError) return failedPartitioning(`jq: ${err.message}`, raw());
    throw err;
  }
  if (output === null || typeof output !== 'object' || Array.isArray(output))
    return failedPartitioning('The metadata extraction query did not produce a JSON object', raw());
  const values: Record<string, string> = {};
  for (const key of keys) {
    const value = (output as Record<string, unknown>)[key];
    if (typeof value === 'string') values[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') values[key] = String(value);
    else
      return failedPartitioning(
        `Partition key ${key} is ${value === undefined || value === null ? 'missing' : 'not a scalar'}`,
        raw(),
      );
    if (values[key] === '') return failedPartitioning(`Partition key ${key} is empty`, raw());
  }
  return { kind: 'record', data, partitionKeys: values };
}

const failedPartitioning = (message: string, rawData: Buffer) =>
  failed(PARTITIONING_FAILED, 'DynamicPartitioning.MetadataExtractionFailed', message, rawData);

const NEWLINE = Buffer.from('\n');

function failed(
  errorOutputType: string,
  errorCode: string,
  errorMessage: string,
  rawData: Buffer,
): FailedRecord {
  return { kind: 'failed', errorOutputType, errorCode, errorMessage, rawData };
}

/**
 * The messages of a CloudWatch Logs subscription payload (`DATA_MESSAGE`); none for the
 * `CONTROL_MESSAGE` CloudWatch Logs sends to check a destination. A string is why it failed.
 */
function logEventMessages(payload: Buffer): Buffer[] | string {
  let envelope: { messageType?: unknown; logEvents?: unknown };
  try {
    envelope = JSON.parse(payload.toString('utf8')) as typeof envelope;
  } catch {
    return 'not a CloudWatch Logs subscription payload: not JSON';
  }
  if (envelope?.messageType === 'CONTROL_MESSAGE') return [];
  if (envelope?.messageType !== 'DATA_MESSAGE' || !Array.isArray(envelope.logEvents))
    return 'not a CloudWatch Logs subscription payload: no DATA_MESSAGE with logEvents';
  return envelope.logEvents.map((e: { message?: unknown }) => Buffer.from(String(e?.message ?? ''), 'utf8'));
}
