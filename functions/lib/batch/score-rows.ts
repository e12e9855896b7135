// Turns batch input items into output lines: validates each row as online prediction does, then
// encodes and scores all accepted rows of a batch in one model call.
import { ModelUnavailable } from '../errors.ts';
import { toFieldIssues } from '../schemas/zod-issues.ts';
import type { LoadedModel } from '../serving/loaded-model.ts';
import type { TrainingRecipe } from '../training/recipes.ts';
import type { InputFormat, InputItem } from './input-file.ts';

/** Columns taken as the row's key, in this order, when no key column is named. */
export const DEFAULT_KEY_COLUMNS = ['id', 'key', 'row_id'] as const;

/** A row's key as echoed in the output (`id`): a string or number from the key column. */
export type RowKey = string | number;

/** One row ready to score (`key` when it has one), or why it cannot be scored. */
export type PreparedInstance =
  | { readonly ok: true; readonly instance: unknown; readonly key?: RowKey }
  | { readonly ok: false; readonly reason: string };

/** What preparing a row needs of its recipe. */
export type RowRecipe = Pick<TrainingRecipe, 'featureSet' | 'fromText'>;

export interface KeyOptions {
  /** The column holding each row's key; when unset, the first of `id`, `key`, `row_id` present. */
  readonly keyColumn?: string;
}

/**
 * Validate one input row against the recipe's feature set. The key column (see KeyOptions) is
 * kept out of the instance, since the strict instance schema would reject it, and returned as
 * `key`. CSV text goes through `recipe.fromText` first. A bad row's reason lists every bad field
 * as `path: message`, separated by `; ` (e.g. `distance: expected a distance in miles greater than 0`).
 */
export function prepareInstance(
  item: InputItem,
  recipe: RowRecipe,
  format: InputFormat,
  options: KeyOptions = {},
): PreparedInstance {
  const keyColumn = options.keyColumn ?? DEFAULT_KEY_COLUMNS.find((column) => Object.hasOwn(item, column));
  let key: RowKey | undefined;
  let fields: InputItem = item;
  if (keyColumn !== undefined) {
    if (!Object.hasOwn(item, keyColumn))
      return { ok: false, reason: `${keyColumn}: missing (the key column)` };
    const value = item[keyColumn];
    if (!(typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)))) {
      return { ok: false, reason: `${keyColumn}: expected a string or number as the row's key` };
    }
    key = value;
    const { [keyColumn]: _key, ...rest } = item;
    fields = rest;
  }
  // CSV items come from ItemReader (or readItems), whose values are all strings.
  const raw = format === 'csv' ? recipe.fromText(fields as Record<string, string>) : fields;
  const parsed = recipe.featureSet.instanceSchema.safeParse(raw);
  if (!parsed.success) {
    const reason = toFieldIssues(parsed.error)
      .map((issue) => `${issue.path}: ${issue.message}`)
      .join('; ');
    return { ok: false, reason };
  }
  return key === undefined ? { ok: true, instance: parsed.data } : { ok: true, instance: parsed.data, key };
}

/** One input row and its 0-based item index in the input file (ItemReader's `$$.Map.Item.Index`). */
export interface IndexedItem {
  readonly index: number;
  readonly row: InputItem;
}

/** What scoring a batch needs of a loaded model. */
export type ScoringModel = Pick<LoadedModel, 'featureSet' | 'encoding' | 'threshold' | 'score'>;

export interface ScoreOptions extends KeyOptions {
  /** The recipe of the model's feature set (`recipeFor(model.featureSet.name)`). */
  readonly recipe: RowRecipe;
  readonly format: InputFormat;
}

/**
 * A batch's output lines (JSON, no trailing newline), each list in input order.
 *
 * - `scored`: `{"id":key,"row":index,"score":p,"label":0|1}` per accepted row; `id` only when
 *   the row has a key; `score` is P(positive) as online prediction returns it, and `label` is 1
 *   when `score >= threshold`.
 * - `rejected`: `{"row":index,"reason":"path: message; …","input":{…the row as read}}`.
 *
 * Keys always come in this order, so the same rows and model give the same bytes.
 */
export interface ScoredBatch {
  readonly scored: string[];
  readonly rejected: string[];
}

/**
 * Validate `items`, encode every accepted row at once and score them with one model call.
 * Rows that fail validation become `rejected` lines rather than failing the batch.
 */
export async function scoreItems(
  items: ReadonlyArray<IndexedItem>,
  model: ScoringModel,
  opts: ScoreOptions,
): Promise<ScoredBatch> {
  if (opts.recipe.featureSet.name !== model.featureSet.name) {
    throw new TypeError(
      `recipe for ${opts.recipe.featureSet.name} cannot prepare rows for a ${model.featureSet.name} model`,
    );
  }
  const keyOptions: KeyOptions = opts.keyColumn === undefined ? {} : { keyColumn: opts.keyColumn };
  const accepted: { index: number; key: RowKey | undefined }[] = [];
  const instances: unknown[] = [];
  const rejected: string[] = [];
  for (const { index, row } of items) {
    const prepared = prepareInstance(row, opts.recipe, opts.format, keyOptions);
    if (prepared.ok) {
      accepted.push({ index, key: prepared.key });
      instances.push(prepared.instance);
    } else {
      rejected.push(JSON.stringify({ row: index, reason: prepared.reason, input: row }));
    }
  }
  if (instances.length === 0) return { scored: [], rejected };

  const features = model.featureSet.encode(instances, model.encoding);
  const scores = await model.score(features, instances.length);
  if (scores.length !== instances.length) {
    throw new ModelUnavailable(`the model returned ${scores.length} scores for ${instances.length} rows`);
  }
  const scored = accepted.map(({ index, key }, i) => {
    const score = scores[i] as number;
    if (!Number.isFinite(score))
      throw new ModelUnavailable(`the model returned no valid score for row ${index}`);
    const label = score >= model.threshold ? 1 : 0;
    return JSON.stringify(
      key === undefined ? { row: index, score, label } : { id: key, row: index, score, label },
    );
  });
  return { scored, rejected };
}
