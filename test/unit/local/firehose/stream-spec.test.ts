import { describe, expect, it } from 'vitest';
import { CAPTURE_S3_PREFIX } from '../../../../functions/lib/capture/capture-record.ts';
import { deliveryStreamArn, readDeliveryStreams } from '../../../../local/firehose/stream-spec.ts';
import { defined } from '../defined.ts';
import { captureStack } from './capture-stack.ts';

/** The delivery stream resource of a template being edited. */
const streamIn = (t: { Resources: Record<string, any> }) =>
  Object.values(t.Resources).find((r) => r.Type === 'AWS::KinesisFirehose::DeliveryStream');

describe('readDeliveryStreams', () => {
  it('reads the capture stream: local bucket, prefixes, buffering, compression and processors', () => {
    const { stack, resolution, ids } = captureStack();
    const reading = readDeliveryStreams(stack, resolution);
    expect(reading.notEmulated).toEqual([]);
    expect(reading.warnings).toEqual([]);
    const spec = defined(reading.streams[0], 'the capture stream');
    expect(spec).toMatchObject({
      logicalId: ids.stream,
      name: `CaptureStack-${ids.stream}`,
      arn: deliveryStreamArn(`CaptureStack-${ids.stream}`),
      bucketName: resolution.physical.get(ids.bucket),
      bufferIntervalSeconds: 60,
      bufferSizeBytes: 64 * 1024 * 1024,
      compression: 'GZIP',
      extension: '.jsonl.gz',
      timeZone: 'UTC',
    });
    expect(spec.prefix.source).toBe(CAPTURE_S3_PREFIX);
    expect(spec.prefix.partitionKeys).toEqual(['model', 'dt', 'hour']);
    expect(spec.errorOutputPrefix.source).toBe(
      'capture-errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/',
    );
    expect(spec.processing).toMatchObject({
      decompression: 'GZIP',
      cloudWatchLogsExtraction: true,
      appendDelimiter: true,
    });
    expect(spec.processing.partitionQuery?.source).toBe(
      '{model: .model, dt: .time[0:10], hour: .time[11:13]}',
    );
  });

  it('adds Firehose’s time folders to a prefix without expressions when partitioning is off', () => {
    const { stack, resolution } = captureStack((t) => {
      const d = streamIn(t).Properties.ExtendedS3DestinationConfiguration;
      d.Prefix = 'raw/';
      d.DynamicPartitioningConfiguration = { Enabled: false };
      d.ProcessingConfiguration.Processors = d.ProcessingConfiguration.Processors.filter(
        (p: { Type: string }) => p.Type !== 'MetadataExtraction',
      );
    });
    const spec = defined(readDeliveryStreams(stack, resolution).streams[0], 'the stream');
    expect(spec.prefix.source).toBe('raw/!{timestamp:yyyy/MM/dd/HH}/');
    expect(spec.prefix.render({ arrival: new Date('2026-01-02T03:04:05Z') })).toBe('raw/2026/01/02/03/');
  });

  it('reports what it cannot run as AWS would, by logical id', () => {
    const cases: Array<[(d: any, p: any) => void, RegExp]> = [
      [
        (_, p) => {
          p.DeliveryStreamType = 'KinesisStreamAsSource';
        },
        /only DirectPut/,
      ],
      [
        (d) => {
          d.CompressionFormat = 'ZIP';
        },
        /CompressionFormat ZIP/,
      ],
      [
        (d) => {
          d.ProcessingConfiguration.Processors.push({ Type: 'Lambda', Parameters: [] });
        },
        /Lambda processors/,
      ],
      [
        (d) => {
          d.ProcessingConfiguration.Processors[2].Parameters[0].ParameterValue =
            '{model: .model | strftime("%Y")}';
        },
        /MetadataExtractionQuery: strftime is not supported/,
      ],
      [
        (d) => {
          delete d.ErrorOutputPrefix;
        },
        /needs an ErrorOutputPrefix/,
      ],
      [
        (d) => {
          d.DataFormatConversionConfiguration = { Enabled: true };
        },
        /format conversion/,
      ],
      [
        (d) => {
          d.ProcessingConfiguration.Processors.shift();
        },
        /needs the Decompression processor/,
      ],
      [
        (d) => {
          d.Prefix = 'k=!{partitionKeyFromLambda:k}/';
        },
        /partitionKeyFromLambda/,
      ],
    ];
    for (const [edit, reason] of cases) {
      const { stack, resolution, ids } = captureStack((t) => {
        const props = streamIn(t).Properties;
        edit(props.ExtendedS3DestinationConfiguration, props);
      });
      const reading = readDeliveryStreams(stack, resolution);
      expect(reading.streams, String(reason)).toEqual([]);
      expect(reading.notEmulated).toEqual([{ logicalId: ids.stream, reason: expect.stringMatching(reason) }]);
    }
  });
});
