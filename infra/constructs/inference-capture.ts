// Inference capture delivery (DESIGN.md "Inference capture"): the predict function writes each
// capture record as one JSON log line; a CloudWatch Logs subscription filter selects those lines
// and hands them to an Amazon Data Firehose stream, which decompresses the CloudWatch Logs
// envelope, extracts each message, partitions it by the record's own model, date and hour (jq
// inline parsing), gzips and writes it under `capture/model=…/dt=…/hour=…/` in the data bucket.
// Nothing on the prediction path waits for it, a frozen execution environment loses nothing
// (Lambda ships logs itself), and every part is managed and costs nothing when idle.
import { ArnFormat, Duration, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as destinations from 'aws-cdk-lib/aws-logs-destinations';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  CAPTURE_FILTER_PATTERN,
  CAPTURE_PARTITION_QUERY,
  CAPTURE_S3_PREFIX,
} from '../../functions/lib/capture/capture-record.ts';
import { CAPTURE_PREFIX } from '../../functions/lib/storage/s3-layout.ts';
import { acknowledgePrefixWildcard } from './secure-bucket.ts';

/** Where records the stream cannot deliver go (partition keys missing, not JSON, …), by error type and day. */
export const CAPTURE_ERRORS_PREFIX = 'capture-errors/';
/** Extension of capture objects: gzipped JSON Lines, one capture record per line. */
export const CAPTURE_FILE_EXTENSION = '.jsonl.gz';
const CAPTURE_ERROR_OUTPUT_PREFIX = `${CAPTURE_ERRORS_PREFIX}!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/`;

export interface InferenceCaptureProps {
  /** The predict function's log group (`MlFunction.logGroup`), where capture records are logged. */
  readonly logGroup: logs.ILogGroup;
  /** The data bucket (`DataStore.bucket`): records land under `capture/`, failures under `capture-errors/`. */
  readonly bucket: s3.IBucket;
  /**
   * How long Firehose buffers a partition before writing it: the longest a capture waits to be
   * readable. Firehose's minimum with dynamic partitioning is 60 s.
   * @default Duration.seconds(60)
   */
  readonly bufferingInterval?: Duration;
  /**
   * Buffer size that triggers a write before the interval ends; at least 64 MiB with dynamic
   * partitioning.
   * @default Size.mebibytes(64)
   */
  readonly bufferingSize?: Size;
  /** Retention of the stream's delivery-error log. @default logs.RetentionDays.ONE_MONTH */
  readonly errorLogRetention?: logs.RetentionDays;
}

/** The subscription filter → Firehose → S3 path of capture records. */
export class InferenceCapture extends Construct {
  readonly deliveryStream: firehose.DeliveryStream;
  readonly deliveryStreamName: string;
  readonly subscriptionFilter: logs.SubscriptionFilter;
  /** Where Firehose logs delivery errors (S3 access denied, …). */
  readonly errorLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: InferenceCaptureProps) {
    super(scope, id);
    const { bucket } = props;

    const role = new iam.Role(this, 'DeliveryRole', {
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com'),
      description: 'Firehose writes inference capture records to the data bucket',
    });
    this.errorLogGroup = new logs.LogGroup(this, 'DeliveryErrors', {
      retention: props.errorLogRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Granted here, narrowly: the S3 destination would grant read, write and delete on the whole
    // bucket to the role it is given, so it gets a view of the role that takes no statements.
    const grants = [
      new iam.PolicyStatement({
        actions: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
        resources: [
          bucket.arnForObjects(`${CAPTURE_PREFIX}*`),
          bucket.arnForObjects(`${CAPTURE_ERRORS_PREFIX}*`),
        ],
      }),
      new iam.PolicyStatement({
        actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
        resources: [bucket.bucketArn],
      }),
      new iam.PolicyStatement({
        actions: ['logs:PutLogEvents'],
        resources: [this.errorLogGroup.logGroupArn],
      }),
    ].map((statement) => role.addToPrincipalPolicy(statement).policyDependable);
    acknowledgePrefixWildcard(role, bucket, CAPTURE_PREFIX);
    acknowledgePrefixWildcard(role, bucket, CAPTURE_ERRORS_PREFIX);

    const destination = new firehose.S3Bucket(bucket, {
      role: role.withoutPolicyUpdates(),
      dataOutputPrefix: CAPTURE_S3_PREFIX,
      errorOutputPrefix: CAPTURE_ERROR_OUTPUT_PREFIX,
      bufferingInterval: props.bufferingInterval ?? Duration.seconds(60),
      bufferingSize: props.bufferingSize ?? Size.mebibytes(64),
      compression: firehose.Compression.GZIP,
      // Instead of the bare `.gz`: objects say what they hold, so tools that go by the name
      // (the batch input reader, Athena, people) read them as gzipped JSON Lines.
      fileExtension: CAPTURE_FILE_EXTENSION,
      dynamicPartitioning: { enabled: true },
      loggingConfig: new firehose.EnableLogging(this.errorLogGroup),
      processors: [
        // A subscription hands Firehose gzipped CloudWatch Logs envelopes with many log events.
        new firehose.DecompressionProcessor({
          compressionFormat: firehose.DecompressionProcessorCompressionFormat.GZIP,
        }),
        new firehose.CloudWatchLogProcessor({ dataMessageExtraction: true }),
        new firehose.MetadataExtractionProcessor(
          {
            metadataExtractionQuery: CAPTURE_PARTITION_QUERY,
            jsonParsingEngine: firehose.JsonParsingEngine.JQ_1_6,
          },
          partitionKeysOf(CAPTURE_PARTITION_QUERY),
        ),
        // One record per line: the objects are JSON Lines.
        new firehose.AppendDelimiterToRecordProcessor(),
      ],
    });
    this.deliveryStream = new firehose.DeliveryStream(this, 'Stream', {
      destination,
      encryption: firehose.StreamEncryption.awsOwnedKey(),
    });
    // Firehose checks its access when the stream is created: the policy must exist by then.
    for (const grant of grants) if (grant) this.deliveryStream.node.addDependency(grant);
    this.deliveryStreamName = this.deliveryStream.deliveryStreamName;

    // CloudWatch Logs puts into this stream only, and only on behalf of this log group. The
    // pattern ends in `*` so it matches the log group ARN with or without its `:*` suffix.
    const sourceLogGroup = Stack.of(this).formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `${props.logGroup.logGroupName}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const logsRole = new iam.Role(this, 'SubscriptionRole', {
      assumedBy: new iam.ServicePrincipal('logs.amazonaws.com', {
        conditions: { ArnLike: { 'aws:SourceArn': sourceLogGroup } },
      }),
      description: 'CloudWatch Logs hands capture records to the capture delivery stream',
    });
    this.subscriptionFilter = new logs.SubscriptionFilter(this, 'Subscription', {
      logGroup: props.logGroup,
      destination: new destinations.FirehoseDestination(this.deliveryStream, { role: logsRole }),
      filterPattern: logs.FilterPattern.literal(CAPTURE_FILTER_PATTERN),
    });
  }

  /**
   * Share of S3 puts that succeeded (AWS/Firehose `DeliveryToS3.Success`, average): below 1
   * means captures are piling up in the stream's buffer or failing to the error prefix.
   */
  metricDeliverySuccess(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deliveryStream.metric('DeliveryToS3.Success', { statistic: 'Average', ...props });
  }

  /** Age in seconds of the oldest capture not yet in S3 (`DeliveryToS3.DataFreshness`, maximum). */
  metricDataFreshness(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deliveryStream.metric('DeliveryToS3.DataFreshness', { statistic: 'Maximum', ...props });
  }
}

/**
 * The keys of a jq object-construction query (`{model: .model, "dt": …}`): Firehose requires
 * the prefix to use exactly these, and the S3 destination checks it at synth time.
 */
export function partitionKeysOf(query: string): string[] {
  const body = /^\s*\{(.*)\}\s*$/s.exec(query)?.[1];
  if (body === undefined) throw new Error(`partition query is not a jq object construction: ${query}`);
  const keys = [...body.matchAll(/(?:^|,)\s*(?:"([^"]+)"|([A-Za-z_][A-Za-z0-9_]*))\s*:/g)].map(
    (m) => m[1] ?? m[2] ?? '',
  );
  if (keys.length === 0) throw new Error(`partition query names no key: ${query}`);
  return keys;
}
