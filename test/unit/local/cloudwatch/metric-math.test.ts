// Metric math over period grids: arithmetic with missing periods, FILL, IF, aggregates, and the
// functions the local runtime does not evaluate reported at parse time.
import { describe, expect, it } from 'vitest';
import {
  ExpressionError,
  FUNCTIONS,
  parseExpression,
  referencedIds,
  UnsupportedExpression,
} from '../../../../local/cloudwatch/metric-math.ts';
import { evaluateExpression } from '../../../../local/cloudwatch/metric-math-evaluation.ts';

const N = Number.NaN;
const series = (...values: number[]) => Float64Array.from(values);
const context = (vars: Record<string, Float64Array | number>) => ({
  periodSeconds: 60,
  length: 4,
  resolve: (id: string) => {
    const v = vars[id];
    if (v === undefined) throw new Error(`unknown ${id}`);
    return v;
  },
  metrics: () => Object.values(vars).filter((v): v is Float64Array => typeof v !== 'number'),
});
const run = (expression: string, vars: Record<string, Float64Array | number> = {}) =>
  evaluateExpression(parseExpression(expression), context(vars));
const list = (value: number | Float64Array) => (typeof value === 'number' ? value : [...value]);

describe('metric math', () => {
  it('computes a 5xx rate in percent, with no datapoint where either series has none or count is 0', () => {
    const errors = series(1, 0, N, 3);
    const count = series(10, 0, 5, 30);
    expect(list(run('100 * errors / count', { errors, count }))).toEqual([10, N, N, 10]);
  });

  it('follows precedence, associativity, unary minus and parentheses', () => {
    expect(run('1 + 2 * 3')).toBe(7);
    expect(run('(1 + 2) * 3')).toBe(9);
    expect(run('2 ^ 3 ^ 2')).toBe(512);
    expect(run('-2 ^ 2')).toBe(-4);
    expect(run('10 - 4 - 3')).toBe(3);
    expect(run('8 / 2 / 2')).toBe(2);
    expect(run('1.5e2 + .5')).toBe(150.5);
  });

  it('compares and combines conditions into 1 and 0', () => {
    const m = series(1, 5, N, 10);
    expect(list(run('m > 4', { m }))).toEqual([0, 1, N, 1]);
    expect(list(run('m >= 5 AND m < 10', { m }))).toEqual([0, 1, N, 0]);
    expect(list(run('m == 1 || m == 10', { m }))).toEqual([1, 0, N, 1]);
    expect(list(run('m != 5 && m <= 1', { m }))).toEqual([1, 0, N, 0]);
  });

  it('fills missing periods with a value, the last value (REPEAT) or a line (LINEAR)', () => {
    const m = series(N, 2, N, 6);
    expect(list(run('FILL(m, 0)', { m }))).toEqual([0, 2, 0, 6]);
    expect(list(run('FILL(m, REPEAT)', { m }))).toEqual([2, 2, 2, 6]);
    expect(list(run('FILL(m, LINEAR)', { m }))).toEqual([2, 2, 4, 6]);
    expect(
      list(
        run('FILL(errors, 0) / FILL(count, 1)', { errors: series(N, 1, N, N), count: series(N, 4, N, 2) }),
      ),
    ).toEqual([0, 0.25, 0, 0]);
  });

  it('chooses with IF, and gives no datapoint for a false condition without else', () => {
    const count = series(0, 10, 20, N);
    const errors = series(0, 1, 5, 1);
    expect(list(run('IF(count > 0, errors / count, 0)', { count, errors }))).toEqual([0, 0.1, 0.25, N]);
    expect(list(run('IF(count > 15, 1)', { count }))).toEqual([N, N, 1, N]);
  });

  it('aggregates one series to a scalar and an array per period', () => {
    const a = series(1, N, 3, 4);
    const b = series(10, 20, N, 40);
    expect(run('MAX(a)', { a })).toBe(4);
    expect(run('SUM(a)', { a })).toBe(8);
    expect(run('AVG(a)', { a })).toBe(8 / 3);
    expect(list(run('SUM([a, b])', { a, b }))).toEqual([11, 20, 3, 44]);
    expect(list(run('MIN([a, b, 2])', { a, b }))).toEqual([1, 2, 2, 2]);
    expect(list(run('SUM(METRICS())', { a, b }))).toEqual([11, 20, 3, 44]);
    expect(list(run('a - MAX(a)', { a }))).toEqual([-3, N, -1, 0]);
  });

  it('evaluates ABS, CEIL, FLOOR, PERIOD, DIFF and RATE', () => {
    const m = series(-1.5, 2.5, 5, 11);
    expect(list(run('ABS(m)', { m }))).toEqual([1.5, 2.5, 5, 11]);
    expect(list(run('CEIL(m) + FLOOR(m)', { m }))).toEqual([-3, 5, 10, 22]);
    expect(run('PERIOD(m)', { m })).toBe(60);
    expect(list(run('DIFF(m)', { m }))).toEqual([N, 4, 2.5, 6]);
    expect(list(run('RATE(m)', { m }))).toEqual([N, 4 / 60, 2.5 / 60, 0.1]);
  });

  it('evaluates every function it parses', () => {
    const m = series(1, 2, 3, 4);
    const call = (name: string) =>
      name === 'METRICS'
        ? 'SUM(METRICS())'
        : name === 'FILL' || name === 'IF'
          ? `${name}(m, 1)`
          : `${name}(m)`;
    for (const name of FUNCTIONS) expect(() => run(call(name), { m }), name).not.toThrow();
  });

  it('lists the ids an expression reads', () => {
    expect(referencedIds(parseExpression('IF(c > 0, 100 * FILL(e, 0) / c, 0)'))).toEqual(['c', 'e', 'c']);
  });

  it('reports functions it does not evaluate as unsupported, when parsing', () => {
    expect(() => parseExpression('ANOMALY_DETECTION_BAND(m1, 2)')).toThrow(UnsupportedExpression);
    expect(() => parseExpression("SEARCH('{AWS/Lambda} Errors', 'Sum', 60)")).toThrow(UnsupportedExpression);
    expect(() => parseExpression('STDDEV(m1)')).toThrow(/STDDEV is not evaluated locally/);
  });

  it('fails on malformed expressions, naming the problem', () => {
    expect(() => parseExpression('')).toThrow(ExpressionError);
    expect(() => parseExpression('m1 +')).toThrow(/unexpected end/);
    expect(() => parseExpression('(m1 + m2')).toThrow(/expected "\)"/);
    expect(() => parseExpression('m1 m2')).toThrow(/unexpected "m2"/);
    expect(() => parseExpression('m1 % 2')).toThrow(/unexpected character "%"/);
    expect(() => run('FILL(m)', { m: series(1, 2, 3, 4) })).toThrow(/FILL takes 2 argument/);
    expect(() => run('[a, a] + 1', { a: series(1, 2, 3, 4) })).toThrow(/cannot take an array/);
  });
});
