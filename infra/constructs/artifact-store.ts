// The model artifacts bucket (DESIGN.md "Model artifact": models/{model}/{version}/…) with
// grants scoped to the key prefixes each function actually touches.
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { MODELS_PREFIX, RELEASES_PREFIX, RUNS_PREFIX } from '../../functions/lib/storage/s3-layout.ts';
import { acknowledgePrefixWildcard, SecureBucket } from './secure-bucket.ts';

export interface ArtifactStoreProps {
  readonly accessLogs: s3.IBucket;
}

/** Environment variable through which functions find the artifacts bucket. */
export const ARTIFACTS_BUCKET_ENV = 'ARTIFACTS_BUCKET';

export class ArtifactStore extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: ArtifactStoreProps) {
    super(scope, id);
    this.bucket = new SecureBucket(this, 'Artifacts', {
      accessLogs: props.accessLogs,
      accessLogsPrefix: 'artifacts',
    }).bucket;
  }

  /** Read model artifacts (serving). */
  grantReadModels(grantee: iam.IGrantable): iam.Grant {
    return this.grant(grantee, ['s3:GetObject'], MODELS_PREFIX);
  }

  /** Write model artifacts (training); overwrite-by-key puts only, no deletes. */
  grantWriteModels(grantee: iam.IGrantable): iam.Grant {
    return this.grant(grantee, ['s3:PutObject'], MODELS_PREFIX);
  }

  /** Read and overwrite the training pipeline's working files (`runs/…`); no deletes. */
  grantRunFiles(grantee: iam.IGrantable): iam.Grant {
    return this.grant(grantee, ['s3:GetObject', 's3:PutObject'], RUNS_PREFIX);
  }

  /** Write release reports (`releases/…`: shadow comparisons, champion/challenger decisions); no deletes. */
  grantWriteReleaseReports(grantee: iam.IGrantable): iam.Grant {
    return this.grant(grantee, ['s3:PutObject'], RELEASES_PREFIX);
  }

  /**
   * Set `ARTIFACTS_BUCKET` and grant `access`: `read`/`write` the models prefix, `runs` the
   * pipeline's working files.
   */
  bindTo(fn: lambda.Function, access: 'read' | 'write' | 'runs'): void {
    fn.addEnvironment(ARTIFACTS_BUCKET_ENV, this.bucket.bucketName);
    if (access === 'read') this.grantReadModels(fn);
    else if (access === 'write') this.grantWriteModels(fn);
    else this.grantRunFiles(fn);
  }

  private grant(grantee: iam.IGrantable, actions: string[], prefix: string): iam.Grant {
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [this.bucket.arnForObjects(`${prefix}*`)],
    });
    acknowledgePrefixWildcard(grantee, this.bucket, prefix);
    return grant;
  }
}
