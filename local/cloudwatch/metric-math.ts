// CloudWatch metric math, the part alarms and dashboards use: arithmetic (+ - * / ^), comparisons
// and AND/OR, parentheses, arrays, and the functions in FUNCTIONS. An expression is parsed once,
// where unsupported functions are found, so an alarm using one is reported rather than evaluated
// wrongly; metric-math-evaluation.ts evaluates the parsed form.

/** Parsed expression. */
export type MathNode =
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'ref'; readonly id: string }
  | { readonly kind: 'keyword'; readonly name: 'REPEAT' | 'LINEAR' }
  | { readonly kind: 'unary'; readonly op: '-' | '+'; readonly arg: MathNode }
  | { readonly kind: 'binary'; readonly op: BinaryOp; readonly left: MathNode; readonly right: MathNode }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly MathNode[] }
  | { readonly kind: 'array'; readonly items: readonly MathNode[] };

export type BinaryOp = '+' | '-' | '*' | '/' | '^' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'AND' | 'OR';

/** The expression is not valid metric math. */
export class ExpressionError extends Error {
  override readonly name = 'ExpressionError';
}

/** The expression uses metric math the local runtime does not evaluate (e.g. SEARCH, ANOMALY_DETECTION_BAND). */
export class UnsupportedExpression extends Error {
  override readonly name = 'UnsupportedExpression';
}

/** The metric math functions evaluated locally (metric-math-evaluation.ts implements each). */
export const FUNCTIONS: readonly string[] = [
  'ABS',
  'CEIL',
  'FLOOR',
  'SQRT',
  'EXP',
  'LOG',
  'LOG10',
  'MAX',
  'MIN',
  'SUM',
  'AVG',
  'FILL',
  'IF',
  'PERIOD',
  'DIFF',
  'RATE',
  'METRICS',
];

type Token = { kind: 'num'; value: number } | { kind: 'id'; text: string } | { kind: 'op'; text: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const number = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (number) {
      tokens.push({ kind: 'num', value: Number(number[0]) });
      i += number[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (word) {
      tokens.push({ kind: 'id', text: word[0] });
      i += word[0].length;
      continue;
    }
    const op = /^(?:==|!=|<=|>=|&&|\|\||[-+*/^()<>,[\]])/.exec(text.slice(i));
    if (op) {
      tokens.push({ kind: 'op', text: op[0] === '&&' ? 'AND' : op[0] === '||' ? 'OR' : op[0] });
      i += op[0].length;
      continue;
    }
    if (c === '"' || c === "'")
      throw new UnsupportedExpression(
        'string arguments (SEARCH, LABEL functions, …) are not evaluated locally',
      );
    throw new ExpressionError(`unexpected character ${JSON.stringify(c)} at ${i}`);
  }
  return tokens;
}

/** Parse a metric math expression; throws ExpressionError or UnsupportedExpression. */
export function parseExpression(text: string): MathNode {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const isOp = (t: Token | undefined, ...ops: string[]): boolean =>
    (t?.kind === 'op' && ops.includes(t.text)) || (t?.kind === 'id' && ops.includes(t.text.toUpperCase()));
  const expect = (op: string) => {
    if (!isOp(peek(), op)) throw new ExpressionError(`expected "${op}" in ${JSON.stringify(text)}`);
    pos++;
  };
  const binaryLevel = (ops: string[], next: () => MathNode) => (): MathNode => {
    let left = next();
    while (isOp(peek(), ...ops)) {
      const token = tokens[pos++] as Token;
      const op = (
        token.kind === 'id' ? token.text.toUpperCase() : (token as { text: string }).text
      ) as BinaryOp;
      left = { kind: 'binary', op, left, right: next() };
    }
    return left;
  };
  const primary = (): MathNode => {
    const token = tokens[pos++];
    if (!token) throw new ExpressionError(`unexpected end of ${JSON.stringify(text)}`);
    if (token.kind === 'num') return { kind: 'number', value: token.value };
    if (token.kind === 'op' && token.text === '(') {
      const inner = or();
      expect(')');
      return inner;
    }
    if (token.kind === 'op' && token.text === '[') {
      const items = list(']');
      return { kind: 'array', items };
    }
    if (token.kind === 'op' && (token.text === '-' || token.text === '+'))
      return { kind: 'unary', op: token.text, arg: power() };
    if (token.kind === 'id') {
      if (isOp(peek(), '(')) {
        pos++;
        const name = token.text;
        const args = list(')');
        if (!FUNCTIONS.includes(name))
          throw new UnsupportedExpression(
            `metric math function ${name} is not evaluated locally (supported: ${FUNCTIONS.join(', ')})`,
          );
        return { kind: 'call', name, args };
      }
      if (token.text === 'REPEAT' || token.text === 'LINEAR') return { kind: 'keyword', name: token.text };
      return { kind: 'ref', id: token.text };
    }
    throw new ExpressionError(`unexpected "${token.text}" in ${JSON.stringify(text)}`);
  };
  const list = (close: string): MathNode[] => {
    const items: MathNode[] = [];
    if (isOp(peek(), close)) {
      pos++;
      return items;
    }
    for (;;) {
      items.push(or());
      if (isOp(peek(), close)) {
        pos++;
        return items;
      }
      expect(',');
    }
  };
  // ^ binds tighter than unary minus on its left operand only, and is right-associative.
  const power = (): MathNode => {
    const base = primary();
    if (!isOp(peek(), '^')) return base;
    pos++;
    return { kind: 'binary', op: '^', left: base, right: power() };
  };
  const multiplicative = binaryLevel(['*', '/'], power);
  const additive = binaryLevel(['+', '-'], multiplicative);
  const comparison = binaryLevel(['==', '!=', '<=', '>=', '<', '>'], additive);
  const and = binaryLevel(['AND'], comparison);
  const or = binaryLevel(['OR'], and);

  if (tokens.length === 0) throw new ExpressionError('the expression is empty');
  const node = or();
  if (pos < tokens.length)
    throw new ExpressionError(`unexpected "${describe(tokens[pos])}" in ${JSON.stringify(text)}`);
  return node;
}

const describe = (t: Token | undefined) =>
  t === undefined ? 'end' : t.kind === 'num' ? String(t.value) : t.text;

/** The ids an expression reads. */
export function referencedIds(node: MathNode): string[] {
  switch (node.kind) {
    case 'ref':
      return [node.id];
    case 'unary':
      return referencedIds(node.arg);
    case 'binary':
      return [...referencedIds(node.left), ...referencedIds(node.right)];
    case 'call':
      return node.args.flatMap(referencedIds);
    case 'array':
      return node.items.flatMap(referencedIds);
    default:
      return [];
  }
}
