// Inference capture delivery: the subscription filter on the predict function's log group, the
// Firehose stream (processors, partitioned prefix, buffering, compression, encryption) and the
// two roles, each with exactly the access it needs; cdk-nag passes on a small stack around it.
import { readFileSync } from 'node:fs';
import { App, Duration, Size, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import {
  CAPTURE_FILTER_PATTERN,
  CAPTURE_PARTITION_QUERY,
  CAPTURE_S3_PREFIX,
} from '../../functions/lib/capture/capture-record.ts';
import { DataStore } from '../../infra/constructs/data-store.ts';
import { InferenceCapture, partitionKeysOf } from '../../infra/constructs/inference-capture.ts';
import { SecureBucket } from '../../infra/constructs/secure-bucket.ts';
import { statementsIn } from './template-queries.ts';

const cdkJsonContext = (
  JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
    context: Record<string, unknown>;
  }
).context;

function synth(props: { bufferingInterval?: Duration; bufferingSize?: Size } = {}) {
  const app = new App({ context: { ...cdkJsonContext, 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'CaptureTest');
  const accessLogs = new SecureBucket(stack, 'AccessLogs').bucket;
  Validations.of(accessLogs).acknowledge({
    id: 'AwsSolutions-S1',
    reason: 'Receives the other buckets’ access logs (as in the platform stack).',
  });
  const data = new DataStore(stack, 'DataStore', { accessLogs });
  const logGroup = new logs.LogGroup(stack, 'PredictLogs');
  const capture = new InferenceCapture(stack, 'Capture', { logGroup, bucket: data.bucket, ...props });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
  const template = Template.fromStack(stack);
  const idOf = (type: string) => {
    const ids = Object.keys(template.findResources(type));
    expect(ids).toHaveLength(1);
    return ids[0] ?? '';
  };
  const ids = {
    bucket: Object.keys(
      template.findResources('AWS::S3::Bucket', {
        Properties: { NotificationConfiguration: Match.anyValue() },
      }),
    )[0] as string,
    logGroup: stack.resolve((logGroup.node.defaultChild as logs.CfnLogGroup).logicalId) as string,
    stream: idOf('AWS::KinesisFirehose::DeliveryStream'),
  };
  return { template, stack, capture, ids };
}

const { template, ids, capture, stack } = synth();
const streamProps = () =>
  Object.values(template.findResources('AWS::KinesisFirehose::DeliveryStream'))[0]?.Properties as {
    ExtendedS3DestinationConfiguration: Record<string, unknown> & {
      RoleARN: { 'Fn::GetAtt': [string, string] };
    };
  };

const statementsOf = (roleId: string) => statementsIn(template, roleId);
const objectArn = (prefix: string) => ({
  'Fn::Join': ['', [{ 'Fn::GetAtt': [ids.bucket, 'Arn'] }, `/${prefix}*`]],
});

describe('InferenceCapture', () => {
  it('subscribes the capture filter pattern on the predict log group to the stream', () => {
    template.hasResourceProperties('AWS::Logs::SubscriptionFilter', {
      LogGroupName: { Ref: ids.logGroup },
      FilterPattern: CAPTURE_FILTER_PATTERN,
      DestinationArn: { 'Fn::GetAtt': [ids.stream, 'Arn'] },
    });
  });

  it('decompresses, extracts log messages, partitions by jq and writes JSON Lines under capture/', () => {
    const destination = streamProps().ExtendedS3DestinationConfiguration;
    expect(destination).toMatchObject({
      BucketARN: { 'Fn::GetAtt': [ids.bucket, 'Arn'] },
      Prefix: CAPTURE_S3_PREFIX,
      ErrorOutputPrefix: 'capture-errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/',
      CompressionFormat: 'GZIP',
      FileExtension: '.jsonl.gz',
      BufferingHints: { IntervalInSeconds: 60, SizeInMBs: 64 },
      DynamicPartitioningConfiguration: { Enabled: true },
      CloudWatchLoggingOptions: { Enabled: true },
    });
    expect(destination.S3BackupMode).toBeUndefined();
    expect(destination.ProcessingConfiguration).toEqual({
      Enabled: true,
      Processors: [
        {
          Type: 'Decompression',
          Parameters: [{ ParameterName: 'CompressionFormat', ParameterValue: 'GZIP' }],
        },
        {
          Type: 'CloudWatchLogProcessing',
          Parameters: [{ ParameterName: 'DataMessageExtraction', ParameterValue: 'true' }],
        },
        {
          Type: 'MetadataExtraction',
          Parameters: [
            { ParameterName: 'MetadataExtractionQuery', ParameterValue: CAPTURE_PARTITION_QUERY },
            { ParameterName: 'JsonParsingEngine', ParameterValue: 'JQ-1.6' },
          ],
        },
        { Type: 'AppendDelimiterToRecord', Parameters: [] },
      ],
    });
  });

  it('encrypts the stream at rest and takes records put directly (by CloudWatch Logs)', () => {
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamType: 'DirectPut',
      DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' },
    });
  });

  it('takes other buffering hints', () => {
    const other = synth({ bufferingInterval: Duration.seconds(300), bufferingSize: Size.mebibytes(128) });
    other.template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      ExtendedS3DestinationConfiguration: { BufferingHints: { IntervalInSeconds: 300, SizeInMBs: 128 } },
    });
  });

  it('fails when the buffering interval is below the 60 s dynamic partitioning needs', () => {
    expect(() => synth({ bufferingInterval: Duration.seconds(30) })).toThrow(/at least 60 seconds/);
  });

  it('exposes delivery metrics of its stream for alarms', () => {
    const success = stack.resolve(capture.metricDeliverySuccess().toMetricConfig().metricStat);
    expect(success).toMatchObject({
      namespace: 'AWS/Firehose',
      metricName: 'DeliveryToS3.Success',
      statistic: 'Average',
      dimensions: [{ name: 'DeliveryStreamName', value: { Ref: ids.stream } }],
    });
    expect(capture.metricDataFreshness().metricName).toBe('DeliveryToS3.DataFreshness');
    expect(stack.resolve(capture.deliveryStreamName)).toEqual({ Ref: ids.stream });
  });

  it('reads the partition keys of the capture query', () => {
    expect(partitionKeysOf(CAPTURE_PARTITION_QUERY)).toEqual(['model', 'dt', 'hour']);
    expect(partitionKeysOf('{"a b": .x, c: .y | tostring}')).toEqual(['a b', 'c']);
    expect(() => partitionKeysOf('.model')).toThrow(/not a jq object construction/);
  });
});

describe('grants', () => {
  it('lets Firehose write the capture and error prefixes and log delivery errors, nothing else', () => {
    const roleId = streamProps().ExtendedS3DestinationConfiguration.RoleARN['Fn::GetAtt'][0];
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [{ Action: 'sts:AssumeRole', Principal: { Service: 'firehose.amazonaws.com' } }],
      },
    });
    const errorLogGroup = stack.resolve(
      (capture.errorLogGroup.node.defaultChild as logs.CfnLogGroup).logicalId,
    );
    expect(statementsOf(roleId)).toEqual([
      {
        Effect: 'Allow',
        Action: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
        Resource: [objectArn('capture-errors/'), objectArn('capture/')],
      },
      {
        Effect: 'Allow',
        Action: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
        Resource: { 'Fn::GetAtt': [ids.bucket, 'Arn'] },
      },
      { Effect: 'Allow', Action: 'logs:PutLogEvents', Resource: { 'Fn::GetAtt': [errorLogGroup, 'Arn'] } },
    ]);
  });

  it('adds nothing for Firehose to the data bucket policy', () => {
    for (const policy of Object.values(template.findResources('AWS::S3::BucketPolicy')))
      expect(JSON.stringify(policy)).not.toContain('firehose');
  });

  it('lets CloudWatch Logs put records into this stream only, for the predict log group only', () => {
    const filter = Object.values(template.findResources('AWS::Logs::SubscriptionFilter'))[0]!;
    const roleId = (filter.Properties.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const role = template.toJSON().Resources[roleId];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: { Service: 'logs.amazonaws.com' },
        Condition: {
          ArnLike: {
            'aws:SourceArn': {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':logs:',
                  { Ref: 'AWS::Region' },
                  ':',
                  { Ref: 'AWS::AccountId' },
                  ':log-group:',
                  { Ref: ids.logGroup },
                  '*',
                ],
              ],
            },
          },
        },
      },
    ]);
    expect(statementsOf(roleId)).toEqual([
      {
        Effect: 'Allow',
        Action: ['firehose:PutRecord', 'firehose:PutRecordBatch'],
        Resource: { 'Fn::GetAtt': [ids.stream, 'Arn'] },
      },
    ]);
  });
});
