// Test support: a small stack with the inference capture path (a function logging to its own
// log group, the subscription filter, the delivery stream into the data bucket), synthesized and
// read the way the local runtime reads a cloud assembly stack.
import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { DataStore } from '../../../../infra/constructs/data-store.ts';
import { InferenceCapture } from '../../../../infra/constructs/inference-capture.ts';
import { SecureBucket } from '../../../../infra/constructs/secure-bucket.ts';
import { type StackResolution, stackResolution } from '../../../../local/stack-resolution.ts';
import { parseTemplate } from '../../../../local/template/cfn-template.ts';
import type { AssemblyStack } from '../../../../local/template/cloud-assembly.ts';

const cdkJsonContext = (
  JSON.parse(readFileSync(new URL('../../../../cdk.json', import.meta.url), 'utf8')) as {
    context: Record<string, unknown>;
  }
).context;

export interface CaptureStack {
  readonly stack: AssemblyStack;
  readonly resolution: StackResolution;
  /** Logical ids of the function, its log group, the data bucket, the stream and the filter. */
  readonly ids: { fn: string; logGroup: string; bucket: string; stream: string; filter: string };
}

/** Synthesize the capture path; `mutate` edits the template JSON before it is read. */
export function captureStack(mutate?: (template: { Resources: Record<string, any> }) => void): CaptureStack {
  const app = new App({ context: { ...cdkJsonContext, 'aws:cdk:bundling-stacks': [] } });
  const cdkStack = new Stack(app, 'CaptureStack');
  const accessLogs = new SecureBucket(cdkStack, 'AccessLogs').bucket;
  const data = new DataStore(cdkStack, 'DataStore', { accessLogs });
  const logGroup = new logs.LogGroup(cdkStack, 'PredictLogs');
  new lambda.Function(cdkStack, 'Predict', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    logGroup,
  });
  new InferenceCapture(cdkStack, 'Capture', { logGroup, bucket: data.bucket });
  const json = Template.fromStack(cdkStack).toJSON() as { Resources: Record<string, any> };
  mutate?.(json);
  const stack: AssemblyStack = {
    stackName: 'CaptureStack',
    artifactId: 'CaptureStack',
    displayName: 'CaptureStack',
    templateFile: 'CaptureStack.template.json',
    template: parseTemplate(json, 'CaptureStack'),
    assets: new Map(),
    dockerImages: [],
    environment: {},
  };
  const idOf = (type: string, where: (r: any) => boolean = () => true) => {
    const found = Object.entries(json.Resources).filter(([, r]) => r.Type === type && where(r));
    if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
    return (found[0] as [string, unknown])[0];
  };
  return {
    stack,
    resolution: stackResolution(stack, 'http://127.0.0.1:9'),
    ids: {
      fn: idOf('AWS::Lambda::Function'),
      logGroup: idOf('AWS::Logs::LogGroup', (r) => r.Properties?.RetentionInDays === 731),
      bucket: idOf('AWS::S3::Bucket', (r) => r.Properties?.NotificationConfiguration !== undefined),
      stream: idOf('AWS::KinesisFirehose::DeliveryStream'),
      filter: idOf('AWS::Logs::SubscriptionFilter'),
    },
  };
}
