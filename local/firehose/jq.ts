// The part of jq 1.6 that Firehose inline parsing (MetadataExtraction) queries use: object
// construction over paths, slices and a few string builtins, e.g.
// `{model: .model, dt: .time[0:10], hour: .time[11:13]}`. A query outside this subset is
// refused when it is compiled, so the stream is reported as not emulated instead of
// partitioning differently from AWS.

/** The query uses jq beyond the subset run locally. */
export class JqUnsupported extends Error {
  override readonly name = 'JqUnsupported';
}

/** Evaluating the query on a record failed, as jq would (e.g. indexing a number with a key). */
export class JqError extends Error {
  override readonly name = 'JqError';
}

/** A compiled query: one input value in, one output value out. */
export interface JqProgram {
  readonly source: string;
  evaluate(input: unknown): unknown;
}

type Node =
  | { readonly kind: 'identity' }
  | { readonly kind: 'literal'; readonly value: unknown }
  | { readonly kind: 'field'; readonly name: string }
  | { readonly kind: 'index'; readonly index: number }
  | { readonly kind: 'slice'; readonly from?: number; readonly to?: number }
  | { readonly kind: 'pipe'; readonly left: Node; readonly right: Node }
  | { readonly kind: 'object'; readonly entries: ReadonlyArray<readonly [string, Node]> }
  | { readonly kind: 'builtin'; readonly name: Builtin };

const BUILTINS = ['tostring', 'ascii_downcase', 'ascii_upcase', 'length'] as const;
type Builtin = (typeof BUILTINS)[number];

type Token =
  | { readonly t: 'punct'; readonly v: string }
  | { readonly t: 'ident'; readonly v: string }
  | { readonly t: 'field'; readonly v: string }
  | { readonly t: 'string'; readonly v: string }
  | { readonly t: 'number'; readonly v: number };

/** Compile `source`; throws JqUnsupported naming what is outside the subset. */
export function compileJq(source: string): JqProgram {
  const tokens = tokenize(source);
  let at = 0;
  const peek = () => tokens[at];
  const isPunct = (v: string) => {
    const token = peek();
    return token?.t === 'punct' && token.v === v;
  };
  const expect = (v: string) => {
    if (!isPunct(v)) throw new JqUnsupported(`expected '${v}' at token ${at + 1} of ${source}`);
    at++;
  };

  const pipe = (): Node => {
    let node = term();
    while (isPunct('|')) {
      at++;
      node = { kind: 'pipe', left: node, right: term() };
    }
    return node;
  };

  const term = (): Node => {
    const token = peek();
    if (!token) throw new JqUnsupported(`unexpected end of ${source}`);
    let node: Node;
    if (token.t === 'punct' && token.v === '{') node = object();
    else if (token.t === 'punct' && token.v === '(') {
      at++;
      node = pipe();
      expect(')');
    } else if (token.t === 'punct' && token.v === '.') {
      at++;
      node = { kind: 'identity' };
      // `.[…]` and `."key"` directly after the dot.
      const next = peek();
      if (next?.t === 'string') {
        at++;
        node = { kind: 'field', name: next.v };
      }
    } else if (token.t === 'field') {
      at++;
      node = { kind: 'field', name: token.v };
    } else if (token.t === 'string' || token.t === 'number') {
      at++;
      return { kind: 'literal', value: token.v };
    } else if (token.t === 'ident') {
      at++;
      if (token.v === 'null' || token.v === 'true' || token.v === 'false')
        return { kind: 'literal', value: JSON.parse(token.v) };
      if (!(BUILTINS as readonly string[]).includes(token.v))
        throw new JqUnsupported(`${token.v} is not supported locally (in ${source})`);
      return { kind: 'builtin', name: token.v as Builtin };
    } else {
      throw new JqUnsupported(`unexpected '${token.v}' in ${source}`);
    }
    return suffixes(node);
  };

  const suffixes = (base: Node): Node => {
    let node = base;
    for (;;) {
      const token = peek();
      if (token?.t === 'field') {
        at++;
        node = chain(node, { kind: 'field', name: token.v });
      } else if (isPunct('.') && tokens[at + 1]?.t === 'string') {
        const key = tokens[at + 1] as { v: string };
        at += 2;
        node = chain(node, { kind: 'field', name: key.v });
      } else if (isPunct('[')) {
        at++;
        node = chain(node, bracket());
      } else {
        return node;
      }
    }
  };

  const bracket = (): Node => {
    const int = (): number | undefined => {
      const token = peek();
      if (token?.t !== 'number') return undefined;
      if (!Number.isInteger(token.v)) throw new JqUnsupported(`non-integer index ${token.v} in ${source}`);
      at++;
      return token.v;
    };
    const key = peek();
    if (key?.t === 'string') {
      at++;
      expect(']');
      return { kind: 'field', name: key.v };
    }
    const from = int();
    if (isPunct(':')) {
      at++;
      const to = int();
      expect(']');
      return { kind: 'slice', ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
    }
    if (from === undefined)
      throw new JqUnsupported(`only [n], [m:n] and ["key"] are supported (in ${source})`);
    expect(']');
    return { kind: 'index', index: from };
  };

  const object = (): Node => {
    expect('{');
    const entries: Array<readonly [string, Node]> = [];
    while (!isPunct('}')) {
      const key = peek();
      if (key?.t !== 'ident' && key?.t !== 'string')
        throw new JqUnsupported(`object keys must be names or strings (in ${source})`);
      at++;
      if (isPunct(':')) {
        at++;
        entries.push([key.v, objectValue()]);
      } else {
        // `{model}` is `{model: .model}`.
        entries.push([key.v, { kind: 'field', name: key.v }]);
      }
      if (!isPunct(',')) break;
      at++;
    }
    expect('}');
    return { kind: 'object', entries };
  };

  // Object values stop at `,` and `}`; a pipe inside them is allowed, as in jq.
  const objectValue = (): Node => pipe();

  const root = pipe();
  if (at !== tokens.length) throw new JqUnsupported(`unexpected '${String(peek()?.v)}' in ${source}`);
  return { source, evaluate: (input) => evaluate(root, input) };
}

function chain(left: Node, right: Node): Node {
  return left.kind === 'identity' ? right : { kind: 'pipe', left, right };
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '.' && /[A-Za-z_]/.test(source[i + 1] ?? '')) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i + 1));
      tokens.push({ t: 'field', v: m?.[0] ?? '' });
      i += 1 + (m?.[0].length ?? 0);
    } else if ('{}[]():,|.'.includes(c)) {
      tokens.push({ t: 'punct', v: c });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < source.length && source[j] !== '"') {
        if (source[j] === '\\') {
          if (source[j + 1] === '(')
            throw new JqUnsupported(`string interpolation is not supported (in ${source})`);
          j++;
        }
        j++;
      }
      if (j >= source.length) throw new JqUnsupported(`unterminated string in ${source}`);
      tokens.push({ t: 'string', v: JSON.parse(source.slice(i, j + 1)) as string });
      i = j + 1;
    } else if (/[-0-9]/.test(c)) {
      const m = /^-?\d+(\.\d+)?/.exec(source.slice(i));
      if (!m) throw new JqUnsupported(`unexpected '${c}' in ${source}`);
      tokens.push({ t: 'number', v: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i));
      tokens.push({ t: 'ident', v: m?.[0] ?? '' });
      i += m?.[0].length ?? 1;
    } else {
      throw new JqUnsupported(`'${c}' is not supported locally (in ${source})`);
    }
  }
  return tokens;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean'
    ? typeof value
    : 'object';
}

function evaluate(node: Node, input: unknown): unknown {
  switch (node.kind) {
    case 'identity':
      return input;
    case 'literal':
      return node.value;
    case 'pipe':
      return evaluate(node.right, evaluate(node.left, input));
    case 'object':
      return Object.fromEntries(node.entries.map(([key, value]) => [key, evaluate(value, input)]));
    case 'field':
      if (input === null) return null;
      if (typeName(input) !== 'object')
        throw new JqError(`Cannot index ${typeName(input)} with "${node.name}"`);
      return Object.hasOwn(input as object, node.name) ? (input as Record<string, unknown>)[node.name] : null;
    case 'index': {
      if (input === null) return null;
      if (!Array.isArray(input)) throw new JqError(`Cannot index ${typeName(input)} with number`);
      return input.at(node.index) ?? null;
    }
    case 'slice': {
      if (input === null) return null;
      // jq 1.6 slices strings by code point.
      const items = typeof input === 'string' ? [...input] : Array.isArray(input) ? input : undefined;
      if (!items) throw new JqError(`Cannot index ${typeName(input)} with object`);
      const sliced = items.slice(node.from ?? 0, node.to ?? items.length);
      return typeof input === 'string' ? sliced.join('') : sliced;
    }
    case 'builtin':
      return builtin(node.name, input);
  }
}

function builtin(name: Builtin, input: unknown): unknown {
  switch (name) {
    case 'tostring':
      return typeof input === 'string' ? input : JSON.stringify(input);
    case 'length':
      if (input === null) return 0;
      if (typeof input === 'string') return [...input].length;
      if (Array.isArray(input)) return input.length;
      if (typeof input === 'number') return Math.abs(input);
      if (typeof input === 'object') return Object.keys(input as object).length;
      throw new JqError(`${typeName(input)} (${JSON.stringify(input)}) has no length`);
    case 'ascii_downcase':
    case 'ascii_upcase':
      if (typeof input !== 'string') throw new JqError(`${name} input must be a string`);
      return name === 'ascii_downcase'
        ? input.replace(/[A-Z]/g, (c) => c.toLowerCase())
        : input.replace(/[a-z]/g, (c) => c.toUpperCase());
  }
}
