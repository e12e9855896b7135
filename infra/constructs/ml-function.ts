// One home for the platform's Lambda defaults: runtime, architecture, bundling, logs and the
// onnxruntime layer. Stacks create functions through it and never repeat these settings.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { OnnxRuntimeLayer } from './onnx-runtime-layer.ts';

export interface MlFunctionProps {
  /** Path of the handler module (exports `handler`). */
  readonly entry: string;
  readonly description?: string;
  /** @default 1024 */
  readonly memorySize?: number;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default {} */
  readonly environment?: Record<string, string>;
  /**
   * Attach the onnxruntime layer and leave `onnxruntime-node` out of the bundle.
   * @default - no layer; the function must not import onnxruntime-node
   */
  readonly onnxRuntime?: OnnxRuntimeLayer;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/** The platform's runtime; nodejs22.x or newer (cfn-lint rejects the deprecated 20). */
export const ML_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** A NodejsFunction bundled locally with esbuild (no Docker) with the platform's defaults. */
export class MlFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: MlFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An own role instead of AWSLambdaBasicExecutionRole: log writes to this function's group only.
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${id} function`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    super(scope, id, {
      role,
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: ML_RUNTIME,
      architecture: props.onnxRuntime?.architecture ?? lambda.Architecture.X86_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(30),
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      layers: props.onnxRuntime ? [props.onnxRuntime.layer] : [],
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: id,
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.CJS,
        target: 'node24',
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // The runtime ships the AWS SDK v3; the layer ships onnxruntime-node.
        externalModules: ['@aws-sdk/*', ...(props.onnxRuntime ? [OnnxRuntimeLayer.moduleName] : [])],
      },
    });
  }
}
