// What a training dataset must look like before a model is trained on it: a declarative expectation set.
import type { z } from 'zod';

/** An inclusive interval `[min, max]`. */
export interface Band {
  readonly min: number;
  readonly max: number;
}

/** Keys of `Row` whose values are numbers. */
export type NumericColumn<Row> = {
  [K in keyof Row & string]: Row[K] extends number ? K : never;
}[keyof Row & string];

/** Keys of `Row` whose values are strings. */
export type CategoricalColumn<Row> = {
  [K in keyof Row & string]: Row[K] extends string ? K : never;
}[keyof Row & string];

/** A band a quantile of a numeric column must fall in, e.g. the median (`q: 0.5`). */
export interface QuantileBand extends Band {
  /** Which quantile, in (0, 1): 0.5 is the median. */
  readonly q: number;
}

/**
 * Bounds on one numeric column. `min`/`max` judge each value (a few outliers may be tolerated);
 * `mean` and `quantiles` judge the column as a whole, which is what catches a unit change that
 * leaves every single value plausible (distances in km instead of miles).
 */
export interface RangeExpectation<Row> {
  readonly column: NumericColumn<Row>;
  /** Smallest acceptable value. @default no lower bound */
  readonly min?: number;
  /** Largest acceptable value. @default no upper bound */
  readonly max?: number;
  /** Share of values allowed outside `[min, max]`, in [0, 1]. @default 0 */
  readonly maxOutOfRangeShare?: number;
  /** Band the column's mean must fall in. @default not checked */
  readonly mean?: Band;
  /** Bands for quantiles of the column (linear interpolation between order statistics). @default none */
  readonly quantiles?: readonly QuantileBand[];
}

/**
 * The categories a column had in reference data (usually the data the current champion was
 * trained on), with their shares. New categories may appear, but not in bulk; common ones must
 * not vanish, since a vanished category is usually an upstream filter or join gone wrong.
 */
export interface CategoryExpectation<Row> {
  readonly column: CategoricalColumn<Row>;
  /** Every known category with its share of reference rows, in [0, 1]. */
  readonly reference: Readonly<Record<string, number>>;
  /** Share of rows allowed to hold a category absent from `reference`, in [0, 1]. @default 0 */
  readonly maxUnseenShare?: number;
  /**
   * Reference categories with at least this share must still appear at least once.
   * @default 0.01
   */
  readonly requiredAboveShare?: number;
}

/** The share of positive labels must stay in a band: a collapsed label makes a useless model. */
export interface LabelBalanceExpectation<Row> {
  /** What the label means, for messages, e.g. `delayed > 15 min`. */
  readonly description: string;
  /** Derives the label from a valid row; truthy or 1 counts as positive. */
  readonly label: (row: Row) => boolean | 0 | 1;
  /** Band the positive rate must fall in, in [0, 1]. */
  readonly positiveRate: Band;
}

/** No two rows may share a key: a repeated key is a record loaded twice. */
export interface UniqueKeyExpectation<Row> {
  /** What the key is made of, for messages, e.g. `date, route, delay`. */
  readonly description: string;
  readonly key: (row: Row) => string;
}

/**
 * Everything a dataset is checked against. Each row is parsed by `rowSchema`; the dataset-level
 * checks then run on the rows that parsed, except `minRows` and `maxNullRate`, which look at the
 * rows as received. Every check is optional except the schema.
 */
export interface ExpectationSet<Row> {
  /** Dataset name, for messages, e.g. `flights`. */
  readonly dataset: string;
  /** Parses one raw row; rows that fail it are reported and left out of the other checks. */
  readonly rowSchema: z.ZodType<Row>;
  /** Share of rows allowed to fail `rowSchema`, in [0, 1]. @default 0 */
  readonly maxInvalidRowShare?: number;
  /** Fewest rows worth training on. @default not checked */
  readonly minRows?: number;
  /**
   * Share of null, missing or NaN values allowed per raw column, in [0, 1]. A null in a column
   * listed here is judged by this rate only, not reported again as a schema failure.
   * @default not checked
   */
  readonly maxNullRate?: Readonly<Partial<Record<keyof Row & string, number>>>;
  /** Numeric column checks. @default none */
  readonly ranges?: readonly RangeExpectation<Row>[];
  /** Categorical column checks. @default none */
  readonly categories?: readonly CategoryExpectation<Row>[];
  /** Positive-rate band for the training label. @default not checked */
  readonly labelBalance?: LabelBalanceExpectation<Row>;
  /** Duplicate-record check. @default not checked */
  readonly uniqueKey?: UniqueKeyExpectation<Row>;
}

/** Which expectation a violation breaks; stable, so alarms and tests may match on it. */
export type ExpectationKind =
  | 'rowSchema'
  | 'minRows'
  | 'maxNullRate'
  | 'range'
  | 'mean'
  | 'quantile'
  | 'unseenCategories'
  | 'vanishedCategories'
  | 'labelBalance'
  | 'uniqueKey';

/** One broken expectation. */
export interface Violation {
  readonly expectation: ExpectationKind;
  /** The column at fault, when the expectation is about one. */
  readonly column?: string;
  /** One readable sentence: what was found, and what was expected. */
  readonly message: string;
  /**
   * How many rows are at fault (for `vanishedCategories`: how many categories; for `mean` and
   * `quantile`: how many values the statistic was computed over).
   */
  readonly count: number;
  /** Up to 5 offending rows (`{ row: index, ... }`), categories or keys. Empty for pure statistics. */
  readonly examples: readonly unknown[];
}

/** The verdict on one dataset. */
export interface ValidationReport {
  readonly dataset: string;
  readonly passed: boolean;
  /** Rows received. */
  readonly rows: number;
  /** Rows that passed the row schema. */
  readonly validRows: number;
  /** Every broken expectation, in the order the expectation set declares them. */
  readonly violations: readonly Violation[];
}
