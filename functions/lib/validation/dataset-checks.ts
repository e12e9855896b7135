// The individual dataset checks behind `validateDataset`: each turns one expectation into violations.
import type {
  CategoryExpectation,
  ExpectationSet,
  LabelBalanceExpectation,
  RangeExpectation,
  UniqueKeyExpectation,
  Violation,
} from './expectations.ts';

/** Most examples kept per violation. */
const MAX_EXAMPLES = 5;
const DEFAULT_REQUIRED_ABOVE_SHARE = 0.01;

/** A row that passed the schema, with its position in the input. */
export interface ValidRow<Row> {
  readonly index: number;
  readonly row: Row;
}

export function checkMinRows(rows: number, minRows: number | undefined): Violation[] {
  if (minRows === undefined || rows >= minRows) return [];
  return [
    {
      expectation: 'minRows',
      message: `${formatCount(rows)} rows, expected at least ${formatCount(minRows)}`,
      count: rows,
      examples: [],
    },
  ];
}

export function checkNullRates(
  rows: readonly unknown[],
  maxNullRate: Readonly<Partial<Record<string, number>>>,
): Violation[] {
  if (rows.length === 0) return [];
  return Object.entries(maxNullRate).flatMap(([column, maxRate]) => {
    if (maxRate === undefined) return [];
    const nullRows = rows.flatMap((row, index) => (isNullish(valueAt(row, column)) ? [index] : []));
    const rate = nullRows.length / rows.length;
    if (rate <= maxRate) return [];
    return [
      {
        expectation: 'maxNullRate',
        column,
        message:
          `${formatShare(rate)} of values are null or missing (${formatCount(nullRows.length)} rows), ` +
          `at most ${formatShare(maxRate)} allowed`,
        count: nullRows.length,
        examples: nullRows
          .slice(0, MAX_EXAMPLES)
          .map((index) => ({ row: index, value: valueAt(rows[index], column) })),
      },
    ];
  });
}

/** Rows failing the schema on one column: how many, why, and a few of them. */
interface SchemaFailure {
  rows: number;
  readonly messages: Map<string, number>;
  readonly examples: unknown[];
}

/** Parses every row; failures are grouped by the column they are about (`(row)` for the row itself). */
export function checkSchema<Row>(
  rows: readonly unknown[],
  { rowSchema, maxInvalidRowShare = 0 }: ExpectationSet<Row>,
  nullable: ReadonlySet<string>,
): { valid: ValidRow<Row>[]; violations: Violation[] } {
  const valid: ValidRow<Row>[] = [];
  const failures = new Map<string, SchemaFailure>();
  let invalidRows = 0;
  rows.forEach((row, index) => {
    const parsed = rowSchema.safeParse(row);
    if (parsed.success) {
      valid.push({ index, row: parsed.data });
      return;
    }
    const columns = new Map<string, string>();
    for (const issue of parsed.error.issues) {
      const column = typeof issue.path[0] === 'string' ? issue.path[0] : '(row)';
      // Nulls in such a column are the null-rate expectation's to judge.
      if (nullable.has(column) && isNullish(valueAt(row, column))) continue;
      if (!columns.has(column)) columns.set(column, issue.message);
    }
    if (columns.size === 0) return;
    invalidRows += 1;
    for (const [column, message] of columns) {
      const failure: SchemaFailure = failures.get(column) ?? { rows: 0, messages: new Map(), examples: [] };
      failure.rows += 1;
      failure.messages.set(message, (failure.messages.get(message) ?? 0) + 1);
      if (failure.examples.length < MAX_EXAMPLES) {
        const value = column === '(row)' ? row : valueAt(row, column);
        failure.examples.push({ row: index, value, message });
      }
      failures.set(column, failure);
    }
  });
  if (rows.length === 0 || invalidRows / rows.length <= maxInvalidRowShare) return { valid, violations: [] };
  const violations = [...failures].map(([column, failure]): Violation => {
    const common = [...failure.messages]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([message]) => message);
    return {
      expectation: 'rowSchema',
      ...(column === '(row)' ? {} : { column }),
      message:
        `${formatCount(failure.rows)} rows (${formatShare(failure.rows / rows.length)}) fail the row schema: ` +
        `${common.join('; ')}` +
        (maxInvalidRowShare > 0
          ? ` (at most ${formatShare(maxInvalidRowShare)} of rows may be invalid)`
          : ''),
      count: failure.rows,
      examples: failure.examples,
    };
  });
  return { valid, violations };
}

export function checkRange<Row>(valid: readonly ValidRow<Row>[], range: RangeExpectation<Row>): Violation[] {
  const { column, min = -Infinity, max = Infinity, maxOutOfRangeShare = 0 } = range;
  const values: { index: number; value: number }[] = [];
  for (const { index, row } of valid) {
    const value = row[column] as unknown;
    if (typeof value === 'number' && Number.isFinite(value)) values.push({ index, value });
  }
  if (values.length === 0) return [];
  const violations: Violation[] = [];

  const outside = values.filter(({ value }) => value < min || value > max);
  const share = outside.length / values.length;
  if (share > maxOutOfRangeShare) {
    violations.push({
      expectation: 'range',
      column,
      message:
        `${formatCount(outside.length)} values (${formatShare(share)}) outside ${formatBand({ min, max })}, ` +
        `at most ${formatShare(maxOutOfRangeShare)} allowed`,
      count: outside.length,
      examples: outside.slice(0, MAX_EXAMPLES).map(({ index, value }) => ({ row: index, value })),
    });
  }

  if (range.mean) {
    const mean = values.reduce((sum, { value }) => sum + value, 0) / values.length;
    if (!inBand(mean, range.mean)) {
      violations.push({
        expectation: 'mean',
        column,
        message: `mean is ${formatNumber(mean)}, expected within ${formatBand(range.mean)} (a unit or scale change?)`,
        count: values.length,
        examples: [],
      });
    }
  }

  if (range.quantiles && range.quantiles.length > 0) {
    const sorted = Float64Array.from(values, ({ value }) => value).sort();
    for (const band of range.quantiles) {
      const actual = quantile(sorted, band.q);
      if (inBand(actual, band)) continue;
      violations.push({
        expectation: 'quantile',
        column,
        message:
          `${quantileName(band.q)} is ${formatNumber(actual)}, expected within ${formatBand(band)} ` +
          '(a unit or scale change?)',
        count: values.length,
        examples: [],
      });
    }
  }
  return violations;
}

export function checkCategories<Row>(
  valid: readonly ValidRow<Row>[],
  expectation: CategoryExpectation<Row>,
): Violation[] {
  const {
    column,
    reference,
    maxUnseenShare = 0,
    requiredAboveShare = DEFAULT_REQUIRED_ABOVE_SHARE,
  } = expectation;
  const counts = new Map<string, number>();
  for (const { row } of valid) {
    const value = String(row[column]);
    counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  if (valid.length === 0) return [];
  const known = new Set(Object.keys(reference));
  const violations: Violation[] = [];

  const unseen = [...counts].filter(([category]) => !known.has(category)).sort((a, b) => b[1] - a[1]);
  const unseenRows = unseen.reduce((sum, [, count]) => sum + count, 0);
  const unseenShare = unseenRows / valid.length;
  if (unseenShare > maxUnseenShare) {
    const top = unseen.slice(0, MAX_EXAMPLES);
    violations.push({
      expectation: 'unseenCategories',
      column,
      message:
        `${formatShare(unseenShare)} of rows (${formatCount(unseenRows)}) hold ${unseen.length} categories ` +
        `never seen in reference data (most common: ${top.map(([category]) => category).join(', ')}), ` +
        `at most ${formatShare(maxUnseenShare)} allowed`,
      count: unseenRows,
      examples: top.map(([category, count]) => ({ category, count, share: count / valid.length })),
    });
  }

  const vanished = Object.entries(reference)
    .filter(([category, share]) => share >= requiredAboveShare && !counts.has(category))
    .sort((a, b) => b[1] - a[1]);
  if (vanished.length > 0) {
    const names = vanished.map(
      ([category, share]) => `${category} (${formatShare(share)} of reference rows)`,
    );
    violations.push({
      expectation: 'vanishedCategories',
      column,
      message:
        `${vanished.length} ${vanished.length === 1 ? 'category' : 'categories'} with at least ` +
        `${formatShare(requiredAboveShare)} of reference rows vanished: ${names.slice(0, MAX_EXAMPLES).join(', ')}` +
        (names.length > MAX_EXAMPLES ? ` and ${names.length - MAX_EXAMPLES} more` : ''),
      count: vanished.length,
      examples: vanished
        .slice(0, MAX_EXAMPLES)
        .map(([category, referenceShare]) => ({ category, referenceShare })),
    });
  }
  return violations;
}

export function checkLabelBalance<Row>(
  valid: readonly ValidRow<Row>[],
  { description, label, positiveRate }: LabelBalanceExpectation<Row>,
): Violation[] {
  if (valid.length === 0) return [];
  const positives = valid.reduce((sum, { row }) => sum + (label(row) ? 1 : 0), 0);
  const rate = positives / valid.length;
  if (inBand(rate, positiveRate)) return [];
  return [
    {
      expectation: 'labelBalance',
      message:
        `positive rate of "${description}" is ${formatShare(rate)} (${formatCount(positives)} of ` +
        `${formatCount(valid.length)} rows), expected within ${formatShare(positiveRate.min)}..${formatShare(positiveRate.max)}`,
      count: positives,
      examples: [],
    },
  ];
}

export function checkUniqueKey<Row>(
  valid: readonly ValidRow<Row>[],
  { description, key }: UniqueKeyExpectation<Row>,
): Violation[] {
  const firstSeen = new Map<string, number>();
  const duplicates: { key: string; rows: [number, number] }[] = [];
  for (const { index, row } of valid) {
    const k = key(row);
    const first = firstSeen.get(k);
    if (first === undefined) firstSeen.set(k, index);
    else duplicates.push({ key: k, rows: [first, index] });
  }
  if (duplicates.length === 0) return [];
  return [
    {
      expectation: 'uniqueKey',
      message: `${formatCount(duplicates.length)} rows repeat the key (${description}) of an earlier row`,
      count: duplicates.length,
      examples: duplicates.slice(0, MAX_EXAMPLES),
    },
  ];
}

/** Quantile `q` of sorted values, interpolating linearly between order statistics. */
function quantile(sorted: Float64Array, q: number): number {
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const below = sorted[lower] ?? Number.NaN;
  const above = sorted[Math.min(lower + 1, sorted.length - 1)] ?? below;
  return below + (above - below) * (position - lower);
}

function valueAt(row: unknown, column: string): unknown {
  return typeof row === 'object' && row !== null ? (row as Record<string, unknown>)[column] : undefined;
}

function isNullish(value: unknown): boolean {
  return value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value));
}

const inBand = (value: number, { min, max }: { min: number; max: number }) => value >= min && value <= max;
const quantileName = (q: number) => (q === 0.5 ? 'median' : `p${formatNumber(q * 100)}`);
export const formatCount = (n: number) => n.toLocaleString('en-US');
const formatNumber = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 2 });
// Small shares keep more digits, so 0.105% is not shown as the 0.1% it exceeds.
const formatShare = (share: number) =>
  `${(share * 100).toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: share < 0.01 ? 3 : 1 })}%`;
const formatBand = ({ min, max }: { min: number; max: number }) =>
  `[${formatNumber(min)}, ${formatNumber(max)}]`;
