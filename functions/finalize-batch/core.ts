// Batch step Finalize: makes the partition exactly this run's output — removes parts left from
// an earlier, larger run of the same input (and rejected parts this run did not write) — then
// writes the _SUCCESS manifest, last, so its presence means the partition is complete.
import {
  buildManifest,
  type Manifest,
  type PartRef,
  type PartSummary,
  sha256Hex,
  staleParts,
} from '../lib/batch/batch-output.ts';
import type { BatchPlan } from '../lib/batch/batch-plan.ts';
import type { ObjectStore } from '../lib/storage/object-store.ts';
import { batchOutputKeys } from '../lib/storage/s3-layout.ts';

export interface FinalizePorts {
  readonly data: ObjectStore;
  list(bucket: string, prefix: string): Promise<string[]>;
  remove(bucket: string, keys: readonly string[]): Promise<void>;
  readonly now: () => Date;
}

/** ScoreFile returns full summaries; a Map batch returns `{index}` (its output must stay small). */
const isSummary = (entry: unknown): entry is PartSummary =>
  typeof entry === 'object' && entry !== null && 'scoresKey' in entry && 'index' in entry;
const isPartRef = (entry: unknown): entry is PartRef =>
  typeof entry === 'object' &&
  entry !== null &&
  Number.isInteger((entry as { index?: unknown }).index) &&
  !('Error' in entry);

/** Lines of a part (each ends with \n), found with Buffer's native search. */
function lineCount(bytes: Uint8Array): number {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let count = 0;
  for (let at = buffer.indexOf(10); at !== -1; at = buffer.indexOf(10, at + 1)) count++;
  return count;
}

/** A part's summary from its stored files: what is in S3 is what the manifest describes. */
async function summarizeStored(
  data: ObjectStore,
  keys: ReturnType<typeof batchOutputKeys>,
  { index, rejected: hasRejected }: PartRef,
): Promise<PartSummary> {
  const scoresKey = keys.scoresPart(index);
  const scores = await data.read(scoresKey);
  const rejectedKey = keys.rejectedPart(index);
  const rejected = hasRejected ? await data.read(rejectedKey) : undefined;
  const rowsOut = lineCount(scores);
  const rowsRejected = rejected ? lineCount(rejected) : 0;
  return {
    index,
    rowsIn: rowsOut + rowsRejected,
    rowsOut,
    rowsRejected,
    scoresKey,
    scoresSha256: sha256Hex(scores),
    scoresBytes: scores.length,
    ...(rejected ? { rejectedKey, rejectedSha256: sha256Hex(rejected) } : {}),
  };
}

export async function finalizeBatch(
  input: { plan: BatchPlan; parts: readonly unknown[] },
  ports: FinalizePorts,
): Promise<Manifest> {
  const { plan } = input;
  const keys = batchOutputKeys(plan);
  const refs = input.parts.filter((e): e is PartRef => !isSummary(e) && isPartRef(e));
  const parts = [
    ...input.parts.filter(isSummary),
    ...(await Promise.all(refs.map((ref) => summarizeStored(ports.data, keys, ref)))),
  ].sort((a, b) => a.index - b.index);
  const failedBatches = input.parts.length - parts.length;
  const partCount = parts.length === 0 ? 0 : Math.max(...parts.map((p) => p.index)) + 1;
  const rejectedWritten = parts.filter((p) => p.rejectedKey !== undefined).map((p) => p.index);
  const stale = [
    ...staleParts(await ports.list(plan.bucket, keys.scoresPrefix), keys.scoresPrefix, partCount),
    ...staleParts(
      await ports.list(plan.bucket, keys.rejectedPrefix),
      keys.rejectedPrefix,
      partCount,
      rejectedWritten,
    ),
  ];
  if (stale.length > 0) await ports.remove(plan.bucket, stale);
  const manifest = buildManifest({
    input: {
      bucket: plan.bucket,
      key: plan.key,
      etag: plan.etag,
      bytes: plan.bytes,
      format: plan.format,
      gzip: plan.gzip,
    },
    model: { name: plan.model, version: plan.version, artifactSha256: plan.artifactSha256 },
    partition: { dt: plan.dt, source: plan.source },
    parts,
    timings: { startedAt: plan.startedAt, finishedAt: ports.now().toISOString() },
    ...(failedBatches > 0 ? { failedBatches } : {}),
  });
  await ports.data.write(keys.success, `${JSON.stringify(manifest, null, 2)}\n`, 'application/json');
  return manifest;
}
