// Creates the template's S3 buckets in s3rver, once: a bucket that exists keeps its objects.
import {
  CreateBucketCommand,
  HeadBucketCommand,
  PutBucketCorsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import * as z from 'zod';
import { emulationWarning } from './emulation-warning.ts';

/** An S3 bucket of the template, with its local name and intrinsic-free properties. */
export interface TemplateBucket {
  readonly logicalId: string;
  readonly bucketName: string;
  /** The resource's `Properties`, already resolved. */
  readonly properties: Readonly<Record<string, unknown>>;
}

/**
 * Bucket properties s3rver ignores although a handler or operator could notice, with what that
 * means locally. Access control (policies, public access block, ownership) and encryption at
 * rest are not listed: nothing is enforced or encrypted locally, for every bucket alike.
 */
const UNSUPPORTED: Readonly<Record<string, (value: unknown) => string | undefined>> = {
  VersioningConfiguration: (v) =>
    (v as { Status?: unknown }).Status === 'Enabled'
      ? 'no object versions are kept: an overwrite replaces the object'
      : undefined,
  LifecycleConfiguration: () => 'objects never expire, transition or get their uploads aborted',
  // EventBridge delivery is emulated by the local event router (local/events/).
  NotificationConfiguration: (v) => {
    const others = ['TopicConfigurations', 'QueueConfigurations', 'LambdaConfigurations'].filter(
      (kind) => (v as Record<string, unknown> | undefined)?.[kind] !== undefined,
    );
    return others.length > 0 ? `no ${others.join(', ')} notifications are sent` : undefined;
  },
  ReplicationConfiguration: () => 'objects are not replicated',
  ObjectLockEnabled: (v) =>
    v === true || v === 'true' ? 'objects can be overwritten and deleted' : undefined,
  ObjectLockConfiguration: () => 'objects can be overwritten and deleted',
  LoggingConfiguration: () => 'no server access logs are written',
  WebsiteConfiguration: () => 'the bucket is not served as a website',
  InventoryConfigurations: () => 'no inventory reports are written',
};

const corsSchema = z.object({
  CorsRules: z.array(
    z.object({
      AllowedHeaders: z.array(z.string()).optional(),
      AllowedMethods: z.array(z.string()),
      AllowedOrigins: z.array(z.string()),
      ExposedHeaders: z.array(z.string()).optional(),
      Id: z.string().optional(),
      MaxAge: z.coerce.number().optional(),
    }),
  ),
});

/**
 * Create each bucket that does not exist yet and apply its CORS rules (s3rver serves them).
 * Idempotent across restarts: an existing bucket keeps its objects. Returns one warning per
 * declared feature s3rver does not emulate (versioning, lifecycle, notifications…), each naming
 * the logical id.
 */
export async function ensureBucketsFromTemplate(
  client: S3Client,
  buckets: readonly TemplateBucket[],
): Promise<string[]> {
  const warnings: string[] = [];
  for (const bucket of buckets) {
    warnings.push(...bucketWarnings(bucket));
    if (!(await exists(client, bucket.bucketName))) await create(client, bucket);
    if (bucket.properties.CorsConfiguration !== undefined) await applyCors(client, bucket);
  }
  return warnings;
}

/** The features of `bucket` s3rver does not emulate. */
export function bucketWarnings(bucket: TemplateBucket): string[] {
  return Object.entries(UNSUPPORTED).flatMap(([feature, consequence]) => {
    const value = bucket.properties[feature];
    const text = value === undefined ? undefined : consequence(value);
    return text ? [emulationWarning(bucket.logicalId, feature, text)] : [];
  });
}

async function exists(client: S3Client, bucketName: string): Promise<boolean> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucketName }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

async function create(client: S3Client, bucket: TemplateBucket): Promise<void> {
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket.bucketName }));
  } catch (err) {
    // s3rver answers BucketAlreadyExists where S3 says BucketAlreadyOwnedByYou: created meanwhile.
    const name = (err as Error).name;
    if (name === 'BucketAlreadyExists' || name === 'BucketAlreadyOwnedByYou') return;
    throw new Error(
      `${bucket.logicalId}: creating bucket ${bucket.bucketName} failed: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

async function applyCors(client: S3Client, bucket: TemplateBucket): Promise<void> {
  const parsed = corsSchema.safeParse(bucket.properties.CorsConfiguration);
  if (!parsed.success) {
    throw new Error(
      `${bucket.logicalId}: CorsConfiguration is not valid: ${parsed.error.issues[0]?.message}`,
    );
  }
  await client.send(
    new PutBucketCorsCommand({
      Bucket: bucket.bucketName,
      CORSConfiguration: {
        CORSRules: parsed.data.CorsRules.map((rule) => ({
          ID: rule.Id,
          AllowedHeaders: rule.AllowedHeaders,
          AllowedMethods: rule.AllowedMethods,
          AllowedOrigins: rule.AllowedOrigins,
          ExposeHeaders: rule.ExposedHeaders,
          MaxAgeSeconds: rule.MaxAge,
        })),
      },
    }),
  );
}
