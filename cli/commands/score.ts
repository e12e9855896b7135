// `mlops score <file> [--model m] [--version n] [--key-column c]`: drops a file where data teams
// do (incoming/{model}/ in the data bucket), waits for the batch-scoring execution it triggers
// with a progress line, and prints where the output is and the manifest's summary. The same S3
// and Step Functions calls work against the local platform and AWS.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  type Manifest,
  ManifestSchema,
  partitionOf,
  sameRun,
} from '../../functions/lib/batch/batch-output.ts';
import { inputFormatOf } from '../../functions/lib/batch/input-file.ts';
import { DynamoDbModelRegistry } from '../../functions/lib/registry/dynamodb-registry.ts';
import { batchOutputKeys, INCOMING_PREFIX, s3Uri } from '../../functions/lib/storage/s3-layout.ts';
import { clientOptions, type Target } from '../target.ts';

export interface ScoreArgs {
  readonly file: string;
  readonly model: string;
  readonly version?: string;
  readonly keyColumn?: string;
  readonly json: boolean;
  readonly timeoutMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function scoreCommand(target: Target, args: ScoreArgs): Promise<number> {
  const bucket = target.outputs.DataBucketName;
  const stateMachineArn = target.outputs.BatchScoringArn;
  if (!bucket || !stateMachineArn)
    throw new Error('the stack has no DataBucketName / BatchScoringArn outputs');
  inputFormatOf(args.file); // refuse an unsupported extension before uploading
  const s3 = new S3Client(clientOptions(target, 's3'));
  const sfn = new SFNClient(clientOptions(target, 'sfn'));
  const registry = new DynamoDbModelRegistry(
    DynamoDBDocumentClient.from(new DynamoDBClient(clientOptions(target, 'dynamodb'))),
    target.outputs.RegistryTableName ?? '',
  );
  // The version first: a drop for a model with nothing to score with would only fail and page.
  const version = args.version
    ? await registry.getVersion(args.model, Number(args.version))
    : await registry.getProductionVersion(args.model);
  if (!version)
    throw new Error(
      `${args.model} has ${args.version ? `no version ${args.version}` : 'no Production version'}`,
    );
  const body = readFileSync(args.file);
  const key = `${INCOMING_PREFIX}${args.model}/${basename(args.file)}`;
  const metadata = {
    ...(args.version ? { 'model-version': args.version } : {}),
    ...(args.keyColumn ? { 'key-column': args.keyColumn } : {}),
  };
  const started = Date.now();
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: metadata }));
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const etag = head.ETag ?? '';
  if (!args.json) console.error(`uploaded ${args.file} → ${s3Uri(bucket, key)}`);

  // Where the output will land: the same resolution PlanBatch makes.
  const partition = partitionOf(key, head.LastModified ?? new Date());
  const keys = batchOutputKeys({
    model: args.model,
    version: version.version,
    dt: partition.dt,
    source: partition.source,
  });

  const deadline = started + (args.timeoutMs ?? 30 * 60_000);
  let shown = '';
  for (;;) {
    const manifest = await readManifest(s3, bucket, keys.success);
    if (manifest && sameRun(manifest, { bucket, key, etag }, version.artifactSha256)) {
      if (!args.json) process.stderr.write('\n');
      print(manifest, bucket, keys.scoresPrefix, keys.rejectedPrefix, Date.now() - started, args.json);
      return 0;
    }
    const failure = await failedExecutionFor(sfn, stateMachineArn, key, etag, started);
    if (failure) {
      if (!args.json) process.stderr.write('\n');
      console.error(`batch scoring of ${s3Uri(bucket, key)} failed: ${failure}`);
      return 1;
    }
    if (Date.now() > deadline)
      throw new Error(`no _SUCCESS at ${s3Uri(bucket, keys.success)} after the wait limit`);
    if (!args.json) {
      const parts = await countParts(s3, bucket, keys.scoresPrefix);
      const line = `scoring … ${parts} part${parts === 1 ? '' : 's'} written, ${((Date.now() - started) / 1000).toFixed(0)} s`;
      if (line !== shown) process.stderr.write(`\r${line.padEnd(shown.length)}`);
      shown = line;
    }
    await sleep(500);
  }
}

async function readManifest(s3: S3Client, bucket: string, key: string): Promise<Manifest | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const parsed = ManifestSchema.safeParse(JSON.parse((await out.Body?.transformToString()) ?? 'null'));
    return parsed.success ? parsed.data : undefined;
  } catch (err) {
    if ((err as Error).name === 'NoSuchKey') return undefined;
    throw err;
  }
}

async function countParts(s3: S3Client, bucket: string, prefix: string): Promise<number> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).filter((o) => o.Key?.endsWith('.jsonl')).length;
}

/** The error of a failed execution started for this object (key and etag) since `since`. */
async function failedExecutionFor(
  sfn: SFNClient,
  stateMachineArn: string,
  key: string,
  etag: string,
  since: number,
): Promise<string | undefined> {
  const out = await sfn.send(
    new ListExecutionsCommand({ stateMachineArn, statusFilter: 'FAILED', maxResults: 20 }),
  );
  for (const execution of out.executions ?? []) {
    if ((execution.startDate?.getTime() ?? 0) < since - 1000) continue;
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn }));
    const input = JSON.parse(described.input ?? '{}') as {
      detail?: { object?: { key?: string; etag?: string } };
    };
    const object = input.detail?.object;
    if (object?.key !== key || (object.etag && object.etag.replace(/"/g, '') !== etag.replace(/"/g, '')))
      continue;
    return `${described.error ?? 'failed'}: ${described.cause ?? ''}`;
  }
  return undefined;
}

function print(
  manifest: Manifest,
  bucket: string,
  scores: string,
  rejected: string,
  ms: number,
  json: boolean,
) {
  if (json) {
    console.log(JSON.stringify(manifest, null, 2));
    return;
  }
  const { rows } = manifest;
  console.log(
    [
      `scored ${manifest.input.key} with ${manifest.model.name} v${manifest.model.version} in ${(ms / 1000).toFixed(1)} s`,
      `  rows      ${rows.in} in, ${rows.out} scored, ${rows.rejected} rejected`,
      `  output    ${s3Uri(bucket, scores)} (${manifest.parts.length} part${manifest.parts.length === 1 ? '' : 's'} + _SUCCESS)`,
      ...(rows.rejected > 0 ? [`  rejected  ${s3Uri(bucket, rejected)}`] : []),
    ].join('\n'),
  );
}
