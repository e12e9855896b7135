// `mlops replay <model> <challenger-version> [--window 24h] [--limit N]`: the champion's captured
// live requests of the window, scored again in this process by the challenger (its artifact loaded
// from S3 through the registry, as the predict function loads it), and the same comparison report
// a shadow release writes. No live traffic, no function invoked.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { s3CaptureObjects } from '../../functions/drift-check/adapters.ts';
import { DynamoDbModelRegistry } from '../../functions/lib/registry/dynamodb-registry.ts';
import { renderComparisonText } from '../../functions/lib/releases/comparison-report.ts';
import { parseDuration } from '../../functions/lib/releases/release-plan.ts';
import { type ReplayResult, replayCapturedRequests } from '../../functions/lib/releases/shadow-replay.ts';
import { ModelName } from '../../functions/lib/schemas/model-name.ts';
import { cachedModelLoader } from '../../functions/lib/serving/model-cache.ts';
import { createOnnxModelLoader } from '../../functions/lib/serving/onnx-model-loader.ts';
import { s3ObjectFetcher } from '../../functions/lib/storage/s3-objects.ts';
import { clientOptions, type Target } from '../target.ts';

export interface ReplayArgs {
  readonly model?: string;
  readonly challengerVersion?: string;
  /** `24h`, `90m`, `3600` (seconds). @default '24h' */
  readonly window?: string;
  /** Most recent requests to replay; `0` for all of the window. @default '1000' */
  readonly limit?: string;
  readonly json: boolean;
}

const USAGE = 'usage: mlops replay <model> <challenger-version> [--window 24h] [--limit 1000] [--json]';

/** The longest window replayed: capture is partitioned by hour, and a week is 168 listings. */
const MAX_WINDOW_SECONDS = 7 * 86_400;

/** Check the arguments; throws one clear line naming what is wrong. */
export function parseReplayArgs(args: ReplayArgs) {
  const model = ModelName.safeParse(args.model);
  if (!args.model || !model.success)
    throw new Error(`${USAGE}\n  <model>: ${args.model ?? 'missing'} is not a model name`);
  const version = Number(args.challengerVersion);
  if (!Number.isInteger(version) || version < 1)
    throw new Error(
      `${USAGE}\n  <challenger-version>: ${args.challengerVersion ?? 'missing'} is not a version number`,
    );
  const windowSeconds = parseDuration(args.window ?? '24h', '--window');
  if (windowSeconds < 60 || windowSeconds > MAX_WINDOW_SECONDS)
    throw new Error(`--window must be between 1m and ${MAX_WINDOW_SECONDS / 3600}h (got ${args.window})`);
  const limit = Number(args.limit ?? '1000');
  if (!Number.isInteger(limit) || limit < 0)
    throw new Error(`--limit must be a whole number ≥ 0 (got ${args.limit})`);
  return { model: model.data, challengerVersion: version, windowSeconds, limit };
}

export async function replayCommand(target: Target, args: ReplayArgs): Promise<number> {
  const query = parseReplayArgs(args);
  const registryTable = target.outputs.RegistryTableName;
  const dataBucket = target.outputs.DataBucketName;
  if (!registryTable || !dataBucket)
    throw new Error('the stack has no RegistryTableName or DataBucketName output');
  const s3 = new S3Client(clientOptions(target, 's3'));
  const registry = new DynamoDbModelRegistry(
    DynamoDBDocumentClient.from(new DynamoDBClient(clientOptions(target, 'dynamodb'))),
    registryTable,
  );
  const progress = args.json ? undefined : (message: string) => console.error(message);
  const result = await replayCapturedRequests(
    {
      captures: s3CaptureObjects(s3, dataBucket),
      registry,
      loadModel: cachedModelLoader(createOnnxModelLoader(s3ObjectFetcher(s3), { intraOpThreads: 2 })),
      now: () => new Date(),
      ...(progress ? { progress } : {}),
    },
    {
      model: query.model,
      challengerVersion: query.challengerVersion,
      windowMs: query.windowSeconds * 1000,
      limit: query.limit,
    },
  );
  if (args.json) console.log(JSON.stringify(result, null, 2));
  else console.log(describeReplay(result));
  if (result.report.counts.pairs === 0 && result.report.counts.challengerErrors === 0) {
    if (!args.json)
      console.error(
        `mlops: no captured requests of ${query.model} v${result.report.champion.version} in the window: nothing to replay`,
      );
    return 1;
  }
  return 0;
}

/** The report, then what reading found and the first failures. */
export function describeReplay(result: ReplayResult): string {
  const c = result.captures;
  return renderComparisonText(result.report, result.verdict, [
    [
      'captures',
      `${c.objects} objects over ${c.hoursRead} hours, ${c.lines} lines (${c.malformed} malformed, ${c.unreadableObjects} unreadable objects)`,
    ],
    ...result.failures.map((f) => ['failed', `${f.requestId}: ${f.reason}`] as const),
  ]);
}
