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

/**
 * Inference capture (DESIGN.md "Inference capture"), in the data bucket:
 * `capture/model={m}/dt={yyyy-mm-dd}/hour={hh}/…`, partitioned by each record's own time (UTC).
 * The delivery stream names the objects inside a partition; readers list the partition prefixes.
 */
export const CAPTURE_PREFIX = 'capture/';

/** Partition prefix of the capture records of `model` made during the UTC hour of `time`. */
export function capturePartitionPrefix(model: string, time: Date): string {
  const iso = time.toISOString();
  return `${CAPTURE_PREFIX}model=${model}/dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/`;
}

/** Every capture partition prefix that can hold records of `model` made in [start, end). */
export function capturePartitionPrefixes(model: string, start: Date, end: Date): string[] {
  if (!(start.getTime() < end.getTime())) return [];
  const hour = 3_600_000;
  const prefixes: string[] = [];
  for (let t = Math.floor(start.getTime() / hour) * hour; t < end.getTime(); t += hour)
    prefixes.push(capturePartitionPrefix(model, new Date(t)));
  return prefixes;
}

/** Prefix of the drift check's reports in the data bucket. */
export const DRIFT_PREFIX = 'drift/';

/** Where the drift check writes its verdict on one window (data bucket); overwritten by a re-run of that window. */
export function driftReportKeys(model: string, windowEnd: Date) {
  const iso = windowEnd.toISOString();
  const prefix = `${DRIFT_PREFIX}model=${model}/dt=${iso.slice(0, 10)}/window=${compactTime(windowEnd)}/`;
  return { prefix, json: `${prefix}report.json`, html: `${prefix}report.html` } as const;
}

/**
 * Labelled recent data ("ground truth": features and the outcome, once known) that data teams
 * drop for retraining, in the data bucket: `ground-truth/model={m}/dt={yyyy-mm-dd}/{name}`.
 */
export const GROUND_TRUTH_PREFIX = 'ground-truth/';

export function groundTruthPartitionPrefix(model: string, dt: string): string {
  return `${GROUND_TRUTH_PREFIX}model=${model}/dt=${dt}/`;
}

/** Prefix of the retraining executions' working files in the artifacts bucket. */
export const RETRAINING_PREFIX = 'retraining/';

/** Working files of one retraining execution (artifacts bucket): `retraining/{executionName}/{file}`. */
export function retrainingKey(executionName: string, file: string): string {
  return `${RETRAINING_PREFIX}${executionName}/${file}`;
}

/** Prefix of the challengers' training datasets in the data bucket. */
export const RETRAINING_DATASETS_PREFIX = `${DATASETS_PREFIX}retraining/`;

/**
 * The challenger's training dataset of one retraining execution, in the data bucket beside the
 * other datasets: the training pipeline reads its input there, and the registered version's
 * lineage points at it for as long as the version exists.
 */
export function retrainingDatasetKey(executionName: string): string {
  return `${RETRAINING_DATASETS_PREFIX}${executionName}/challenger-train.jsonl`;
}

/** `2026-11-27T07:00:00.000Z` → `20261127T070000Z`: sortable, and safe in keys and execution names. */
export function compactTime(time: Date): string {
  return time
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replaceAll(/[-:]/g, '');
}

/** Prefix of what releases leave in the artifacts bucket. */
export const RELEASES_PREFIX = 'releases/';

/**
 * Where a shadow release's comparison report goes (artifacts bucket):
 * `releases/{model}/shadow-{start}/comparison.json`, one per shadow, overwritten by a retried finish.
 */
export function shadowComparisonKey(model: string, startedAt: Date): string {
  return `${RELEASES_PREFIX}${model}/shadow-${compactTime(startedAt)}/comparison.json`;
}

/**
 * Where a champion/challenger release's decision report goes (artifacts bucket):
 * `releases/{model}/{releaseId}/decision.json`, overwritten by a retried decision.
 */
export function championChallengerDecisionKey(model: string, releaseId: string): string {
  return `${RELEASES_PREFIX}${model}/${releaseId}/decision.json`;
}
