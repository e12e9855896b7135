// A subscription's envelopes go through a stream's processors without the gzip (and JSON) round
// trip when the stream would undo it anyway: the records must be exactly those the round trip
// gives, for every combination of processors, including the ones that fail to the error output.
import { describe, expect, it } from 'vitest';
import {
  CAPTURE_FILTER_PATTERN,
  CAPTURE_PARTITION_QUERY,
} from '../../../../functions/lib/capture/capture-record.ts';
import { compileJq } from '../../../../local/firehose/jq.ts';
import {
  type FailedRecord,
  type ProcessedRecord,
  type ProcessingSpec,
  processEnvelope,
  processRecord,
} from '../../../../local/firehose/processors.ts';
import { compileFilterPattern } from '../../../../local/logs/filter-pattern.ts';
import { encodeEnvelope, type SubscriptionEnvelope } from '../../../../local/logs/subscription-filters.ts';

const KEYS = ['model', 'dt', 'hour'];
const capture = (model: string, hour: string) =>
  JSON.stringify({ kind: 'inference-capture', model, time: `2026-11-27T${hour}:15:00.000Z`, note: 'é ✓' });
const pattern = compileFilterPattern(CAPTURE_FILTER_PATTERN);
const messages = [
  capture('a', '07'),
  capture('b', '08'),
  JSON.stringify({ kind: 'inference-capture', model: 'a' }), // no time: partitioning fails
  JSON.stringify({ kind: 'inference-capture', model: '', time: '2026-11-27T07:00:00Z' }), // empty key
];
const envelope: SubscriptionEnvelope = {
  messageType: 'DATA_MESSAGE',
  owner: '000000000000',
  logGroup: '/aws/lambda/predict',
  logStream: '2026/11/27/[1]local',
  subscriptionFilters: ['Capture'],
  logEvents: messages.map((message, i) => {
    const json = pattern.matchEvent(message);
    return {
      id: `1${i}`,
      timestamp: 1_795_771_446_897 + i,
      message,
      ...(typeof json === 'object' ? { json } : {}),
    };
  }),
};

/** Records as comparable plain values (text and buffers alike). */
const plain = (records: Array<ProcessedRecord | FailedRecord>) =>
  records.map((r) =>
    r.kind === 'record'
      ? { ...r, data: Buffer.from(r.data).toString('utf8') }
      : { ...r, rawData: r.rawData.toString('utf8') },
  );

const specs: Record<string, ProcessingSpec> = {
  'decompression, extraction, partition keys, delimiter': {
    decompression: 'GZIP',
    cloudWatchLogsExtraction: true,
    partitionQuery: compileJq(CAPTURE_PARTITION_QUERY),
    appendDelimiter: true,
  },
  'decompression and extraction only': {
    decompression: 'GZIP',
    cloudWatchLogsExtraction: true,
    appendDelimiter: false,
  },
  'decompression only (records are the envelopes)': {
    decompression: 'GZIP',
    cloudWatchLogsExtraction: false,
    appendDelimiter: true,
  },
  'no processors (records stay gzipped)': { cloudWatchLogsExtraction: false, appendDelimiter: false },
};

describe('processEnvelope', () => {
  for (const [name, spec] of Object.entries(specs))
    it(`gives the records the gzipped envelope gives: ${name}`, () => {
      const keys = spec.partitionQuery ? KEYS : [];
      const direct = processEnvelope(envelope, spec, keys);
      const roundTrip = processRecord(encodeEnvelope(envelope), spec, keys);
      if (spec.decompression) expect(plain(direct)).toEqual(plain(roundTrip));
      // Without decompression the record is the gzip itself, compressed afresh each time.
      else expect(direct.map((r) => r.kind)).toEqual(roundTrip.map((r) => r.kind));
    });

  it('partitions by the JSON the filter pattern parsed, and fails records as the round trip does', () => {
    const spec = specs['decompression, extraction, partition keys, delimiter'] as ProcessingSpec;
    const records = processEnvelope(envelope, spec, KEYS);
    expect(records.map((r) => (r.kind === 'record' ? r.partitionKeys : r.errorMessage))).toEqual([
      { model: 'a', dt: '2026-11-27', hour: '07' },
      { model: 'b', dt: '2026-11-27', hour: '08' },
      'Partition key dt is missing',
      'Partition key model is empty',
    ]);
  });

  it('leaves the parsed JSON out of what CloudWatch Logs sends', () => {
    const sent = JSON.parse(
      processRecord(
        encodeEnvelope(envelope),
        specs['decompression only (records are the envelopes)'] as ProcessingSpec,
        [],
      )
        .map((r) => (r.kind === 'record' ? Buffer.from(r.data).toString('utf8') : ''))
        .join(''),
    );
    expect(sent.logEvents[0]).toEqual({ id: '10', timestamp: 1_795_771_446_897, message: messages[0] });
  });
});
