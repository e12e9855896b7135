// Batch step ScoreBatch (one Distributed Map batch of a large input): scores the batch's rows
// as one part. The part index comes from the first row's index, since the ItemBatcher hands out
// consecutive rows `plan.batchSize` at a time.
import * as z from 'zod';
import type { PartRef } from '../lib/batch/batch-output.ts';
import { BatchPlan } from '../lib/batch/batch-plan.ts';
import { type ScorePartPorts, scorePart } from '../lib/batch/score-part.ts';
import { InvalidRequest } from '../lib/errors.ts';

/** What the ItemBatcher hands the processor: the selected items and the BatchInput. */
export const MapBatch = z.object({
  Items: z.array(z.object({ index: z.number().int().min(0), row: z.record(z.string(), z.unknown()) })).min(1),
  BatchInput: z.looseObject({ plan: BatchPlan }),
});
export type MapBatch = z.infer<typeof MapBatch>;

export async function scoreBatch(batch: MapBatch, ports: ScorePartPorts): Promise<PartRef> {
  const { plan } = batch.BatchInput;
  const first = batch.Items[0]?.index ?? 0;
  const partIndex = Math.floor(first / plan.batchSize);
  const last = batch.Items.at(-1)?.index ?? first;
  if (first % plan.batchSize !== 0 || Math.floor(last / plan.batchSize) !== partIndex)
    throw new InvalidRequest(
      `batch rows ${first}-${last} do not form one part of ${plan.batchSize} rows (is MaxItemsPerBatch the plan's batchSize?)`,
    );
  const part = await scorePart(plan, partIndex, batch.Items, ports);
  return { index: part.index, rejected: part.rowsRejected > 0 };
}
