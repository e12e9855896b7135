// Evaluates parsed metric math (metric-math.ts) over a grid of periods: a time series is a
// Float64Array with NaN for a period without a datapoint; arithmetic on a missing period gives a
// missing period, as in CloudWatch, and so do results that are not finite (x/0).
import { type BinaryOp, ExpressionError, type MathNode, UnsupportedExpression } from './metric-math.ts';

/** A scalar, a time series (NaN: no datapoint), or an array of series (function arguments only). */
export type MathValue = number | Float64Array | Float64Array[];

/** What evaluation reads: the grid and the values of the other queries by id. */
export interface MathContext {
  readonly periodSeconds: number;
  readonly length: number;
  resolve(id: string): number | Float64Array;
  /** Every MetricStat query's series (METRICS()). */
  metrics(): Float64Array[];
}

const UNARY_FUNCTIONS: Readonly<Record<string, (x: number) => number>> = {
  ABS: Math.abs,
  CEIL: Math.ceil,
  FLOOR: Math.floor,
  SQRT: Math.sqrt,
  EXP: Math.exp,
  LOG: Math.log,
  LOG10: Math.log10,
};
const AGGREGATES = new Set(['MAX', 'MIN', 'SUM', 'AVG']);

/** Evaluate over the context's grid: a scalar or a series. */
export function evaluateExpression(node: MathNode, ctx: MathContext): number | Float64Array {
  const value = evaluate(node, ctx);
  if (Array.isArray(value))
    throw new ExpressionError('the expression gives several time series; an alarm needs one');
  return value;
}

function evaluate(node: MathNode, ctx: MathContext): MathValue {
  switch (node.kind) {
    case 'number':
      return node.value;
    case 'ref':
      return ctx.resolve(node.id);
    case 'keyword':
      throw new ExpressionError(`${node.name} is only an argument of FILL`);
    case 'array':
      return node.items.map((item) => asSeries(single(evaluate(item, ctx), 'an array item'), ctx.length));
    case 'unary': {
      const arg = single(evaluate(node.arg, ctx), `unary ${node.op}`);
      return node.op === '-' ? map1(arg, (x) => -x) : arg;
    }
    case 'binary':
      return binary(
        node.op,
        single(evaluate(node.left, ctx), node.op),
        single(evaluate(node.right, ctx), node.op),
      );
    case 'call':
      return call(node, ctx);
  }
}

function single(value: MathValue, what: string): number | Float64Array {
  if (Array.isArray(value)) throw new ExpressionError(`${what} cannot take an array of time series`);
  return value;
}

const clean = (x: number) => (Number.isFinite(x) ? x : Number.NaN);

function map1(a: number | Float64Array, f: (x: number) => number): number | Float64Array {
  if (typeof a === 'number') return Number.isNaN(a) ? a : clean(f(a));
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    out[i] = Number.isNaN(x) ? Number.NaN : clean(f(x));
  }
  return out;
}

function map2(
  a: number | Float64Array,
  b: number | Float64Array,
  f: (x: number, y: number) => number,
): number | Float64Array {
  if (typeof a === 'number' && typeof b === 'number')
    return Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : clean(f(a, b));
  const length = typeof a === 'number' ? (b as Float64Array).length : a.length;
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const x = typeof a === 'number' ? a : (a[i] as number);
    const y = typeof b === 'number' ? b : (b[i] as number);
    // A period missing in either operand has no result, as in CloudWatch.
    out[i] = Number.isNaN(x) || Number.isNaN(y) ? Number.NaN : clean(f(x, y));
  }
  return out;
}

const truthy = (x: number) => x !== 0;
const OPERATORS: Readonly<Record<BinaryOp, (x: number, y: number) => number>> = {
  '+': (x, y) => x + y,
  '-': (x, y) => x - y,
  '*': (x, y) => x * y,
  // x/0 has no datapoint (clean() drops the infinity).
  '/': (x, y) => x / y,
  '^': (x, y) => x ** y,
  '==': (x, y) => Number(x === y),
  '!=': (x, y) => Number(x !== y),
  '<': (x, y) => Number(x < y),
  '<=': (x, y) => Number(x <= y),
  '>': (x, y) => Number(x > y),
  '>=': (x, y) => Number(x >= y),
  AND: (x, y) => Number(truthy(x) && truthy(y)),
  OR: (x, y) => Number(truthy(x) || truthy(y)),
};

function binary(op: BinaryOp, a: number | Float64Array, b: number | Float64Array): number | Float64Array {
  return map2(a, b, OPERATORS[op]);
}

function asSeries(value: number | Float64Array, length: number): Float64Array {
  return typeof value === 'number' ? new Float64Array(length).fill(value) : value;
}

function arity(node: { name: string; args: readonly MathNode[] }, min: number, max = min): void {
  if (node.args.length < min || node.args.length > max)
    throw new ExpressionError(
      `${node.name} takes ${min === max ? min : `${min} to ${max}`} argument(s), got ${node.args.length}`,
    );
}

function call(node: { name: string; args: readonly MathNode[] }, ctx: MathContext): MathValue {
  const arg = (i: number) => single(evaluate(node.args[i] as MathNode, ctx), node.name);
  const unary = UNARY_FUNCTIONS[node.name];
  if (unary) {
    arity(node, 1);
    return map1(arg(0), unary);
  }
  if (AGGREGATES.has(node.name)) {
    arity(node, 1);
    return aggregate(node.name, evaluate(node.args[0] as MathNode, ctx));
  }
  switch (node.name) {
    case 'FILL': {
      arity(node, 2);
      const series = asSeries(arg(0), ctx.length);
      const with_ = node.args[1] as MathNode;
      if (with_.kind === 'keyword') return with_.name === 'REPEAT' ? fillRepeat(series) : fillLinear(series);
      const fill = arg(1);
      return series.map((x, i) =>
        Number.isNaN(x) ? (typeof fill === 'number' ? fill : (fill[i] as number)) : x,
      );
    }
    case 'IF': {
      arity(node, 2, 3);
      const condition = asSeries(arg(0), ctx.length);
      const then = arg(1);
      // Without an else, a false condition gives no datapoint.
      const otherwise = node.args.length === 3 ? arg(2) : Number.NaN;
      const at = (v: number | Float64Array, i: number) => (typeof v === 'number' ? v : (v[i] as number));
      return condition.map((c, i) =>
        Number.isNaN(c) ? Number.NaN : truthy(c) ? at(then, i) : at(otherwise, i),
      );
    }
    case 'PERIOD':
      arity(node, 1);
      arg(0);
      return ctx.periodSeconds;
    case 'DIFF':
    case 'RATE': {
      arity(node, 1);
      const series = asSeries(arg(0), ctx.length);
      const per = node.name === 'RATE' ? ctx.periodSeconds : 1;
      return series.map((x, i) => (i === 0 ? Number.NaN : clean((x - (series[i - 1] as number)) / per)));
    }
    case 'METRICS':
      if (node.args.length > 0)
        throw new UnsupportedExpression('METRICS() with a filter is not evaluated locally');
      return ctx.metrics();
    default:
      throw new UnsupportedExpression(`metric math function ${node.name} is not evaluated locally`);
  }
}

/** MAX/MIN/SUM/AVG: of one series, a scalar; of an array, the per-period aggregate across it. */
function aggregate(name: string, value: MathValue): number | Float64Array {
  const reduce = (xs: number[]): number => {
    const present = xs.filter((x) => !Number.isNaN(x));
    if (present.length === 0) return Number.NaN;
    switch (name) {
      case 'MAX':
        return Math.max(...present);
      case 'MIN':
        return Math.min(...present);
      case 'SUM':
        return present.reduce((s, x) => s + x, 0);
      default:
        return present.reduce((s, x) => s + x, 0) / present.length;
    }
  };
  if (typeof value === 'number') return value;
  if (!Array.isArray(value)) return reduce([...value]);
  if (value.length === 0) return Number.NaN;
  const length = (value[0] as Float64Array).length;
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = reduce(value.map((s) => s[i] as number));
  return out;
}

function fillRepeat(series: Float64Array): Float64Array {
  const out = Float64Array.from(series);
  let last = Number.NaN;
  for (let i = 0; i < out.length; i++) {
    if (Number.isNaN(out[i] as number)) out[i] = last;
    else last = out[i] as number;
  }
  // Leading gaps take the first value there is.
  const first = out.findIndex((x) => !Number.isNaN(x));
  for (let i = 0; i < first; i++) out[i] = out[first] as number;
  return out;
}

function fillLinear(series: Float64Array): Float64Array {
  const out = Float64Array.from(series);
  let previous = -1;
  for (let i = 0; i < out.length; i++) {
    if (Number.isNaN(out[i] as number)) continue;
    if (previous >= 0 && i - previous > 1) {
      const from = out[previous] as number;
      const step = ((out[i] as number) - from) / (i - previous);
      for (let j = previous + 1; j < i; j++) out[j] = from + step * (j - previous);
    }
    previous = i;
  }
  return fillRepeat(out); // the ends take the nearest value
}
