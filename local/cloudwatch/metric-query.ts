// Metric queries as alarms (`Metrics`) and GetMetricData name them: MetricStat queries read one
// series of the store at one statistic, expression queries combine them with metric math. A set
// of queries is checked once (ids, references, cycles) and evaluated over a grid of periods.

import { ExpressionError, type MathNode, parseExpression, referencedIds } from './metric-math.ts';
import { evaluateExpression } from './metric-math-evaluation.ts';
import { type Dimension, type MetricStore, normalizeDimensions, type PeriodGrid } from './metric-store.ts';
import { parseStatistic, type Statistic, statisticValue } from './statistics.ts';

/** One metric at one statistic and period. */
export interface MetricStatQuery {
  readonly kind: 'metric';
  readonly id: string;
  readonly namespace: string;
  readonly metricName: string;
  /** Sorted by name. */
  readonly dimensions: readonly Dimension[];
  readonly periodSeconds: number;
  readonly statistic: Statistic;
  /** Only datapoints of this unit count. @default any */
  readonly unit?: string;
  readonly label?: string;
  readonly returnData: boolean;
}

/** A metric math expression over the other queries. */
export interface ExpressionQuery {
  readonly kind: 'expression';
  readonly id: string;
  readonly expression: string;
  readonly node: MathNode;
  readonly periodSeconds?: number;
  readonly label?: string;
  readonly returnData: boolean;
}

export type MetricQuery = MetricStatQuery | ExpressionQuery;

/** A query's values over the grid (NaN: no datapoint), with sample counts for MetricStat queries. */
export interface QueryResult {
  readonly values: Float64Array;
  readonly sampleCounts?: Float64Array;
}

/** A query set that cannot be evaluated as given. */
export class InvalidQuery extends Error {
  override readonly name = 'InvalidQuery';
}

/** The fields of a MetricStat query as CloudFormation and the API spell them. */
export interface MetricStatInput {
  readonly id: string;
  readonly namespace: unknown;
  readonly metricName: unknown;
  readonly dimensions: unknown;
  readonly period: unknown;
  readonly stat: unknown;
  readonly unit?: unknown;
  readonly label?: unknown;
  readonly returnData: boolean;
}

/** Build a MetricStat query, checking its fields; throws InvalidQuery naming the bad one. */
export function metricStatQuery(input: MetricStatInput): MetricStatQuery {
  const where = `query ${input.id}`;
  if (typeof input.namespace !== 'string' || input.namespace === '')
    throw new InvalidQuery(`${where}: Namespace is required`);
  if (typeof input.metricName !== 'string' || input.metricName === '')
    throw new InvalidQuery(`${where}: MetricName is required`);
  const statistic = typeof input.stat === 'string' ? parseStatistic(input.stat) : undefined;
  if (!statistic)
    throw new InvalidQuery(
      `${where}: statistic ${JSON.stringify(input.stat)} is not computed locally (Average, Sum, Minimum, Maximum, SampleCount, pNN)`,
    );
  return {
    kind: 'metric',
    id: input.id,
    namespace: input.namespace,
    metricName: input.metricName,
    dimensions: readDimensions(input.dimensions, where),
    periodSeconds: readPeriod(input.period, where),
    statistic,
    ...(typeof input.unit === 'string' && input.unit !== 'None' ? { unit: input.unit } : {}),
    ...(typeof input.label === 'string' ? { label: input.label } : {}),
    returnData: input.returnData,
  };
}

/** Build an expression query; throws ExpressionError / UnsupportedExpression from the parser. */
export function expressionQuery(input: {
  id: string;
  expression: string;
  period?: unknown;
  label?: unknown;
  returnData: boolean;
}): ExpressionQuery {
  return {
    kind: 'expression',
    id: input.id,
    expression: input.expression,
    node: parseExpression(input.expression),
    ...(input.period === undefined || input.period === null
      ? {}
      : { periodSeconds: readPeriod(input.period, `query ${input.id}`) }),
    ...(typeof input.label === 'string' ? { label: input.label } : {}),
    returnData: input.returnData,
  };
}

/** `[{Name, Value}]` → sorted dimensions; throws InvalidQuery on a malformed entry. */
export function readDimensions(value: unknown, where: string): Dimension[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new InvalidQuery(`${where}: Dimensions must be a list of {Name, Value}`);
  if (value.length > 30) throw new InvalidQuery(`${where}: at most 30 dimensions`);
  return normalizeDimensions(
    value.map((d: { Name?: unknown; Value?: unknown }) => {
      if (typeof d?.Name !== 'string' || d.Name === '' || typeof d.Value !== 'string' || d.Value === '')
        throw new InvalidQuery(`${where}: each dimension needs a non-empty Name and Value`);
      return { name: d.Name, value: d.Value };
    }),
  );
}

function readPeriod(value: unknown, where: string): number {
  const period = Number(value);
  // CloudWatch's periods: 1, 5, 10, 20, 30 seconds (high resolution) or a multiple of 60.
  if (!Number.isInteger(period) || period < 1 || !(HIGH_RESOLUTION_PERIODS.has(period) || period % 60 === 0))
    throw new InvalidQuery(
      `${where}: Period ${JSON.stringify(value)} must be 1, 5, 10, 20, 30 or a multiple of 60 seconds`,
    );
  return period;
}

const HIGH_RESOLUTION_PERIODS = new Set([1, 5, 10, 20, 30]);

/**
 * Check a query set: unique ids, every reference known, no cycle, one period for all of it.
 * Returns that period (seconds).
 */
export function checkQueries(queries: readonly MetricQuery[]): number {
  const byId = new Map<string, MetricQuery>();
  for (const q of queries) {
    if (!/^[a-z][A-Za-z0-9_]*$/.test(q.id))
      throw new InvalidQuery(
        `query id ${JSON.stringify(q.id)} must start with a lowercase letter and hold only letters, digits and _`,
      );
    if (byId.has(q.id)) throw new InvalidQuery(`query id ${q.id} is used twice`);
    byId.set(q.id, q);
  }
  const visiting = new Set<string>();
  const visit = (q: MetricQuery) => {
    if (q.kind === 'metric') return;
    if (visiting.has(q.id)) throw new InvalidQuery(`query ${q.id} refers to itself through its expression`);
    visiting.add(q.id);
    for (const id of referencedIds(q.node)) {
      const target = byId.get(id);
      if (!target) throw new InvalidQuery(`query ${q.id}: ${id} is not the id of another query`);
      visit(target);
    }
    visiting.delete(q.id);
  };
  for (const q of queries) visit(q);
  const periods = new Set(queries.map((q) => q.periodSeconds).filter((p): p is number => p !== undefined));
  if (periods.size === 0) throw new InvalidQuery('no query names a period');
  if (periods.size > 1)
    throw new InvalidQuery(
      `the queries use different periods (${[...periods].join(', ')} s); locally they must share one`,
    );
  return [...periods][0] as number;
}

/** Values of one MetricStat query over `grid`. */
export function evaluateMetricStat(
  store: MetricStore,
  query: MetricStatQuery,
  grid: PeriodGrid,
): QueryResult {
  const values = new Float64Array(grid.count).fill(Number.NaN);
  const sampleCounts = new Float64Array(grid.count);
  const series = store.find(query.namespace, query.metricName, query.dimensions);
  if (!series || (query.unit !== undefined && series.unit !== undefined && series.unit !== query.unit))
    return { values, sampleCounts };
  const periods = series.periods(grid, query.statistic.kind === 'percentile');
  for (const [i, acc] of periods.entries()) {
    if (!acc) continue;
    values[i] = statisticValue(acc, query.statistic);
    sampleCounts[i] = acc.count;
  }
  return { values, sampleCounts };
}

/** Evaluate every query of a checked set over `grid`, by id. */
export function evaluateQueries(
  store: MetricStore,
  queries: readonly MetricQuery[],
  grid: PeriodGrid,
): Map<string, QueryResult> {
  const byId = new Map(queries.map((q) => [q.id, q]));
  const results = new Map<string, QueryResult>();
  const metricSeries = () => queries.filter((q) => q.kind === 'metric').map((q) => resultOf(q.id).values);
  const resultOf = (id: string): QueryResult => {
    const known = results.get(id);
    if (known) return known;
    const query = byId.get(id);
    if (!query) throw new ExpressionError(`${id} is not the id of a query`);
    let result: QueryResult;
    if (query.kind === 'metric') result = evaluateMetricStat(store, query, grid);
    else {
      const value = evaluateExpression(query.node, {
        periodSeconds: grid.periodMs / 1000,
        length: grid.count,
        resolve: (ref) => resultOf(ref).values,
        metrics: metricSeries,
      });
      result = { values: typeof value === 'number' ? new Float64Array(grid.count).fill(value) : value };
    }
    results.set(id, result);
    return result;
  };
  for (const q of queries) resultOf(q.id);
  return results;
}
