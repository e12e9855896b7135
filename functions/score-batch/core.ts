// Batch step ScoreBatch (one Distributed Map batch of a large input): scores the batch's rows
// as one part. The part index comes from the first row's index, since the ItemBatcher hands out
// consecutive rows `plan.batchSize` at a time.
import * as z from 'zod';
import type { PartRef } from '../lib/batch/batch-output.ts';
import { BatchPlan } from '../lib/batch/batch-plan.ts';
import { type ScorePartPorts, scorePart } from '../lib/batch/score-part.ts';
import { InvalidRequest } from '../lib/errors.ts';
import { toFieldIssues } from '../lib/schemas/zod-issues.ts';

/** What the ItemBatcher hands the processor: the selected items and the BatchInput. */
export interface MapBatch {
  readonly Items: ReadonlyArray<{ readonly index: number; readonly row: Record<string, unknown> }>;
  readonly BatchInput: { readonly plan: BatchPlan };
}

const BatchInputSchema = z.looseObject({ plan: BatchPlan });

/**
 * Check a Map batch's shape. The items are checked by hand: a schema parse would copy every row
 * of every batch (a million rows per large input) before scoring validates them anyway.
 */
export function parseMapBatch(event: unknown): MapBatch {
  const batch = (event ?? {}) as { Items?: unknown; BatchInput?: unknown };
  const items = batch.Items;
  if (!Array.isArray(items) || items.length === 0)
    throw new InvalidRequest('a Map batch needs a non-empty Items array of {index, row}');
  for (const [i, item] of items.entries()) {
    const { index, row } = (item ?? {}) as { index?: unknown; row?: unknown };
    if (
      !Number.isInteger(index) ||
      (index as number) < 0 ||
      typeof row !== 'object' ||
      row === null ||
      Array.isArray(row)
    )
      throw new InvalidRequest(`Items.${i} must be {index: a row number, row: an object}`);
  }
  const input = BatchInputSchema.safeParse(batch.BatchInput);
  if (!input.success)
    throw new InvalidRequest('invalid BatchInput of a Map batch', toFieldIssues(input.error));
  return { Items: items as MapBatch['Items'], BatchInput: input.data };
}

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
