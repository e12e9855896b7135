// CloudWatch Logs filter patterns, as subscription filters (and metric filters) use them:
// JSON patterns (`{ $.kind = "inference-capture" && $.latencyMs > 100 }`) and term patterns
// (`ERROR -Exiting`, `?"ERROR" ?"WARN"`). Space-delimited (`[ip, user, …]`) and regular
// expression (`%…%`) patterns are refused when compiled: a filter using them is reported as
// not emulated rather than matching differently from AWS.

/** The pattern uses syntax not run locally. */
export class FilterPatternUnsupported extends Error {
  override readonly name = 'FilterPatternUnsupported';
}

export interface FilterPattern {
  readonly source: string;
  /**
   * A substring every matching log line contains ('' when there is none): a cheap prefilter for
   * lines crossing threads. Assumes JSON is written as JSON.stringify writes it (printable
   * characters unescaped).
   */
  readonly marker: string;
  matches(message: string): boolean;
  /**
   * Like `matches`, but a JSON pattern's match returns the event it parsed (an object), so a
   * caller that reads the JSON too does not parse it again; other matches return true.
   */
  matchEvent(message: string): object | boolean;
}

type Selector = ReadonlyArray<string | number>;

type Expr =
  | { readonly kind: 'and' | 'or'; readonly left: Expr; readonly right: Expr }
  | { readonly kind: 'string'; readonly selector: Selector; readonly op: '=' | '!='; readonly value: string }
  | {
      readonly kind: 'number';
      readonly selector: Selector;
      readonly op: '=' | '!=' | '<' | '>' | '<=' | '>=';
      readonly value: number;
    }
  | { readonly kind: 'is'; readonly selector: Selector; readonly value: true | false | null }
  | { readonly kind: 'notExists'; readonly selector: Selector };

/** Compile a filter pattern; throws FilterPatternUnsupported for syntax not run locally. */
export function compileFilterPattern(source: string): FilterPattern {
  const text = source.trim();
  if (text === '') return { source, marker: '', matches: () => true, matchEvent: () => true };
  if (text.startsWith('{')) {
    if (!text.endsWith('}'))
      throw new FilterPatternUnsupported(`JSON pattern without a closing brace: ${source}`);
    const expr = new JsonPatternParser(text.slice(1, -1), source).parse();
    const matchEvent = (message: string): object | false => {
      let event: unknown;
      try {
        event = JSON.parse(message);
      } catch {
        return false;
      }
      return event !== null && typeof event === 'object' && evaluate(expr, event) ? event : false;
    };
    return {
      source,
      marker: markerOf(expr),
      matches: (message) => matchEvent(message) !== false,
      matchEvent,
    };
  }
  if (text.startsWith('['))
    throw new FilterPatternUnsupported(`space-delimited patterns are not run locally: ${source}`);
  return termPattern(text, source);
}

// ---- JSON patterns ----

class JsonPatternParser {
  private at = 0;
  constructor(
    private readonly text: string,
    private readonly source: string,
  ) {}

  parse(): Expr {
    const expr = this.or();
    this.space();
    if (this.at < this.text.length) this.fail(`unexpected '${this.text.slice(this.at)}'`);
    return expr;
  }

  private fail(problem: string): never {
    throw new FilterPatternUnsupported(`${problem} in ${this.source}`);
  }

  private space(): void {
    while (/\s/.test(this.text[this.at] ?? '')) this.at++;
  }

  private take(token: string): boolean {
    this.space();
    if (!this.text.startsWith(token, this.at)) return false;
    this.at += token.length;
    return true;
  }

  private or(): Expr {
    let left = this.and();
    while (this.take('||')) left = { kind: 'or', left, right: this.and() };
    return left;
  }

  private and(): Expr {
    let left = this.primary();
    while (this.take('&&')) left = { kind: 'and', left, right: this.primary() };
    return left;
  }

  private primary(): Expr {
    if (this.take('(')) {
      const inner = this.or();
      if (!this.take(')')) this.fail('missing )');
      return inner;
    }
    const selector = this.selector();
    this.space();
    const rest = this.text.slice(this.at);
    const keyword = /^(IS\s+(TRUE|FALSE|NULL)|NOT\s+EXISTS)\b/i.exec(rest);
    if (keyword) {
      this.at += keyword[0].length;
      const word = (keyword[2] ?? 'EXISTS').toUpperCase();
      if (word === 'EXISTS') return { kind: 'notExists', selector };
      return { kind: 'is', selector, value: word === 'NULL' ? null : word === 'TRUE' };
    }
    const op = /^(!=|<=|>=|=|<|>)/.exec(rest)?.[1] as '=' | '!=' | '<' | '>' | '<=' | '>=' | undefined;
    if (!op) this.fail(`expected a comparison after the selector`);
    this.at += op.length;
    this.space();
    if (this.text[this.at] === '%') this.fail('regular expression values are not run locally');
    if (this.text[this.at] === '"') {
      const value = this.quoted();
      if (op !== '=' && op !== '!=') this.fail(`${op} needs a number`);
      return { kind: 'string', selector, op, value };
    }
    const bare = /^[^\s()&|{}]+/.exec(this.text.slice(this.at))?.[0];
    if (!bare) this.fail('expected a value');
    this.at += bare.length;
    if (/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(bare))
      return { kind: 'number', selector, op, value: Number(bare) };
    if (op !== '=' && op !== '!=') this.fail(`${op} needs a number, got ${bare}`);
    return { kind: 'string', selector, op, value: bare };
  }

  private selector(): Selector {
    this.space();
    if (this.text[this.at] !== '$') this.fail('a JSON pattern compares a $ selector');
    this.at++;
    const path: Array<string | number> = [];
    for (;;) {
      const rest = this.text.slice(this.at);
      const key = /^\.([^\s.[\]=!<>()&|]+)/.exec(rest);
      const index = /^\[(\d+)\]/.exec(rest);
      if (key?.[1]) {
        path.push(key[1]);
        this.at += key[0].length;
      } else if (index?.[1]) {
        path.push(Number(index[1]));
        this.at += index[0].length;
      } else if (rest.startsWith('[')) {
        this.fail('only [n] array indexes are run locally');
      } else {
        break;
      }
    }
    if (path.length === 0) this.fail('a selector names a field');
    return path;
  }

  private quoted(): string {
    const start = this.at;
    this.at++;
    while (this.at < this.text.length && this.text[this.at] !== '"') {
      if (this.text[this.at] === '\\') this.at++;
      this.at++;
    }
    if (this.at >= this.text.length) this.fail('unterminated string');
    this.at++;
    return JSON.parse(this.text.slice(start, this.at)) as string;
  }
}

const MISSING = Symbol('missing');

function select(event: unknown, selector: Selector): unknown {
  let value: unknown = event;
  for (const step of selector) {
    if (typeof step === 'number') {
      if (!Array.isArray(value) || step >= value.length) return MISSING;
      value = value[step];
    } else {
      if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, step))
        return MISSING;
      value = (value as Record<string, unknown>)[step];
    }
  }
  return value;
}

/** `*` matches any run of characters. */
function globMatches(glob: string, text: string): boolean {
  if (!glob.includes('*')) return glob === text;
  const pattern = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${pattern}$`, 's').test(text);
}

function evaluate(expr: Expr, event: unknown): boolean {
  switch (expr.kind) {
    case 'and':
      return evaluate(expr.left, event) && evaluate(expr.right, event);
    case 'or':
      return evaluate(expr.left, event) || evaluate(expr.right, event);
    case 'notExists':
      return select(event, expr.selector) === MISSING;
    case 'is':
      return select(event, expr.selector) === expr.value;
    case 'string': {
      const value = select(event, expr.selector);
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return false;
      return globMatches(expr.value, String(value)) === (expr.op === '=');
    }
    case 'number': {
      const value = select(event, expr.selector);
      if (typeof value !== 'number') return false;
      switch (expr.op) {
        case '=':
          return value === expr.value;
        case '!=':
          return value !== expr.value;
        case '<':
          return value < expr.value;
        case '>':
          return value > expr.value;
        case '<=':
          return value <= expr.value;
        case '>=':
          return value >= expr.value;
      }
    }
  }
}

/** The longest text every event matching `expr` has in its JSON; '' when nothing is certain. */
function markerOf(expr: Expr): string {
  switch (expr.kind) {
    case 'and': {
      const left = markerOf(expr.left);
      const right = markerOf(expr.right);
      return right.length > left.length ? right : left;
    }
    case 'or':
    case 'notExists':
      return '';
    default: {
      // The selected field's own key appears quoted in the line; so does an exact string value.
      const last = expr.selector[expr.selector.length - 1];
      const key = typeof last === 'string' ? JSON.stringify(last) : '';
      if (expr.kind !== 'string' || expr.op !== '=') return key;
      const literal = expr.value
        .split('*')
        .map((part) => JSON.stringify(part).slice(1, -1))
        .reduce((a, b) => (b.length > a.length ? b : a), '');
      return literal.length > key.length ? literal : key;
    }
  }
}

// ---- term patterns ----

interface Term {
  readonly text: string;
  readonly exclude: boolean;
}

function termPattern(text: string, source: string): FilterPattern {
  const groups: Term[][] = [[]];
  const token = /(\?)?(-)?(?:"((?:[^"\\]|\\.)*)"|([^\s"]+))/gy;
  let at = 0;
  while (at < text.length) {
    if (/\s/.test(text[at] ?? '')) {
      at++;
      continue;
    }
    token.lastIndex = at;
    const m = token.exec(text);
    if (!m) throw new FilterPatternUnsupported(`cannot read the term at '${text.slice(at)}' in ${source}`);
    at = token.lastIndex;
    const [, alternative, exclude, quoted, bare] = m;
    const term = quoted !== undefined ? (JSON.parse(`"${quoted}"`) as string) : (bare ?? '');
    if (quoted === undefined && term.includes('%'))
      throw new FilterPatternUnsupported(`regular expression terms are not run locally: ${source}`);
    if (alternative && (groups[groups.length - 1] as Term[]).length > 0) groups.push([]);
    (groups[groups.length - 1] as Term[]).push({ text: term, exclude: exclude !== undefined });
  }
  const single = groups.length === 1 ? (groups[0] as Term[]) : [];
  const marker = single
    .filter((t) => !t.exclude)
    .map((t) => t.text)
    .reduce((a, b) => (b.length > a.length ? b : a), '');
  const matches = (message: string) =>
    groups.some((group) => group.every((t) => message.includes(t.text) !== t.exclude));
  return { source, marker, matches, matchEvent: matches };
}
