// Reads what Preprocess handed on: the fitted encoding and labelled rows, encoded for a model.
import { InvalidRequest } from '../errors.ts';
import { type ObjectStore, readJson } from '../storage/object-store.ts';
import { parseDataset } from '../training/dataset-file.ts';
import { recipeFor, type TrainingRecipe } from '../training/recipes.ts';
import { type FittedEncoding, type LabelledRow, runFiles } from './run-files.ts';

export interface EncodedRows {
  readonly recipe: TrainingRecipe;
  readonly fitted: FittedEncoding;
  readonly rows: readonly LabelledRow[];
  /** Row-major, rows × featureNames. */
  readonly x: Float32Array;
  readonly labels: Uint8Array;
}

/** Load the `train` or `test` side of a run, encoded with the encoding fitted on the train side. */
export async function loadEncodedRows(
  store: ObjectStore,
  runId: string,
  side: 'train' | 'test',
): Promise<EncodedRows> {
  const files = runFiles(runId);
  const fitted = await readJson<FittedEncoding>(store, files.encoding);
  const recipe = recipeFor(fitted.featureSet);
  const rows = parseDataset(
    await store.read(side === 'train' ? files.trainRows : files.testRows),
  ) as LabelledRow[];
  if (rows.length === 0) throw new InvalidRequest(`the ${side} split of run ${runId} is empty`);
  return {
    recipe,
    fitted,
    rows,
    x: recipe.featureSet.encode(
      rows.map((r) => r.instance),
      fitted.encoding,
    ),
    labels: Uint8Array.from(rows, (r) => r.label),
  };
}
