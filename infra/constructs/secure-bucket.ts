// An S3 bucket with the platform's non-negotiables: encrypted, TLS-only, never public,
// versioned, access-logged. Every bucket of the platform is one of these.
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface SecureBucketProps {
  /** Where S3 server access logs go; omit only for the access-log bucket itself. */
  readonly accessLogs?: s3.IBucket;
  /** Prefix of this bucket's access logs in `accessLogs`. @default - the construct id */
  readonly accessLogsPrefix?: string;
  /** @default RemovalPolicy.RETAIN: model artifacts and data outlive a stack by default */
  readonly removalPolicy?: RemovalPolicy;
  /** Send object events to EventBridge (what batch scoring triggers on). @default false */
  readonly eventBridgeEnabled?: boolean;
}

/** The bucket defaults every platform bucket shares. */
export class SecureBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: SecureBucketProps = {}) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: props.accessLogs ? `${props.accessLogsPrefix ?? id}/` : undefined,
      // Overwrite-by-key writes leave old versions behind; expire them so storage stays bounded.
      lifecycleRules: [
        {
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
    });
    if (props.eventBridgeEnabled) {
      // Set on the bucket itself: the L2 `eventBridgeEnabled` goes through CDK's notifications
      // custom resource, a Lambda function with a managed policy, for a plain bucket property.
      (this.bucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
        eventBridgeConfiguration: { eventBridgeEnabled: true },
      };
    }
  }
}

/**
 * Object ARNs under a prefix end in `*` because keys are per model version, unknown at deploy
 * time; acknowledge exactly that finding on the grantee's policy, nothing broader.
 */
export function acknowledgePrefixWildcard(grantee: iam.IGrantable, bucket: s3.IBucket, prefix: string): void {
  const principal = grantee.grantPrincipal;
  if (!(principal instanceof iam.Role)) return;
  const bucketToken = (bucket.node.defaultChild as { logicalId?: string } | undefined)?.logicalId;
  Validations.of(principal).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${bucketToken ? principal.stack.resolve(bucketToken) : ''}.Arn>/${prefix}*]`,
    reason: `Object access is limited to the ${prefix} prefix; the keys below it (model/version) are created at run time.`,
  });
}
