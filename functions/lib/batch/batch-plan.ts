// The plan of one batch-scoring execution (what PlanBatch decides and every later step reads
// from `$.plan`), as a schema: one contract between the steps and the state machine's JSONPaths.
import * as z from 'zod';

export const BatchPlan = z.object({
  bucket: z.string(),
  /** The dropped object. */
  key: z.string(),
  /** What the steps (and the ItemReader) read: `key`, or a decompressed copy of a large gzip file. */
  readKey: z.string(),
  etag: z.string(),
  bytes: z.number(),
  format: z.enum(['csv', 'jsonl']),
  gzip: z.boolean(),
  model: z.string(),
  version: z.number().int().positive(),
  featureSet: z.string(),
  artifactUri: z.string(),
  artifactSha256: z.string(),
  dt: z.string(),
  source: z.string(),
  /** `done`: already scored by this artifact; `small`: one ScoreFile step; `large`: Distributed Map. */
  mode: z.enum(['done', 'small', 'large']),
  /** Rows per part (the ItemBatcher's MaxItemsPerBatchPath); part n holds rows [n·batchSize, (n+1)·batchSize). */
  batchSize: z.number().int().positive(),
  keyColumn: z.string().optional(),
  startedAt: z.string(),
});
export type BatchPlan = z.infer<typeof BatchPlan>;
