// Emulates CDK's BucketDeployment custom resource (`Custom::CDKBucketDeployment`): the files of
// its source assets in cdk.out are put into the destination bucket under the key prefix.
// Overwrite-by-key, so running it on every start leaves one copy of each file.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type AssemblyStack, findAsset } from './template/cloud-assembly.ts';

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = join(dir, entry);
    return statSync(full).isDirectory() ? listFiles(full, `${prefix}${entry}/`) : [`${prefix}${entry}`];
  });
}

/** Copy every BucketDeployment's files; returns warnings for sources missing from cdk.out. */
export async function deployBucketAssets(
  stack: AssemblyStack,
  s3: S3Client,
  resolve: (value: unknown) => unknown,
): Promise<string[]> {
  const warnings: string[] = [];
  for (const [logicalId, r] of Object.entries(stack.template.Resources ?? {})) {
    if (r.Type !== 'Custom::CDKBucketDeployment') continue;
    const p = r.Properties ?? {};
    const bucket = String(resolve(p.DestinationBucketName));
    const prefix = p.DestinationBucketKeyPrefix ? String(resolve(p.DestinationBucketKeyPrefix)) : '';
    for (const key of (p.SourceObjectKeys as unknown[] | undefined) ?? []) {
      const asset = findAsset(stack, String(resolve(key)));
      if (asset?.packaging !== 'zip') {
        warnings.push(`${logicalId}: source asset ${String(key)} is not a folder in cdk.out; not copied`);
        continue;
      }
      for (const file of listFiles(asset.path)) {
        await s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: `${prefix}${file}`,
            Body: readFileSync(join(asset.path, file)),
          }),
        );
      }
    }
  }
  return warnings;
}
