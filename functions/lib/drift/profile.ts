// The training reference profile (profile.json beside model.onnx): per-feature distributions
// compact enough to store, against which the drift check computes PSI and KS for live data.
import * as z from 'zod';
import { assignBin } from '../binning.ts';

/** How a field is profiled: numbers by quantile bins and percentiles, categories by shares. */
export type FieldKind = 'numeric' | 'categorical';

/** Distribution of a numeric field. Stats, bins and quantiles cover the non-null values only. */
export interface NumericFieldProfile {
  readonly kind: 'numeric';
  /** Rows with a value (a finite number). */
  readonly count: number;
  /** Share of rows without one: null, undefined, NaN, ±Infinity or anything not a number. */
  readonly nullRate: number;
  /** Null, like mean and std, when the field has no value at all. */
  readonly min: number | null;
  readonly max: number | null;
  readonly mean: number | null;
  /** Population standard deviation. */
  readonly std: number | null;
  /**
   * Interior cut points, strictly ascending, each a value of the data: bin 0 is (−∞, e₁], bin i is
   * (eᵢ, eᵢ₊₁], the last (e_k, +∞). Repeated values merge bins, so there may be fewer than asked;
   * no edge equals the maximum, so every bin holds reference rows. Bin live values with `assignBin`.
   */
  readonly binEdges: readonly number[];
  /** Share of the values in each bin (`binEdges.length + 1` of them, summing to 1); empty when count is 0. */
  readonly binShares: readonly number[];
  /**
   * The 0th, 1st, …, 100th percentiles (101 numbers, linear interpolation between order statistics),
   * from which a KS statistic can be computed without the rows, to within 0.01; empty when count is 0.
   */
  readonly quantiles: readonly number[];
}

/** Distribution of a categorical field over its non-null values. */
export interface CategoricalFieldProfile {
  readonly kind: 'categorical';
  /** Rows with a value. */
  readonly count: number;
  /** Share of rows without one: null, undefined, NaN or anything not a string, finite number or boolean. */
  readonly nullRate: number;
  /**
   * Share of each of the most frequent categories (ties broken by name), keyed in name order
   * (except that JavaScript lists integer-like keys first, in numeric order).
   * Look categories up with `assignCategory`: a live value such as `constructor` is not a key.
   */
  readonly shares: Readonly<Record<string, number>>;
  /** Share of all other categories together; 0 when every category is in `shares`. */
  readonly otherShare: number;
}

export type FieldProfile = NumericFieldProfile | CategoricalFieldProfile;

/** The stored reference profile. Fields are keyed by name, in name order. */
export interface Profile {
  readonly formatVersion: 1;
  /** Rows profiled, nulls included. */
  readonly rows: number;
  readonly fields: Readonly<Record<string, FieldProfile>>;
  /**
   * The model's scores (see `profilePredictions`): the reference for prediction drift. Added once
   * the model is scored on its test set, so a profile of input fields alone has none.
   */
  readonly prediction?: NumericFieldProfile;
}

export interface BuildProfileInput {
  /** Fields to profile, by name, and how. */
  readonly fields: Readonly<Record<string, FieldKind>>;
  /** Training rows; read once. Values of fields not listed are ignored. */
  readonly rows: Iterable<Readonly<Record<string, unknown>>>;
  /**
   * Quantile bins per numeric field. 20, not the textbook 10: on deciles a shift from N(0, 1) to
   * N(0.5, 1.3) scores PSI ≈ 0.25, right on the significant threshold; on 20 bins it is clearly
   * above, as the rule of thumb intends. The price: a field is judged from 1,000 values (50 per bin).
   * @default 20
   */
  readonly bins?: number;
  /** Categories kept by name per categorical field; the rest share `otherShare`. @default 50 */
  readonly maxCategories?: number;
}

const DEFAULT_BINS = 20;
const DEFAULT_MAX_CATEGORIES = 50;
const PERCENTILES = 101;

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** `value` as a numeric field reads it: a finite number, or null. */
export function numericValue(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** `value` as a categorical field reads it: strings as they are, finite numbers and booleans as text, else null. */
export function categoryValue(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean')
    return String(value);
  return null;
}

export { assignBin };

/** `category` if the profile keeps it by name, or null when it falls under `otherShare`. */
export function assignCategory(field: CategoricalFieldProfile, category: string): string | null {
  return Object.hasOwn(field.shares, category) ? category : null;
}

function checkCount(name: string, value: number): number {
  if (!(Number.isInteger(value) && value >= 1))
    throw new RangeError(`${name} must be an integer ≥ 1, got ${value}`);
  return value;
}

/** The `i`th percentile of ascending `sorted` (non-empty), interpolating between neighbours. */
function percentile(sorted: Float64Array, i: number): number {
  // Rank (n − 1) · i / 100, multiplied first so that whole ranks come out exact.
  const h = ((sorted.length - 1) * i) / 100;
  const lo = Math.floor(h);
  const below = sorted[lo] ?? 0;
  const above = sorted[Math.ceil(h)] ?? below;
  return below === above ? below : below + (h - lo) * (above - below);
}

/** Values at ranks k·n/bins (k = 1 … bins − 1), duplicates and the maximum dropped. */
function quantileEdges(sorted: Float64Array, bins: number): number[] {
  const n = sorted.length;
  const max = sorted[n - 1] ?? 0;
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const v = sorted[Math.ceil((k * n) / bins) - 1] ?? max;
    if (v < max && (edges.length === 0 || v > (edges[edges.length - 1] ?? v))) edges.push(v);
  }
  return edges;
}

/**
 * Profile of one numeric field from its non-null `values` among `rows` rows. Every statistic is
 * computed from the sorted values, so the result does not depend on the order of the rows.
 */
function numericProfile(values: ArrayLike<number>, rows: number, bins: number): NumericFieldProfile {
  const sorted = Float64Array.from(values).sort();
  const count = sorted.length;
  const nullRate = (rows - count) / rows;
  if (count === 0) {
    return {
      kind: 'numeric',
      count,
      nullRate,
      min: null,
      max: null,
      mean: null,
      std: null,
      binEdges: [],
      binShares: [],
      quantiles: [],
    };
  }
  let sum = 0;
  for (const v of sorted) sum += v;
  const mean = sum / count;
  let squares = 0;
  for (const v of sorted) squares += (v - mean) * (v - mean);
  const binEdges = quantileEdges(sorted, bins);
  const binCounts = new Array<number>(binEdges.length + 1).fill(0);
  for (const v of sorted) {
    const bin = assignBin(binEdges, v);
    binCounts[bin] = (binCounts[bin] ?? 0) + 1;
  }
  return {
    kind: 'numeric',
    count,
    nullRate,
    min: sorted[0] ?? null,
    max: sorted[count - 1] ?? null,
    mean,
    std: Math.sqrt(squares / count),
    binEdges,
    binShares: binCounts.map((c) => c / count),
    quantiles: Array.from({ length: PERCENTILES }, (_, i) => percentile(sorted, i)),
  };
}

/** Profile of one categorical field from its category `counts` among `rows` rows. */
function categoricalProfile(
  counts: ReadonlyMap<string, number>,
  rows: number,
  maxCategories: number,
): CategoricalFieldProfile {
  let count = 0;
  for (const n of counts.values()) count += n;
  const kept = [...counts]
    .sort(([a, na], [b, nb]) => nb - na || byCodeUnit(a, b))
    .slice(0, maxCategories)
    .sort(([a], [b]) => byCodeUnit(a, b));
  let keptCount = 0;
  for (const [, n] of kept) keptCount += n;
  return {
    kind: 'categorical',
    count,
    nullRate: (rows - count) / rows,
    shares: Object.fromEntries(kept.map(([category, n]) => [category, n / count])),
    otherShare: count === 0 ? 0 : (count - keptCount) / count,
  };
}

/**
 * Profile training `rows`: for each numeric field its null rate, moments, quantile bins and
 * percentiles; for each categorical field its null rate and the shares of its top categories.
 * Deterministic: the same rows (in any order) give byte-identical `JSON.stringify` output.
 */
export function buildProfile(input: BuildProfileInput): Profile {
  const bins = checkCount('bins', input.bins ?? DEFAULT_BINS);
  const maxCategories = checkCount('maxCategories', input.maxCategories ?? DEFAULT_MAX_CATEGORIES);
  const names = Object.keys(input.fields).sort(byCodeUnit);
  const numbers = new Map<string, number[]>();
  const categories = new Map<string, Map<string, number>>();
  for (const name of names) {
    const kind = input.fields[name];
    if (kind === 'numeric') numbers.set(name, []);
    else if (kind === 'categorical') categories.set(name, new Map());
    else throw new RangeError(`field ${name} has kind ${kind}; expected numeric or categorical`);
  }
  let rows = 0;
  for (const row of input.rows) {
    rows++;
    for (const [name, values] of numbers) {
      const v = Object.hasOwn(row, name) ? numericValue(row[name]) : null;
      if (v !== null) values.push(v);
    }
    for (const [name, counts] of categories) {
      const c = Object.hasOwn(row, name) ? categoryValue(row[name]) : null;
      if (c !== null) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
  }
  if (rows === 0) throw new RangeError('cannot profile 0 rows');
  const fields = Object.fromEntries(
    names.map((name): [string, FieldProfile] => {
      const values = numbers.get(name);
      return [
        name,
        values
          ? numericProfile(values, rows, bins)
          : categoricalProfile(categories.get(name) ?? new Map(), rows, maxCategories),
      ];
    }),
  );
  return { formatVersion: 1, rows, fields };
}

/**
 * The numeric profile of a model's `scores` on its training or test rows: the reference for
 * prediction drift. Non-finite scores count as nulls.
 */
export function profilePredictions(scores: ArrayLike<number>, bins = DEFAULT_BINS): NumericFieldProfile {
  checkCount('bins', bins);
  if (scores.length === 0) throw new RangeError('cannot profile 0 scores');
  const values: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const v = numericValue(scores[i]);
    if (v !== null) values.push(v);
  }
  return numericProfile(values, scores.length, bins);
}

const Share = z.number().min(0).max(1);
/** Slack allowed in a sum of shares that should be 1. */
const SHARE_SUM_TOLERANCE = 1e-9;

const NumericFieldProfileSchema = z
  .object({
    kind: z.literal('numeric'),
    count: z.number().int().min(0),
    nullRate: Share,
    min: z.number().nullable(),
    max: z.number().nullable(),
    mean: z.number().nullable(),
    std: z.number().min(0).nullable(),
    binEdges: z.array(z.number()),
    binShares: z.array(Share),
    quantiles: z.array(z.number()),
  })
  .superRefine((field, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (field.binEdges.some((edge, i) => i > 0 && !(edge > (field.binEdges[i - 1] ?? edge)))) {
      issue('binEdges', 'bin edges must be strictly ascending');
    }
    if (field.count === 0) {
      if (field.binEdges.length + field.binShares.length + field.quantiles.length > 0) {
        issue('count', 'a field with no values has no bins or quantiles');
      }
      return;
    }
    if (field.binShares.length !== field.binEdges.length + 1) {
      issue('binShares', `${field.binEdges.length} edges need ${field.binEdges.length + 1} shares`);
    } else if (Math.abs(field.binShares.reduce((a, b) => a + b, 0) - 1) > SHARE_SUM_TOLERANCE) {
      issue('binShares', 'bin shares must sum to 1');
    }
    if (field.quantiles.length !== PERCENTILES) issue('quantiles', `expected ${PERCENTILES} percentiles`);
  });

/** Category → share, checked entry by entry: z.record would drop a category named `__proto__`. */
const CategoryShares = z.custom<Record<string, number>>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((share) => Share.safeParse(share).success),
  'shares must map each category to a share in [0, 1]',
);

const CategoricalFieldProfileSchema = z
  .object({
    kind: z.literal('categorical'),
    count: z.number().int().min(0),
    nullRate: Share,
    shares: CategoryShares,
    otherShare: Share,
  })
  .superRefine((field, ctx) => {
    const total = Object.values(field.shares).reduce((a, b) => a + b, field.otherShare);
    if (field.count > 0 && Math.abs(total - 1) > SHARE_SUM_TOLERANCE) {
      ctx.addIssue({ code: 'custom', path: ['shares'], message: 'shares and otherShare must sum to 1' });
    }
  });

/** Parses a stored profile.json (after JSON.parse) back into a Profile, checking its invariants. */
export const ProfileSchema: z.ZodType<Profile> = z.object({
  formatVersion: z.literal(1),
  rows: z.number().int().min(1),
  fields: z.record(
    z.string(),
    z.discriminatedUnion('kind', [NumericFieldProfileSchema, CategoricalFieldProfileSchema]),
  ),
  prediction: NumericFieldProfileSchema.optional(),
});
