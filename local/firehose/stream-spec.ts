// Reads the Firehose delivery streams a stack declares (`AWS::KinesisFirehose::DeliveryStream`
// with an S3 destination) into what the local stream runs: bucket, prefixes, buffering hints,
// compression and processors, intrinsics resolved. What cannot run locally as it would on AWS
// (other sources or destinations, Lambda processors, format conversion, jq beyond the local
// subset) is returned as not emulated, with the reason.
import type { StackResolution } from '../stack-resolution.ts';
import type { AssemblyStack } from '../template/cloud-assembly.ts';
import { resolveValue } from '../template/intrinsics.ts';
import { DEFAULT_LOCAL_REGION, LOCAL_ACCOUNT_ID } from '../template/pseudo-parameters.ts';
import { compileJq } from './jq.ts';
import type { ProcessingSpec } from './processors.ts';
import { type CompiledPrefix, compilePrefix, DEFAULT_TIME_PREFIX } from './s3-prefix.ts';

export const DELIVERY_STREAM_TYPE = 'AWS::KinesisFirehose::DeliveryStream';

/** A delivery stream with an S3 destination, as the local runtime runs it. */
export interface DeliveryStreamSpec {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly bucketName: string;
  readonly prefix: CompiledPrefix;
  readonly errorOutputPrefix: CompiledPrefix;
  /** The template's buffering hints (the local interval is shorter, see LocalFirehoseOptions). */
  readonly bufferIntervalSeconds: number;
  readonly bufferSizeBytes: number;
  readonly compression: 'UNCOMPRESSED' | 'GZIP';
  /** Appended to object names: FileExtension, else `.gz` for GZIP, else ''. */
  readonly extension: string;
  readonly timeZone: string;
  readonly processing: ProcessingSpec;
}

export interface DeliveryStreamReading {
  readonly streams: DeliveryStreamSpec[];
  /** Streams declared but not run locally, with why. */
  readonly notEmulated: Array<{ readonly logicalId: string; readonly reason: string }>;
  readonly warnings: string[];
}

/** The stream's ARN, as `Fn::GetAtt [Stream, Arn]` gives it locally. */
export function deliveryStreamArn(name: string): string {
  return `arn:aws:firehose:${DEFAULT_LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:deliverystream/${name}`;
}

/** The stream name in a Firehose ARN, or undefined for any other ARN. */
export function parseDeliveryStreamArn(arn: string): string | undefined {
  return /^arn:aws[a-z-]*:firehose:[^:]*:[^:]*:deliverystream\/(.+)$/.exec(arn)?.[1];
}

/** The local name of stream `logicalId`: its DeliveryStreamName, else what `Ref` gives. */
export function deliveryStreamName(
  stack: AssemblyStack,
  resolution: StackResolution,
  logicalId: string,
): string {
  const explicit = stack.template.Resources?.[logicalId]?.Properties?.DeliveryStreamName;
  if (typeof explicit === 'string') return explicit;
  return resolution.physical.get(logicalId) ?? String(resolution.ctx.ref(logicalId) ?? logicalId);
}

/** Why a stream is not run locally. */
class NotEmulated extends Error {}

const UNSUPPORTED_DESTINATIONS = [
  'RedshiftDestinationConfiguration',
  'ElasticsearchDestinationConfiguration',
  'AmazonopensearchserviceDestinationConfiguration',
  'AmazonOpenSearchServerlessDestinationConfiguration',
  'SplunkDestinationConfiguration',
  'HttpEndpointDestinationConfiguration',
  'SnowflakeDestinationConfiguration',
  'IcebergDestinationConfiguration',
];

/** The stack's delivery streams. */
export function readDeliveryStreams(
  stack: AssemblyStack,
  resolution: StackResolution,
): DeliveryStreamReading {
  const reading: DeliveryStreamReading = { streams: [], notEmulated: [], warnings: [] };
  for (const [logicalId, r] of Object.entries(stack.template.Resources ?? {})) {
    if (r.Type !== DELIVERY_STREAM_TYPE) continue;
    try {
      const p = resolveValue(
        r.Properties ?? {},
        resolution.ctx,
        `Resources.${logicalId}.Properties`,
      ) as Record<string, unknown>;
      const name = deliveryStreamName(stack, resolution, logicalId);
      const warn = (text: string) => reading.warnings.push(`${logicalId}: ${text}`);
      reading.streams.push(readStream(logicalId, name, p, warn));
    } catch (err) {
      reading.notEmulated.push({ logicalId, reason: (err as Error).message });
    }
  }
  return reading;
}

type Props = Readonly<Record<string, unknown>>;

function readStream(
  logicalId: string,
  name: string,
  p: Props,
  warn: (text: string) => void,
): DeliveryStreamSpec {
  const type = String(p.DeliveryStreamType ?? 'DirectPut');
  if (type !== 'DirectPut') throw new NotEmulated(`source ${type}: only DirectPut streams are run locally`);
  const other = UNSUPPORTED_DESTINATIONS.find((key) => p[key] !== undefined);
  if (other) throw new NotEmulated(`${other}: only S3 destinations are run locally`);
  const extended = p.ExtendedS3DestinationConfiguration as Props | undefined;
  const d = extended ?? (p.S3DestinationConfiguration as Props | undefined);
  if (!d) throw new NotEmulated('no S3 destination');

  const bucketArn = String(d.BucketARN ?? '');
  const bucketName = /^arn:aws[a-z-]*:s3:::([^/]+)$/.exec(bucketArn)?.[1];
  if (!bucketName) throw new NotEmulated(`BucketARN ${bucketArn} is not a bucket ARN`);

  const dynamic = (d.DynamicPartitioningConfiguration as Props | undefined)?.Enabled;
  const dynamicPartitioning = dynamic === true || dynamic === 'true';
  const format = (d.DataFormatConversionConfiguration as Props | undefined)?.Enabled;
  if (format !== undefined && format !== false && format !== 'false')
    throw new NotEmulated('record format conversion (Parquet/ORC) is not run locally');
  const compression = String(d.CompressionFormat ?? 'UNCOMPRESSED');
  if (compression !== 'UNCOMPRESSED' && compression !== 'GZIP')
    throw new NotEmulated(`CompressionFormat ${compression}: only GZIP and UNCOMPRESSED are run locally`);
  if (String(d.S3BackupMode ?? 'Disabled') !== 'Disabled')
    warn('S3 backup of source records is not run locally; records are delivered to the destination only');

  const timeZone = String(d.CustomTimeZone ?? 'UTC');
  const processing = readProcessors(d.ProcessingConfiguration as Props | undefined);
  if (processing.partitionQuery && !dynamicPartitioning)
    throw new NotEmulated('MetadataExtraction needs dynamic partitioning, which is off');

  const declared = d.Prefix === undefined ? '' : String(d.Prefix);
  // A prefix with no expression gets Firehose's time folders; with dynamic partitioning it is used as is.
  const prefix = compilePrefix(
    !dynamicPartitioning && !declared.includes('!{') ? `${declared}${DEFAULT_TIME_PREFIX}` : declared,
    timeZone,
  );
  if (prefix.partitionKeys.length > 0 && !processing.partitionQuery)
    throw new NotEmulated(
      'the prefix uses partitionKeyFromQuery but no MetadataExtraction processor gives keys',
    );
  if (dynamicPartitioning && d.ErrorOutputPrefix === undefined)
    throw new NotEmulated('dynamic partitioning needs an ErrorOutputPrefix (Firehose refuses the stream)');
  const errorText =
    d.ErrorOutputPrefix === undefined
      ? `!{firehose:error-output-type}/${DEFAULT_TIME_PREFIX}`
      : String(d.ErrorOutputPrefix);
  const errorOutputPrefix = compilePrefix(errorText, timeZone);
  if (errorOutputPrefix.partitionKeys.length > 0)
    throw new NotEmulated('ErrorOutputPrefix cannot use partitionKeyFromQuery');

  const hints = (d.BufferingHints ?? {}) as Props;
  const extension =
    d.FileExtension !== undefined ? String(d.FileExtension) : compression === 'GZIP' ? '.gz' : '';
  return {
    logicalId,
    name,
    arn: deliveryStreamArn(name),
    bucketName,
    prefix,
    errorOutputPrefix,
    bufferIntervalSeconds: Number(hints.IntervalInSeconds ?? 300),
    bufferSizeBytes: Number(hints.SizeInMBs ?? (dynamicPartitioning ? 128 : 5)) * 1024 * 1024,
    compression,
    extension,
    timeZone,
    processing,
  };
}

function readProcessors(config: Props | undefined): ProcessingSpec {
  const none: ProcessingSpec = { cloudWatchLogsExtraction: false, appendDelimiter: false };
  const enabled = config?.Enabled;
  if (!config || enabled === false || enabled === 'false') return none;
  const processors = (config.Processors ?? []) as Array<{ Type?: unknown; Parameters?: unknown }>;
  let spec: {
    -readonly [K in keyof ProcessingSpec]: ProcessingSpec[K];
  } = { ...none };
  for (const processor of processors) {
    const params = Object.fromEntries(
      ((processor.Parameters ?? []) as Array<{ ParameterName?: unknown; ParameterValue?: unknown }>).map(
        (x) => [String(x.ParameterName), String(x.ParameterValue)],
      ),
    );
    const type = String(processor.Type);
    switch (type) {
      case 'Decompression': {
        const format = params.CompressionFormat ?? 'GZIP';
        if (format !== 'GZIP') throw new NotEmulated(`Decompression of ${format} is not run locally`);
        spec = { ...spec, decompression: 'GZIP' };
        break;
      }
      case 'CloudWatchLogProcessing':
        if (params.DataMessageExtraction !== 'true')
          throw new NotEmulated('CloudWatchLogProcessing without DataMessageExtraction is not run locally');
        spec = { ...spec, cloudWatchLogsExtraction: true };
        break;
      case 'MetadataExtraction': {
        const engine = params.JsonParsingEngine ?? 'JQ-1.6';
        if (engine !== 'JQ-1.6') throw new NotEmulated(`JsonParsingEngine ${engine} is not run locally`);
        const query = params.MetadataExtractionQuery;
        if (!query) throw new NotEmulated('MetadataExtraction without a MetadataExtractionQuery');
        try {
          spec = { ...spec, partitionQuery: compileJq(query) };
        } catch (err) {
          throw new NotEmulated(`MetadataExtractionQuery: ${(err as Error).message}`);
        }
        break;
      }
      case 'AppendDelimiterToRecord':
        spec = { ...spec, appendDelimiter: true };
        break;
      default:
        throw new NotEmulated(`${type} processors are not run locally`);
    }
  }
  if (spec.cloudWatchLogsExtraction && !spec.decompression)
    throw new NotEmulated('CloudWatchLogProcessing needs the Decompression processor before it');
  return spec;
}
