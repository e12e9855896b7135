// Scores one part of a batch input (a run of consecutive rows) and writes its output: the
// scores part, and the rejected part when rows were rejected. Part keys come from the part's
// index, so a retried or replayed part overwrites the same keys with the same bytes.
import type { LoadedModel } from '../serving/loaded-model.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { batchOutputKeys } from '../storage/s3-layout.ts';
import type { TrainingRecipe } from '../training/recipes.ts';
import { type PartSummary, renderPart, sha256Hex } from './batch-output.ts';
import type { BatchPlan } from './batch-plan.ts';
import { scoreItems } from './score-rows.ts';

export interface ScorePartPorts {
  /** The data bucket (scores/ and rejected/ are written there). */
  readonly data: ObjectStore;
  readonly model: Pick<LoadedModel, 'featureSet' | 'encoding' | 'threshold' | 'score'>;
  readonly recipe: TrainingRecipe;
}

/** Score `items` (rows `index` onwards of the input) as part `partIndex` of `plan`'s output. */
export async function scorePart(
  plan: BatchPlan,
  partIndex: number,
  items: ReadonlyArray<{ index: number; row: Record<string, unknown> }>,
  ports: ScorePartPorts,
): Promise<PartSummary> {
  const keys = batchOutputKeys(plan);
  const { scored, rejected } = await scoreItems(items, ports.model, {
    recipe: ports.recipe,
    format: plan.format,
    ...(plan.keyColumn ? { keyColumn: plan.keyColumn } : {}),
  });
  const scoresBytes = renderPart(scored);
  const scoresKey = keys.scoresPart(partIndex);
  await ports.data.write(scoresKey, scoresBytes, 'application/x-ndjson');
  const summary: PartSummary = {
    index: partIndex,
    rowsIn: items.length,
    rowsOut: scored.length,
    rowsRejected: rejected.length,
    scoresKey,
    scoresSha256: sha256Hex(scoresBytes),
    scoresBytes: scoresBytes.length,
  };
  if (rejected.length === 0) return summary;
  const rejectedBytes = renderPart(rejected);
  const rejectedKey = keys.rejectedPart(partIndex);
  await ports.data.write(rejectedKey, rejectedBytes, 'application/x-ndjson');
  return { ...summary, rejectedKey, rejectedSha256: sha256Hex(rejectedBytes) };
}
