// Batch step PlanBatch: from the S3 "Object Created" event, decide what to score with which
// model version into which partition, and how (one step or a Distributed Map). A replayed or
// duplicate event for an input that this artifact already scored is recognised here (mode
// `done`), so nothing is rewritten and the output stays byte-identical.
import * as z from 'zod';
import { ManifestSchema, partitionOf, sameRun } from '../lib/batch/batch-output.ts';
import type { BatchPlan } from '../lib/batch/batch-plan.ts';
import { inputFormatOf } from '../lib/batch/input-file.ts';
import { InvalidRequest, ModelNotFound } from '../lib/errors.ts';
import type { ModelRegistry, ModelVersion } from '../lib/registry/model-version.ts';
import { batchOutputKeys, STAGING_PREFIX } from '../lib/storage/s3-layout.ts';

/** The parts of the EventBridge event S3 sends that planning needs. */
const ObjectCreated = z.looseObject({
  detail: z.looseObject({
    bucket: z.looseObject({ name: z.string() }),
    object: z.looseObject({ key: z.string(), size: z.number().optional(), etag: z.string().optional() }),
  }),
});

export interface ObjectHead {
  readonly etag: string;
  readonly bytes: number;
  readonly lastModified: Date;
  /** User metadata (`x-amz-meta-*`), lower-case names. */
  readonly metadata: Readonly<Record<string, string>>;
}

export interface PlanPorts {
  readonly registry: Pick<ModelRegistry, 'getVersion' | 'getProductionVersion'>;
  /** The object's head, or undefined when it does not exist. */
  head(bucket: string, key: string): Promise<ObjectHead | undefined>;
  /** The object's text, or undefined when it does not exist. */
  readText(bucket: string, key: string): Promise<string | undefined>;
  /** The first `bytes` bytes of the object (a ranged GET). */
  readStart(bucket: string, key: string, bytes: number): Promise<Uint8Array>;
  /** Write a gunzipped copy of `key` at `stagedKey` (streaming); returns nothing. */
  stageDecompressed(bucket: string, key: string, stagedKey: string): Promise<void>;
  readonly config: { readonly smallFileBytes: number; readonly batchSize: number };
  readonly now: () => Date;
}

/** Object metadata naming the version to score with (`x-amz-meta-model-version`). */
const VERSION_METADATA = 'model-version';
/** Object metadata naming the input's key column (`x-amz-meta-key-column`). */
const KEY_COLUMN_METADATA = 'key-column';

async function resolveVersion(
  model: string,
  requested: number | undefined,
  registry: PlanPorts['registry'],
): Promise<ModelVersion> {
  const version =
    requested === undefined
      ? await registry.getProductionVersion(model)
      : await registry.getVersion(model, requested);
  if (!version)
    throw new ModelNotFound(
      requested === undefined
        ? `model ${model} has no Production version to score with (promote one, or name a version in the key: incoming/${model}/version=N/…)`
        : `model ${model} has no version ${requested}`,
    );
  return version;
}

/** Step Functions' limit on a child execution's input (one Distributed Map batch), with room for BatchInput. */
const BATCH_INPUT_BUDGET = 200 * 1024;
/** How much of a large input is sampled to size its batches. */
const SAMPLE_BYTES = 256 * 1024;

/**
 * Rows per Distributed Map batch: as many as `maxRows`, but few enough that the batch's JSON
 * (`{index, row}` items, a CSV row spelled out with its header's names) stays under the child
 * execution input limit for the widest row of the sample, with a 25% margin. Batches then always
 * close on their row count, so part n is rows [n·size, (n+1)·size) — what ScoreBatch checks.
 */
export function rowsPerBatch(sample: Uint8Array, format: 'csv' | 'jsonl', maxRows: number): number {
  const text = Buffer.from(sample).toString('utf8');
  const lines = text
    .slice(0, Math.max(text.lastIndexOf('\n'), 0))
    .split('\n')
    .filter((l) => l.trim() !== '');
  const header = format === 'csv' ? (lines.shift() ?? '') : '';
  // Each CSV value gains its column name and quotes; each item gains `{"index":n,"row":…}`.
  const overhead = 40 + (format === 'csv' ? header.length + 6 * (header.split(',').length + 1) : 0);
  const widest = Math.max(0, ...lines.map((l) => Buffer.byteLength(l))) + overhead;
  return Math.max(1, Math.min(maxRows, Math.floor(BATCH_INPUT_BUDGET / (widest * 1.25))));
}

export async function planBatch(event: unknown, ports: PlanPorts): Promise<BatchPlan> {
  const parsed = ObjectCreated.safeParse(event);
  if (!parsed.success)
    throw new InvalidRequest(
      'not an S3 Object Created event: detail.bucket.name and detail.object.key are needed',
    );
  const { name: bucket } = parsed.data.detail.bucket;
  const eventKey = parsed.data.detail.object.key;
  // S3 notification keys may arrive URL-encoded (spaces as `+`); use whichever form exists.
  const decoded = safeDecode(eventKey.replace(/\+/g, ' '));
  let key = eventKey;
  let head = await ports.head(bucket, key);
  if (!head && decoded !== undefined && decoded !== eventKey) {
    key = decoded;
    head = await ports.head(bucket, key);
  }
  if (!head) throw new InvalidRequest(`s3://${bucket}/${eventKey} no longer exists`);
  const partition = partitionOf(key, head.lastModified);
  const { format, gzip } = inputFormatOf(key);
  const metadataVersion = head.metadata[VERSION_METADATA];
  const requested =
    partition.version ?? (metadataVersion === undefined ? undefined : Number(metadataVersion));
  if (requested !== undefined && !(Number.isInteger(requested) && requested > 0))
    throw new InvalidRequest(`metadata ${VERSION_METADATA}="${metadataVersion}" is not a version number`);
  const version = await resolveVersion(partition.model, requested, ports.registry);
  const keys = batchOutputKeys({
    model: version.model,
    version: version.version,
    dt: partition.dt,
    source: partition.source,
  });

  const input = { bucket, key, etag: head.etag };
  const existing = await ports.readText(bucket, keys.success);
  const manifest = existing === undefined ? undefined : ManifestSchema.safeParse(parseJson(existing));
  const done = manifest?.success === true && sameRun(manifest.data, input, version.artifactSha256);

  const large = !done && head.bytes > ports.config.smallFileBytes;
  let readKey = key;
  if (large && gzip) {
    // The ItemReader reads plain text: give it a decompressed copy, named by the input's etag so
    // a replay reuses it.
    readKey = `${STAGING_PREFIX}${head.etag.replace(/"/g, '')}/${partition.source.replace(/\.gz$/, '')}`;
    await ports.stageDecompressed(bucket, key, readKey);
  }
  const keyColumn = head.metadata[KEY_COLUMN_METADATA];
  const batchSize = large
    ? rowsPerBatch(await ports.readStart(bucket, readKey, SAMPLE_BYTES), format, ports.config.batchSize)
    : ports.config.batchSize;
  return {
    bucket,
    key,
    readKey,
    etag: head.etag,
    bytes: head.bytes,
    format,
    gzip,
    model: version.model,
    version: version.version,
    featureSet: version.featureSet,
    artifactUri: version.artifactUri,
    artifactSha256: version.artifactSha256,
    dt: partition.dt,
    source: partition.source,
    mode: done ? 'done' : large ? 'large' : 'small',
    batchSize,
    ...(keyColumn ? { keyColumn } : {}),
    startedAt: ports.now().toISOString(),
  };
}

/** A damaged _SUCCESS is not a manifest: the input is scored again and the file rewritten. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
