// Batch step Finalize: makes the partition exactly this run's output — removes parts left from
// an earlier, larger run of the same input (and rejected parts this run did not write) — then
// writes the _SUCCESS manifest, last, so its presence means the partition is complete.
import { buildManifest, type Manifest, type PartSummary, staleParts } from '../lib/batch/batch-output.ts';
import type { BatchPlan } from '../lib/batch/batch-plan.ts';
import type { ObjectStore } from '../lib/storage/object-store.ts';
import { batchOutputKeys } from '../lib/storage/s3-layout.ts';

export interface FinalizePorts {
  readonly data: ObjectStore;
  list(bucket: string, prefix: string): Promise<string[]>;
  remove(bucket: string, keys: readonly string[]): Promise<void>;
  readonly now: () => Date;
}

/** A Map result entry is a PartSummary, or (with tolerated failures) the error of a failed batch. */
const isPart = (entry: unknown): entry is PartSummary =>
  typeof entry === 'object' && entry !== null && 'scoresKey' in entry && 'index' in entry;

export async function finalizeBatch(
  input: { plan: BatchPlan; parts: readonly unknown[] },
  ports: FinalizePorts,
): Promise<Manifest> {
  const { plan } = input;
  const parts = input.parts.filter(isPart).sort((a, b) => a.index - b.index);
  const failedBatches = input.parts.length - parts.length;
  const keys = batchOutputKeys(plan);
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
