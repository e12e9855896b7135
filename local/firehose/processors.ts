// The record transformations a delivery stream declares, run on each incoming record in
// Firehose's order: decompression (of CloudWatch Logs subscription payloads), CloudWatch Logs
// message extraction (one record per log event), inline-parsing partition keys (jq), and the
// newline appended to each record. A record a step cannot handle fails to the error output.
import { gunzipSync } from 'node:zlib';
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
  readonly data: Buffer;
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

function partition(
  record: Buffer,
  spec: ProcessingSpec,
  keys: readonly string[],
): ProcessedRecord | FailedRecord {
  const delimited = spec.appendDelimiter ? Buffer.concat([record, NEWLINE]) : record;
  if (!spec.partitionQuery) return { kind: 'record', data: delimited };
  const fail = (message: string) =>
    failed(PARTITIONING_FAILED, 'DynamicPartitioning.MetadataExtractionFailed', message, record);
  let input: unknown;
  try {
    input = JSON.parse(record.toString('utf8'));
  } catch {
    return fail('Non JSON record provided');
  }
  let output: unknown;
  try {
    output = spec.partitionQuery.evaluate(input);
  } catch (err) {
    if (err instanceof JqError) return fail(`jq: ${err.message}`);
    throw err;
  }
  if (output === null || typeof output !== 'object' || Array.isArray(output))
    return fail('The metadata extraction query did not produce a JSON object');
  const values: Record<string, string> = {};
  for (const key of keys) {
    const value = (output as Record<string, unknown>)[key];
    if (typeof value === 'string') values[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') values[key] = String(value);
    else
      return fail(
        `Partition key ${key} is ${value === undefined || value === null ? 'missing' : 'not a scalar'}`,
      );
    if (values[key] === '') return fail(`Partition key ${key} is empty`);
  }
  return { kind: 'record', data: delimited, partitionKeys: values };
}

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
