// The data bucket: training datasets under `datasets/` (seeded from the repo at deploy time),
// later batch inputs and outputs. Grants are scoped per prefix.
import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { DATASETS_PREFIX } from '../../functions/lib/storage/s3-layout.ts';
import { acknowledgePrefixWildcard, SecureBucket } from './secure-bucket.ts';

/** A dataset shipped with the app and copied into the bucket on deploy. */
export interface SeedDataset {
  /** Folder holding the files. */
  readonly sourceDir: string;
  /** Files of `sourceDir` to ship (others are excluded from the asset). */
  readonly files: readonly string[];
  /** Key prefix under `datasets/`, e.g. `flights/`. */
  readonly prefix: string;
}

export interface DataStoreProps {
  readonly accessLogs: s3.IBucket;
  /** @default [] */
  readonly seedDatasets?: readonly SeedDataset[];
}

/** Environment variable through which functions find the data bucket. */
export const DATA_BUCKET_ENV = 'DATA_BUCKET';

export class DataStore extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: DataStoreProps) {
    super(scope, id);
    this.bucket = new SecureBucket(this, 'Data', {
      accessLogs: props.accessLogs,
      accessLogsPrefix: 'data',
      // Files dropped under incoming/ trigger batch scoring through EventBridge.
      eventBridgeEnabled: true,
    }).bucket;
    for (const [index, seed] of (props.seedDatasets ?? []).entries()) {
      const deployment = new s3deploy.BucketDeployment(this, `Seed${index}`, {
        sources: [
          s3deploy.Source.asset(seed.sourceDir, { exclude: ['*', ...seed.files.map((f) => `!${f}`)] }),
        ],
        destinationBucket: this.bucket,
        destinationKeyPrefix: `${DATASETS_PREFIX}${seed.prefix}`,
        // Other datasets under the prefix (uploaded by users) must survive a deploy.
        prune: false,
        retainOnDelete: true,
      });
      acknowledgeSeedDeployer(deployment, this.bucket);
    }
  }

  /** `s3://` URI of a seeded dataset file, for stack outputs and defaults. */
  datasetUri(prefix: string, file: string): string {
    return `s3://${this.bucket.bucketName}/${DATASETS_PREFIX}${prefix}${file}`;
  }

  /** Read training datasets. */
  grantReadDatasets(grantee: iam.IGrantable): iam.Grant {
    return this.grantPrefix(grantee, DATASETS_PREFIX, ['s3:GetObject']);
  }

  /** `actions` on the objects under `prefix` (e.g. `incoming/`, `scores/`). */
  grantPrefix(grantee: iam.IGrantable, prefix: string, actions: string[]): iam.Grant {
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [this.bucket.arnForObjects(`${prefix}*`)],
    });
    acknowledgePrefixWildcard(grantee, this.bucket, prefix);
    return grant;
  }

  /** List keys under `prefix` (ListObjectsV2 is a bucket-level action, narrowed by condition). */
  grantListPrefix(grantee: iam.IGrantable, prefix: string): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:ListBucket'],
      resourceArns: [this.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
    });
  }

  /** Set `DATA_BUCKET` and grant dataset reads. */
  bindTo(fn: lambda.Function): void {
    fn.addEnvironment(DATA_BUCKET_ENV, this.bucket.bucketName);
    this.grantReadDatasets(fn);
  }
}

/**
 * BucketDeployment runs a CDK-managed helper function (runtime, role and policy chosen by
 * aws-cdk-lib). Its findings are acknowledged on that helper only, each with its reason.
 */
function acknowledgeSeedDeployer(deployment: s3deploy.BucketDeployment, destination: s3.Bucket): void {
  const helper = deployment.handlerRole.node.scope;
  if (!helper) return;
  const managed = 'CDK-managed deployment helper: ';
  const findings: Array<[string, string]> = [
    ['AwsSolutions-L1', `${managed}its runtime is pinned by aws-cdk-lib and moves with CDK upgrades.`],
    [
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      `${managed}log writes only.`,
    ],
    ['AwsSolutions-IAM5[Action::s3:GetBucket*]', `${managed}reads the CDK asset bucket it copies from.`],
    ['AwsSolutions-IAM5[Action::s3:GetObject*]', `${managed}reads the dataset asset objects.`],
    ['AwsSolutions-IAM5[Action::s3:List*]', `${managed}lists source and destination to sync them.`],
    [
      'AwsSolutions-IAM5[Action::s3:DeleteObject*]',
      `${managed}granted by BucketDeployment; prune is off, so it deletes nothing.`,
    ],
    ['AwsSolutions-IAM5[Action::s3:Abort*]', `${managed}aborts its own failed multipart uploads.`],
    [
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]',
      `${managed}the CDK asset bucket's object names are content hashes.`,
    ],
  ];
  const bucketId = Stack.of(destination).resolve(
    (destination.node.defaultChild as s3.CfnBucket).logicalId,
  ) as string;
  findings.push([
    `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`,
    `${managed}writes the seed files into the data bucket.`,
  ]);
  for (const [id, reason] of findings) Validations.of(helper).acknowledge({ id, reason });
}
