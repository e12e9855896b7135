// Ground truth: the recent, labelled rows data teams drop under
// `ground-truth/model={m}/dt={yyyy-mm-dd}/` in the model's raw dataset format (a training row:
// the instance and the outcome its label is derived from). Which partitions a retraining reads,
// how a file becomes rows, which rows count (the recipe's row schema and a usable label, each
// record once), and the deterministic split into challenger-train and holdout.
import { createHash } from 'node:crypto';
import { decodeInput, readItems } from '../batch/input-file.ts';
import { PlatformError } from '../errors.ts';
import { groundTruthPartitionPrefix } from '../storage/s3-layout.ts';
import { parseDataset } from '../training/dataset-file.ts';
import type { TrainingRecipe } from '../training/recipes.ts';

/** Too few valid labelled rows in the window to train and compare on: the champion stays (422). */
export class InsufficientLabelledData extends PlatformError {
  override readonly name = 'InsufficientLabelledData';
  readonly status = 422;
}

const DAY_MS = 86_400_000;

/**
 * The `dt` partitions (UTC days, oldest first) that overlap [windowEnd − lookbackDays, windowEnd]:
 * labels arrive late, so the days before the drifted window hold most of its ground truth.
 */
export function lookbackPartitions(windowEnd: Date, lookbackDays: number): string[] {
  if (!(Number.isInteger(lookbackDays) && lookbackDays >= 1))
    throw new RangeError(`lookbackDays must be a positive integer, got ${lookbackDays}`);
  const end = Math.floor(windowEnd.getTime() / DAY_MS);
  const days: string[] = [];
  for (let day = Math.floor((windowEnd.getTime() - lookbackDays * DAY_MS) / DAY_MS); day <= end; day++)
    days.push(new Date(day * DAY_MS).toISOString().slice(0, 10));
  return days;
}

/** Objects in a partition that are not data: folder markers, `_SUCCESS`-style and hidden files. */
export function isDataObject(key: string): boolean {
  const name = key.slice(key.lastIndexOf('/') + 1);
  return name !== '' && !name.startsWith('_') && !name.startsWith('.');
}

/** A plain decimal number as text; `Number('')` would be 0. */
const DECIMAL_TEXT = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/**
 * The raw rows of one ground-truth file: CSV (`.csv`, header row; values converted as the recipe
 * converts batch CSV text, and numeric label columns to numbers) or JSON (`.json`, `.jsonl`,
 * `.ndjson`: a JSON array or JSON Lines), each optionally gzipped. Throws for a file that cannot
 * be read as rows at all; a row that is not an object comes back as it is, to be rejected.
 */
export function readGroundTruthFile(key: string, bytes: Uint8Array, recipe: TrainingRecipe): unknown[] {
  const name = key.toLowerCase().replace(/\.gz$/, '');
  const text = decodeInput(bytes);
  if (name.endsWith('.csv'))
    return readItems(text, 'csv').map((item) => {
      const row = recipe.fromText(item as Record<string, string>);
      for (const column of recipe.labelColumns) {
        const value = row[column];
        if (typeof value === 'string' && DECIMAL_TEXT.test(value)) row[column] = Number(value);
      }
      return row;
    });
  if (name.endsWith('.json') || name.endsWith('.jsonl') || name.endsWith('.ndjson'))
    return parseDataset(text);
  throw new Error('not a ground-truth file: name it *.csv, *.json, *.jsonl or *.ndjson (optionally .gz)');
}

/** A valid labelled row: as received, with its label and the key that makes it one record. */
export interface LabelledRecord {
  readonly row: Readonly<Record<string, unknown>>;
  readonly label: 0 | 1;
  readonly key: string;
}

/** Why rows were left out, most frequent first. */
export interface RejectReason {
  readonly reason: string;
  readonly rows: number;
}

/** Collects the valid rows of many files, each record once. */
export class LabelledRows {
  readonly records: LabelledRecord[] = [];
  rejected = 0;
  duplicates = 0;
  private readonly seen = new Set<string>();
  private readonly reasons = new Map<string, number>();

  constructor(private readonly recipe: TrainingRecipe) {}

  /** Add `rows`; returns how many were valid and new. */
  add(rows: readonly unknown[]): number {
    const before = this.records.length;
    const { rowSchema, uniqueKey } = this.recipe.expectations;
    for (const row of rows) {
      if (typeof row !== 'object' || row === null || Array.isArray(row)) {
        this.reject('(row): not an object');
        continue;
      }
      const parsed = rowSchema.safeParse(row);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        this.reject(`${issue?.path.join('.') || '(row)'}: ${issue?.message ?? 'invalid'}`);
        continue;
      }
      const record = row as Record<string, unknown>;
      const label = this.recipe.label(record);
      if (label === undefined) {
        this.reject(`${this.recipe.labelColumns.join(', ')}: no usable label`);
        continue;
      }
      // The recipe's record key when it has one (normalized values: `dtw` and `DTW` are one airport).
      const key = uniqueKey ? uniqueKey.key(parsed.data) : canonicalJson(record);
      if (this.seen.has(key)) {
        this.duplicates += 1;
        continue;
      }
      this.seen.add(key);
      this.records.push({ row: record, label, key });
    }
    return this.records.length - before;
  }

  /** The most frequent reasons rows were rejected (at most `limit`). */
  rejectReasons(limit = 5): RejectReason[] {
    return [...this.reasons]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, limit)
      .map(([reason, rows]) => ({ reason, rows }));
  }

  private reject(reason: string): void {
    this.rejected += 1;
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
  }
}

/** JSON with object keys sorted, so two spellings of one record give one key. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null)
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

/**
 * A uniform value in [0, 1) from a record's key alone: a record lands on the same side of the
 * split whatever file or order it arrives in, so a retried preparation, or an overlapping
 * later window, holds out the same records.
 */
export function holdoutDraw(key: string): number {
  return createHash('sha256').update('holdout\0').update(key).digest().readUInt32BE(0) / 2 ** 32;
}

/** Records on each side of the split, in their original order. */
export interface HoldoutSplit {
  readonly train: LabelledRecord[];
  readonly holdout: LabelledRecord[];
}

/** Split `records`: about `holdoutShare` of them are held out, chosen by `holdoutDraw`. */
export function splitHoldout(records: readonly LabelledRecord[], holdoutShare: number): HoldoutSplit {
  if (!(holdoutShare > 0 && holdoutShare < 1))
    throw new RangeError(`holdoutShare must be in (0, 1), got ${holdoutShare}`);
  const train: LabelledRecord[] = [];
  const holdout: LabelledRecord[] = [];
  for (const record of records) (holdoutDraw(record.key) < holdoutShare ? holdout : train).push(record);
  return { train, holdout };
}

/** Port: the ground-truth objects of the data bucket. */
export interface GroundTruthObjects {
  /** Keys under `prefix`, in key order (all pages). */
  listKeys(prefix: string): Promise<string[]>;
  read(key: string): Promise<Uint8Array>;
}

/** What the partitions held: the valid rows, the files read, and the files skipped with the reason. */
export interface GatheredGroundTruth {
  readonly rows: LabelledRows;
  readonly files: Array<{ key: string; rows: number; valid: number }>;
  readonly skipped: Array<{ key: string; reason: string }>;
}

/**
 * Every data object of the model's `dt` partitions, read and validated, each record once; files
 * that cannot be read as rows are skipped with the reason, objects deleted since listing ignored,
 * and any other read error thrown (a retry then reads the same files).
 */
export async function gatherGroundTruth(
  model: string,
  partitions: readonly string[],
  recipe: TrainingRecipe,
  objects: GroundTruthObjects,
): Promise<GatheredGroundTruth> {
  const rows = new LabelledRows(recipe);
  const files: Array<{ key: string; rows: number; valid: number }> = [];
  const skipped: Array<{ key: string; reason: string }> = [];
  for (const dt of partitions) {
    const keys = (await objects.listKeys(groundTruthPartitionPrefix(model, dt))).filter(isDataObject);
    for (const key of keys) {
      let bytes: Uint8Array;
      try {
        bytes = await objects.read(key);
      } catch (err) {
        if ((err as Error).name === 'NoSuchKey') continue; // deleted since it was listed
        // Anything else (throttling, a network fault, access) is thrown for the step to retry:
        // a file skipped for a passing fault would change the rows, and so the decision.
        throw err;
      }
      let raw: unknown[];
      try {
        raw = readGroundTruthFile(key, bytes, recipe);
      } catch (err) {
        skipped.push({ key, reason: (err as Error).message });
        continue;
      }
      files.push({ key, rows: raw.length, valid: rows.add(raw) });
    }
  }
  return { rows, files, skipped };
}
