// Finalize: the partition ends up holding exactly this run's parts — stale ones from an earlier,
// larger run of the same input are removed — and _SUCCESS is written last.
import { describe, expect, it } from 'vitest';
import { finalizeBatch } from '../../../../functions/finalize-batch/core.ts';
import type { PartSummary } from '../../../../functions/lib/batch/batch-output.ts';
import type { BatchPlan } from '../../../../functions/lib/batch/batch-plan.ts';
import { batchOutputKeys } from '../../../../functions/lib/storage/s3-layout.ts';
import { memoryObjectStore } from '../../../support/memory-object-store.ts';

const plan: BatchPlan = {
  bucket: 'data',
  key: 'incoming/flight-delay/jan.csv',
  readKey: 'incoming/flight-delay/jan.csv',
  etag: 'abc',
  bytes: 1_000,
  format: 'csv',
  gzip: false,
  model: 'flight-delay',
  version: 2,
  featureSet: 'flights-v1',
  artifactUri: 's3://artifacts/models/flight-delay/2/model.onnx',
  artifactSha256: 'a'.repeat(64),
  dt: '2026-11-20',
  source: 'jan.csv',
  mode: 'small',
  batchSize: 10,
  startedAt: '2026-11-20T10:00:00.000Z',
};
const keys = batchOutputKeys(plan);
const part = (index: number, rejected = 0): PartSummary => ({
  index,
  rowsIn: 10,
  rowsOut: 10 - rejected,
  rowsRejected: rejected,
  scoresKey: keys.scoresPart(index),
  scoresSha256: 'b'.repeat(64),
  scoresBytes: 100,
  ...(rejected > 0 ? { rejectedKey: keys.rejectedPart(index), rejectedSha256: 'c'.repeat(64) } : {}),
});

function setup(existing: string[]) {
  const data = memoryObjectStore('data');
  for (const key of existing) data.objects.set(key, { body: new Uint8Array(), contentType: 'x' });
  const removed: string[] = [];
  return {
    data,
    removed,
    ports: {
      data,
      list: async (_b: string, prefix: string) => data.keys(prefix),
      remove: async (_b: string, ks: readonly string[]) => {
        for (const k of ks) data.objects.delete(k);
        removed.push(...ks);
      },
      now: () => new Date('2026-11-20T10:00:05.000Z'),
    },
  };
}

describe('finalizeBatch', () => {
  it('removes scores and rejected parts this run did not write, then writes _SUCCESS last', async () => {
    const { data, removed, ports } = setup([
      keys.scoresPart(0),
      keys.scoresPart(1),
      keys.scoresPart(2),
      keys.rejectedPart(0),
      keys.rejectedPart(2),
      keys.success,
    ]);
    const manifest = await finalizeBatch({ plan, parts: [part(1), part(0, 2)] }, ports);
    expect(removed.sort()).toEqual([keys.rejectedPart(2), keys.scoresPart(2)].sort());
    expect(manifest.rows).toEqual({ in: 20, out: 18, rejected: 2 });
    expect(manifest.parts.map((p) => p.index)).toEqual([0, 1]);
    expect(data.writes.at(-1)).toBe(keys.success);
    expect(manifest.timings).toMatchObject({
      startedAt: plan.startedAt,
      finishedAt: '2026-11-20T10:00:05.000Z',
    });
  });

  it('counts batches the Distributed Map tolerated as failed instead of hiding them', async () => {
    const { ports } = setup([]);
    const manifest = await finalizeBatch(
      { plan, parts: [part(0), { Error: 'States.TaskFailed', Cause: 'boom' }, part(2)] },
      ports,
    );
    expect(manifest.failedBatches).toBe(1);
    expect(manifest.rows.in).toBe(20);
  });
});
