// The drift check's verdict on one capture window: each field (and the model's scores) against the
// training reference profile, judged on effect sizes, with "insufficient data" for windows too small to judge.
import * as z from 'zod';
import { type NumericSummary, summarizeNumericColumn } from './numeric-summary.ts';
import {
  assignCategory,
  type CategoricalFieldProfile,
  categoryValue,
  type NumericFieldProfile,
  numericValue,
  type Profile,
} from './profile.ts';
import { DEFAULT_PSI_EPSILON, populationStabilityIndex } from './psi.ts';

/** A window's (or a field's) verdict. `insufficient-data` means "cannot tell", neither drift nor no drift. */
export type DriftStatus = 'stable' | 'watch' | 'significant' | 'insufficient-data';

type Judged = Exclude<DriftStatus, 'insufficient-data'>;
const SEVERITY: Record<Judged, number> = { stable: 0, watch: 1, significant: 2 };

/** Below `watch` is stable, from `watch` to `significant` is watch, above `significant` is significant. */
const BandSchema = z
  .object({ watch: z.number().min(0), significant: z.number().min(0) })
  .refine((band) => band.watch <= band.significant, 'watch must not exceed significant');

/** Overrides for one field (or for the prediction); anything left out comes from the window-wide setting. */
const FieldThresholdsSchema = z.object({
  psi: BandSchema.optional(),
  ks: BandSchema.optional(),
  nullRate: BandSchema.optional(),
  minRowsPerBin: z.number().int().min(1).optional(),
});

/** How a window is judged. Parse `{}` for the defaults. */
export const DriftThresholdsSchema = z.object({
  /** PSI bands: the usual rule of thumb. */
  psi: BandSchema.default({ watch: 0.1, significant: 0.25 }),
  /**
   * KS D bands for numeric fields. Off by default (D is reported, not judged); for a shift of the
   * mean, D ≈ 0.13 and 0.20 match PSI 0.1 and 0.25. Turn it on to catch what coarse bins hide,
   * such as a constant feature (one bin, PSI always 0) taking another value.
   */
  ks: BandSchema.optional(),
  /**
   * Bands for the absolute change in the share of nulls. PSI covers the values only, so this is
   * what notices a feature going missing. At 500 rows the null rate's own noise is at most ±0.022 (1 σ).
   */
  nullRate: BandSchema.default({ watch: 0.05, significant: 0.1 }),
  /** Windows with fewer rows are `insufficient-data` as a whole. */
  minRows: z.number().int().min(1).default(500),
  /**
   * A field is judged only with at least this many values per reference bin (categories count
   * their "other" too). The PSI of a window drawn from the reference itself is about
   * (bins − 1) / values, so 50 per bin keeps that noise near 0.02, a fifth of the watch threshold:
   * 500 values for 10 bins, 2,550 for 50 categories and "other".
   */
  minRowsPerBin: z.number().int().min(1).default(50),
  /** Share floor for PSI's logarithms (see `DEFAULT_PSI_EPSILON`). */
  epsilon: z.number().gt(0).lt(1).default(DEFAULT_PSI_EPSILON),
  /** How many category shifts and unlisted categories a categorical field lists. */
  topCategories: z.number().int().min(1).default(5),
  /** Per-field overrides, by field name. */
  fields: z.record(z.string(), FieldThresholdsSchema).default({}),
  /** Overrides for the prediction distribution. */
  prediction: FieldThresholdsSchema.default({}),
});

export type DriftThresholds = z.output<typeof DriftThresholdsSchema>;
export type DriftThresholdsInput = z.input<typeof DriftThresholdsSchema>;
type Band = z.output<typeof BandSchema>;
type FieldLimits = Required<Omit<z.output<typeof FieldThresholdsSchema>, 'ks'>> & { readonly ks?: Band };

/** The rows captured in one window, and the model's scores for them when the profile has a prediction reference. */
export interface DriftWindow {
  readonly rows: ReadonlyArray<Readonly<Record<string, unknown>>>;
  readonly scores?: ArrayLike<number>;
}

/** A statistic in the reference and in the window; null where it is undefined (no values). */
export interface Compared {
  readonly reference: number | null;
  readonly live: number | null;
  /** live − reference. */
  readonly change: number | null;
}

interface FieldDriftBase {
  readonly status: DriftStatus;
  /** Why, in a line: the measures behind the status, with their thresholds. */
  readonly reason: string;
  /** Rows in the window (scores, for the prediction). */
  readonly rows: number;
  /** Rows with a value, and how many a verdict needs. */
  readonly values: number;
  readonly valuesNeeded: number;
  readonly nullRate: Compared;
  /** PSI over the reference bins, or null without values on either side. */
  readonly psi: number | null;
}

export interface NumericFieldDrift extends FieldDriftBase {
  readonly kind: 'numeric';
  /** KS statistic D against the reference percentiles (within 0.01 of D against the training rows). */
  readonly ks: number | null;
  readonly mean: Compared;
  readonly std: Compared;
  /** The histograms side by side: reference and live shares per bin, each bin's PSI term. */
  readonly bins: {
    readonly edges: readonly number[];
    readonly reference: readonly number[];
    readonly live: readonly number[];
    readonly contributions: readonly number[];
  } | null;
}

/** One category's share in the reference and in the window; `category` null stands for all others together. */
export interface CategoryShift {
  readonly category: string | null;
  readonly reference: number;
  readonly live: number;
  readonly change: number;
  /** Its term of the PSI. */
  readonly contribution: number;
}

export interface CategoricalFieldDrift extends FieldDriftBase {
  readonly kind: 'categorical';
  /** Every category the profile keeps, in profile order, then the others (null). Empty without values. */
  readonly categories: readonly CategoryShift[];
  /** The largest movers of `categories`, by absolute change. */
  readonly largestShifts: readonly CategoryShift[];
  /** Live categories the profile does not keep by name (new ones, or too rare in training), most frequent first. */
  readonly otherCategories: ReadonlyArray<{ readonly category: string; readonly share: number }>;
}

export type FieldDrift = NumericFieldDrift | CategoricalFieldDrift;

/** The verdict on a window. JSON-serialisable; the same rows in any order give the same report. */
export interface DriftReport {
  /** Worst status of the fields (and prediction) that could be judged; `insufficient-data` when the window is under `minRows` or none could. */
  readonly status: DriftStatus;
  readonly reason: string;
  readonly rows: number;
  readonly minRows: number;
  /** By field name, in profile order. */
  readonly fields: Readonly<Record<string, FieldDrift>>;
  /** The scores' distribution, when the window has scores and the profile a prediction reference. */
  readonly prediction: NumericFieldDrift | null;
}

interface Part {
  readonly status: Judged | null;
  readonly text: string;
}

const fmt = (x: number) => x.toFixed(3);

function judge(value: number, band: Band): Judged {
  return value > band.significant ? 'significant' : value >= band.watch ? 'watch' : 'stable';
}

function measure(name: string, value: number, band: Band): Part {
  const status = judge(value, band);
  const text =
    status === 'significant'
      ? `${name} ${fmt(value)} > ${band.significant}`
      : status === 'watch'
        ? `${name} ${fmt(value)} ≥ ${band.watch}`
        : `${name} ${fmt(value)}`;
  return { status, text };
}

/** A field's status and reason from its parts: the worst judged one, unless a stable verdict would rest on an unjudged part. */
function verdict(
  parts: readonly Part[],
  windowTooSmall: string | null,
): { status: DriftStatus; reason: string } {
  if (windowTooSmall) return { status: 'insufficient-data', reason: windowTooSmall };
  let worst: Judged = 'stable';
  for (const part of parts) if (part.status && SEVERITY[part.status] > SEVERITY[worst]) worst = part.status;
  const unjudged = parts.filter((part) => part.status === null);
  const status: DriftStatus = worst === 'stable' && unjudged.length > 0 ? 'insufficient-data' : worst;
  const shown = status === 'insufficient-data' ? unjudged : parts.filter((part) => part.status === worst);
  return { status, reason: shown.map((part) => part.text).join('; ') };
}

function nullRatePart(nullRate: Compared, band: Band): Part {
  const change = nullRate.change ?? 0;
  const part = measure('null rate change', Math.abs(change), band);
  return {
    ...part,
    text: `null rate ${fmt(nullRate.reference ?? 0)} → ${fmt(nullRate.live ?? 0)} (${part.text})`,
  };
}

const compared = (reference: number | null, live: number | null): Compared => ({
  reference,
  live,
  change: reference === null || live === null ? null : live - reference,
});

/** Why a field's values cannot be judged, or null when they can. */
function valuesUnjudged(referenceCount: number, values: number, needed: number): string | null {
  if (referenceCount === 0) return 'no reference values';
  return values < needed ? `${values} values < ${needed} needed` : null;
}

/** Numeric field (or scores), from its column's summary against the reference. */
function compareNumeric(
  ref: NumericFieldProfile,
  summary: NumericSummary,
  rows: number,
  limits: FieldLimits,
  epsilon: number,
  windowTooSmall: string | null,
): NumericFieldDrift {
  const n = summary.values;
  let bins: NumericFieldDrift['bins'] = null;
  let psi: number | null = null;
  if (summary.binCounts) {
    const live = summary.binCounts.map((c) => c / n);
    const result = populationStabilityIndex(ref.binShares, live, { epsilon });
    psi = result.psi;
    bins = { edges: ref.binEdges, reference: ref.binShares, live, contributions: result.contributions };
  }
  const nullRate = compared(ref.nullRate, rows > 0 ? (rows - n) / rows : null);
  const valuesNeeded = limits.minRowsPerBin * Math.max(1, ref.binShares.filter((s) => s > 0).length);
  const unjudged = valuesUnjudged(ref.count, n, valuesNeeded);
  const parts: Part[] = [nullRatePart(nullRate, limits.nullRate)];
  if (unjudged !== null) parts.push({ status: null, text: unjudged });
  else {
    parts.push(measure('PSI', psi ?? 0, limits.psi));
    if (limits.ks) parts.push(measure('KS D', summary.ks ?? 0, limits.ks));
  }
  return {
    kind: 'numeric',
    ...verdict(parts, windowTooSmall),
    rows,
    values: n,
    valuesNeeded,
    nullRate,
    psi,
    ks: summary.ks,
    mean: compared(ref.mean, summary.mean),
    std: compared(ref.std, summary.std),
    bins,
  };
}

function compareCategorical(
  ref: CategoricalFieldProfile,
  counts: ReadonlyMap<string, number>,
  rows: number,
  limits: FieldLimits,
  epsilon: number,
  top: number,
  windowTooSmall: string | null,
): CategoricalFieldDrift {
  let n = 0;
  for (const c of counts.values()) n += c;
  const keptCounts = new Map<string, number>();
  const others: Array<[string, number]> = [];
  for (const [category, c] of counts) {
    if (assignCategory(ref, category) === null) others.push([category, c]);
    else keptCounts.set(category, c);
  }
  const names = Object.keys(ref.shares);
  const otherCount = others.reduce((a, [, c]) => a + c, 0);
  let categories: CategoryShift[] = [];
  let psi: number | null = null;
  if (n > 0 && ref.count > 0) {
    const reference = [...names.map((name) => ref.shares[name] ?? 0), ref.otherShare];
    const live = [...names.map((name) => (keptCounts.get(name) ?? 0) / n), otherCount / n];
    const result = populationStabilityIndex(reference, live, { epsilon });
    psi = result.psi;
    categories = reference.map((r, i) => ({
      category: names[i] ?? null,
      reference: r,
      live: live[i] ?? 0,
      change: (live[i] ?? 0) - r,
      contribution: result.contributions[i] ?? 0,
    }));
  }
  // Array sort is stable: ties keep profile order.
  const largestShifts = [...categories].sort((a, b) => Math.abs(b.change) - Math.abs(a.change)).slice(0, top);
  const otherCategories = others
    .sort(([a, ca], [b, cb]) => cb - ca || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, top)
    .map(([category, c]) => ({ category, share: c / n }));
  const nullRate = compared(ref.nullRate, rows > 0 ? (rows - n) / rows : null);
  const bins = names.length + (ref.otherShare > 0 ? 1 : 0);
  const valuesNeeded = limits.minRowsPerBin * Math.max(1, bins);
  const unjudged = valuesUnjudged(ref.count, n, valuesNeeded);
  const parts: Part[] = [nullRatePart(nullRate, limits.nullRate)];
  parts.push(unjudged !== null ? { status: null, text: unjudged } : measure('PSI', psi ?? 0, limits.psi));
  return {
    kind: 'categorical',
    ...verdict(parts, windowTooSmall),
    rows,
    values: n,
    valuesNeeded,
    nullRate,
    psi,
    categories,
    largestShifts,
    otherCategories,
  };
}

function limitsFor(
  thresholds: DriftThresholds,
  override: DriftThresholds['prediction'] | undefined,
): FieldLimits {
  return {
    psi: override?.psi ?? thresholds.psi,
    ks: override?.ks ?? thresholds.ks,
    nullRate: override?.nullRate ?? thresholds.nullRate,
    minRowsPerBin: override?.minRowsPerBin ?? thresholds.minRowsPerBin,
  };
}

/** `length` values read by `at` as a numeric field reads them: non-numbers become NaN (null). */
function numericColumn(length: number, at: (i: number) => unknown): Float64Array {
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = numericValue(at(i)) ?? Number.NaN;
  return out;
}

/** The window's overall status and reason from each judged field's. */
function overall(results: ReadonlyArray<[string, FieldDrift]>): { status: DriftStatus; reason: string } {
  const judged = results.filter(([, r]) => r.status !== 'insufficient-data');
  if (judged.length === 0) return { status: 'insufficient-data', reason: 'no field has enough values' };
  let worst: Judged = 'stable';
  for (const [, r] of judged) if (SEVERITY[r.status as Judged] > SEVERITY[worst]) worst = r.status as Judged;
  const unjudged = results.length - judged.length;
  const notJudged = unjudged > 0 ? `; ${unjudged} not judged (too few values)` : '';
  if (worst === 'stable') return { status: worst, reason: `${judged.length} stable${notJudged}` };
  const named = judged.filter(([, r]) => r.status === worst).map(([name, r]) => `${name} (${r.reason})`);
  return { status: worst, reason: `${worst}: ${named.join(', ')}` };
}

/**
 * Compare a capture `window` with the training reference `profile`, field by field: the PSI over
 * the reference's bins (numeric values binned on its edges with `assignBin`; categories mapped with
 * `assignCategory`, the rest pooled as "other"), the KS statistic D of numeric fields, the change in
 * null rate, the largest category movers, and the same for the scores when both the window and the
 * profile have them. Fields of the window the profile lacks are ignored; a profiled field absent
 * from the rows reads as null throughout. Pure: no I/O, and the order of the rows does not matter.
 *
 * @param thresholds parsed with `DriftThresholdsSchema` (throws its ZodError when invalid); defaults when omitted.
 */
export function compareToProfile(
  profile: Profile,
  window: DriftWindow,
  thresholds: DriftThresholdsInput = {},
): DriftReport {
  const rows = window.rows;
  const read = (row: Readonly<Record<string, unknown>> | undefined, name: string) =>
    row && Object.hasOwn(row, name) ? row[name] : null;
  return compareSource(
    profile,
    {
      rows: rows.length,
      numeric: (name) => numericColumn(rows.length, (i) => read(rows[i], name)),
      categories: (name) => categoryCounts(rows.length, (i) => read(rows[i], name)),
      scores: window.scores,
    },
    thresholds,
  );
}

/** A capture window by column: the fastest shape for the drift check (e.g. decoded straight into typed arrays). */
export interface DriftColumns {
  /** Rows in the window; every column holds exactly this many values. */
  readonly rows: number;
  /**
   * Values by field name. A numeric field's column is read fastest as a Float64Array, with NaN (or
   * ±Infinity) for null; any other array is read value by value as a row's value would be. A
   * profiled field without a column is null throughout.
   */
  readonly columns: Readonly<Record<string, ArrayLike<unknown>>>;
  /** The model's scores, one per row; non-finite ones are nulls. */
  readonly scores?: ArrayLike<number>;
}

/**
 * `compareToProfile` for a window held by column: the same report for the same values (it is the
 * same computation), without a row object per instance.
 *
 * @throws RangeError when `rows` is not a count or a column's length differs from it.
 */
export function compareColumnsToProfile(
  profile: Profile,
  window: DriftColumns,
  thresholds: DriftThresholdsInput = {},
): DriftReport {
  const { rows, columns } = window;
  if (!(Number.isInteger(rows) && rows >= 0)) throw new RangeError(`rows must be a count, got ${rows}`);
  const column = (name: string): ArrayLike<unknown> | null => {
    if (!Object.hasOwn(columns, name)) return null;
    const values = columns[name];
    if (!values || values.length !== rows) {
      throw new RangeError(`column ${name} has ${values?.length ?? 'no'} values for ${rows} rows`);
    }
    return values;
  };
  return compareSource(
    profile,
    {
      rows,
      numeric: (name) => {
        const values = column(name);
        if (values instanceof Float64Array) return values;
        return numericColumn(rows, (i) => (values ? values[i] : null));
      },
      categories: (name) => {
        const values = column(name);
        return categoryCounts(rows, (i) => (values ? values[i] : null));
      },
      scores: window.scores,
    },
    thresholds,
  );
}

/** What the comparison reads of a window, however it is held. */
interface WindowSource {
  readonly rows: number;
  /** A numeric field's values, `rows` of them, NaN for null. */
  numeric(name: string): Float64Array;
  /** A categorical field's non-null values, counted. */
  categories(name: string): Map<string, number>;
  readonly scores: ArrayLike<number> | undefined;
}

function categoryCounts(length: number, at: (i: number) => unknown): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < length; i++) {
    const c = categoryValue(at(i));
    if (c !== null) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  return counts;
}

function compareSource(
  profile: Profile,
  window: WindowSource,
  thresholds: DriftThresholdsInput,
): DriftReport {
  const t = DriftThresholdsSchema.parse(thresholds);
  const rows = window.rows;
  const tooSmall = (count: number) => (count < t.minRows ? `${count} rows < ${t.minRows} needed` : null);
  const fields: Array<[string, FieldDrift]> = Object.entries(profile.fields).map(([name, ref]) => {
    const limits = limitsFor(t, Object.hasOwn(t.fields, name) ? t.fields[name] : undefined);
    if (ref.kind === 'numeric') {
      const summary = summarizeNumericColumn(ref, window.numeric(name), rows);
      return [name, compareNumeric(ref, summary, rows, limits, t.epsilon, tooSmall(rows))];
    }
    const counts = window.categories(name);
    return [name, compareCategorical(ref, counts, rows, limits, t.epsilon, t.topCategories, tooSmall(rows))];
  });
  const scores = window.scores;
  const prediction =
    scores && profile.prediction
      ? compareNumeric(
          profile.prediction,
          summarizeNumericColumn(
            profile.prediction,
            scores instanceof Float64Array ? scores : numericColumn(scores.length, (i) => scores[i]),
          ),
          scores.length,
          limitsFor(t, t.prediction),
          t.epsilon,
          tooSmall(scores.length),
        )
      : null;
  const judged: Array<[string, FieldDrift]> = prediction ? [...fields, ['prediction', prediction]] : fields;
  const windowTooSmall = tooSmall(rows);
  return {
    ...(windowTooSmall ? { status: 'insufficient-data', reason: windowTooSmall } : overall(judged)),
    rows,
    minRows: t.minRows,
    fields: Object.fromEntries(fields),
    prediction,
  };
}
