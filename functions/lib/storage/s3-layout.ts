// The S3 key layout of every object the platform writes (DESIGN.md contracts): one home, so
// writers and readers cannot drift apart.

/** Prefix of every model artifact in the artifacts bucket. */
export const MODELS_PREFIX = 'models/';

/** Keys of a model version's artifact set, written beside each other. */
export function artifactKeys(model: string, version: number) {
  const prefix = `${MODELS_PREFIX}${model}/${version}/`;
  return {
    prefix,
    model: `${prefix}model.onnx`,
    profile: `${prefix}profile.json`,
    metrics: `${prefix}metrics.json`,
    card: `${prefix}card.md`,
  } as const;
}

/** Prefix of the training pipeline's working files in the artifacts bucket. */
export const RUNS_PREFIX = 'runs/';

/**
 * Key of a file a pipeline step writes: `runs/{runId}/{step}/{file}`. Steps only ever overwrite
 * their own keys, so a retried or re-run step replaces its output instead of adding to it.
 */
export function runKey(runId: string, step: string, file: string): string {
  return `${RUNS_PREFIX}${runId}/${step}/${file}`;
}

/** Where data teams drop files to score: `incoming/{model}/[version={n}/]{name}` in the data bucket. */
export const INCOMING_PREFIX = 'incoming/';

/** Decompressed copies of large gzip inputs, for the Distributed Map's ItemReader (data bucket). */
export const STAGING_PREFIX = 'staging/';

/** Where one input's batch output goes (DESIGN.md "Batch output"): scores and rejected rows. */
export function batchOutputKeys(opts: {
  readonly model: string;
  readonly version: number;
  readonly dt: string;
  readonly source: string;
}) {
  const partition = `model=${opts.model}/version=${opts.version}/dt=${opts.dt}/source=${opts.source}/`;
  const scores = `scores/${partition}`;
  const rejected = `rejected/${partition}`;
  const part = (prefix: string, index: number) => `${prefix}part-${String(index).padStart(5, '0')}.jsonl`;
  return {
    scoresPrefix: scores,
    rejectedPrefix: rejected,
    scoresPart: (index: number) => part(scores, index),
    rejectedPart: (index: number) => part(rejected, index),
    /** Written last: its presence means the partition is complete. */
    success: `${scores}_SUCCESS`,
  } as const;
}

/** Where the bundled seed datasets land in the data bucket. */
export const DATASETS_PREFIX = 'datasets/';

/** `s3://bucket/key` for a bucket and key. */
export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/** Split an `s3://bucket/key` URI; throws on anything else. */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match?.[1] || !match[2]) throw new Error(`not an s3:// URI with a key: ${uri}`);
  return { bucket: match[1], key: match[2] };
}
