// EventBridge event patterns (content filtering): which events a rule matches. Covers what
// rules use: exact values (arrays are OR), nested objects, `prefix`, `suffix`,
// `equals-ignore-case`, `wildcard`, `exists`, `anything-but`, `numeric`, IPv4 `cidr` and `$or`.
// A pattern using anything else is reported by `patternProblems`, and its rule is not emulated.

/** A rule's EventPattern, intrinsics resolved. */
export type EventPattern = Readonly<Record<string, unknown>>;

const NUMERIC_OPERATORS = new Set(['=', '<', '<=', '>', '>=']);

/**
 * What in `pattern` the local router cannot evaluate or EventBridge would refuse, each with the
 * path where it is (e.g. `detail.object.key: unknown operator "regex"`); empty when it can.
 */
export function patternProblems(pattern: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(pattern)) return ['the pattern is not a JSON object'];
  checkObject(pattern, '', problems);
  return problems;
}

/** Whether `event` matches `pattern` (one that `patternProblems` accepts). */
export function matchesPattern(pattern: EventPattern, event: unknown): boolean {
  return matchObject(pattern, event);
}

function checkObject(pattern: Record<string, unknown>, at: string, problems: string[]): void {
  if (Object.keys(pattern).length === 0)
    problems.push(`${at || '(pattern)'}: an empty object matches nothing`);
  for (const [key, value] of Object.entries(pattern)) {
    const path = at ? `${at}.${key}` : key;
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2 || !value.every(isObject))
        problems.push(`${path}: $or needs an array of at least two patterns`);
      else for (const alternative of value) checkObject(alternative, at, problems);
    } else if (Array.isArray(value)) {
      if (value.length === 0) problems.push(`${path}: an empty array matches nothing`);
      for (const matcher of value) checkMatcher(matcher, path, problems);
    } else if (isObject(value)) checkObject(value, path, problems);
    else
      problems.push(`${path}: a pattern value must be an array or an object, not ${JSON.stringify(value)}`);
  }
}

function checkMatcher(matcher: unknown, path: string, problems: string[]): void {
  if (!isObject(matcher)) return; // a literal
  const entries = Object.entries(matcher);
  const [operator, arg] = entries[0] ?? [];
  if (entries.length !== 1 || operator === undefined) {
    problems.push(`${path}: a matcher object holds one operator, got ${JSON.stringify(matcher)}`);
    return;
  }
  const problem = operatorProblem(operator, arg);
  if (problem) problems.push(`${path}: ${problem}`);
}

function operatorProblem(operator: string, arg: unknown): string | undefined {
  switch (operator) {
    case 'prefix':
    case 'suffix':
      return typeof arg === 'string' || (isObject(arg) && typeof arg['equals-ignore-case'] === 'string')
        ? undefined
        : `${operator} takes a string or {"equals-ignore-case": string}`;
    case 'equals-ignore-case':
    case 'wildcard':
      return typeof arg === 'string' ? undefined : `${operator} takes a string`;
    case 'exists':
      return typeof arg === 'boolean' ? undefined : 'exists takes true or false';
    case 'numeric':
      return numericProblem(arg);
    case 'cidr':
      return typeof arg === 'string' && parseCidr(arg)
        ? undefined
        : `cidr ${JSON.stringify(arg)} is not an IPv4 CIDR block (IPv6 is not emulated locally)`;
    case 'anything-but':
      return anythingButProblem(arg);
    default:
      return `unknown operator "${operator}"`;
  }
}

function numericProblem(arg: unknown): string | undefined {
  if (!Array.isArray(arg) || arg.length === 0 || arg.length % 2 !== 0 || arg.length > 4)
    return 'numeric takes one or two [operator, number] pairs';
  for (let i = 0; i < arg.length; i += 2) {
    if (!NUMERIC_OPERATORS.has(arg[i] as string) || typeof arg[i + 1] !== 'number')
      return `numeric: ${JSON.stringify(arg.slice(i, i + 2))} is not an [operator, number] pair`;
  }
  return undefined;
}

function anythingButProblem(arg: unknown): string | undefined {
  const scalar = (v: unknown) => typeof v === 'string' || typeof v === 'number';
  if (scalar(arg) || (Array.isArray(arg) && arg.length > 0 && arg.every(scalar))) return undefined;
  if (isObject(arg)) {
    const [operator, value] = Object.entries(arg)[0] ?? [];
    if (Object.keys(arg).length === 1 && operator !== undefined) {
      const strings =
        typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'));
      if (['prefix', 'suffix', 'equals-ignore-case', 'wildcard'].includes(operator) && strings)
        return undefined;
    }
  }
  return `anything-but ${JSON.stringify(arg)} is not emulated locally`;
}

function matchObject(pattern: Readonly<Record<string, unknown>>, event: unknown): boolean {
  // Arrays in the event are flattened: an element that matches is enough.
  if (Array.isArray(event)) return event.some((element) => matchObject(pattern, element));
  for (const [key, sub] of Object.entries(pattern)) {
    if (key === '$or') {
      if (!(sub as EventPattern[]).some((alternative) => matchObject(alternative, event))) return false;
      continue;
    }
    const value = isObject(event) && Object.hasOwn(event, key) ? event[key] : undefined;
    const ok = Array.isArray(sub) ? matchLeaf(sub, value) : matchObject(sub as EventPattern, value);
    if (!ok) return false;
  }
  return true;
}

/** One field's matchers (OR) against its value: absent, a leaf, or an array of leaves. */
function matchLeaf(matchers: readonly unknown[], value: unknown): boolean {
  if (value === undefined) return matchers.some((m) => isObject(m) && m.exists === false);
  // `exists` (like every matcher) looks at leaves only: an object value matches nothing here.
  if (isObject(value)) return false;
  const values = Array.isArray(value) ? value : [value];
  return matchers.some((m) =>
    isObject(m) && 'exists' in m ? m.exists === true : values.some((v) => matchOne(m, v)),
  );
}

function matchOne(matcher: unknown, value: unknown): boolean {
  if (!isObject(matcher)) return matcher === value;
  const [operator, arg] = Object.entries(matcher)[0] ?? [];
  switch (operator) {
    case 'prefix':
      return typeof value === 'string' && affix(arg, value, (v, a) => v.startsWith(a));
    case 'suffix':
      return typeof value === 'string' && affix(arg, value, (v, a) => v.endsWith(a));
    case 'equals-ignore-case':
      return typeof value === 'string' && value.toLowerCase() === String(arg).toLowerCase();
    case 'wildcard':
      return typeof value === 'string' && wildcard(String(arg)).test(value);
    case 'numeric':
      return typeof value === 'number' && numeric(arg as unknown[], value);
    case 'cidr':
      return typeof value === 'string' && inCidr(String(arg), value);
    case 'anything-but':
      return anythingBut(arg, value);
    default:
      return false;
  }
}

function affix(arg: unknown, value: string, test: (value: string, affix: string) => boolean): boolean {
  if (typeof arg === 'string') return test(value, arg);
  const ignoreCase = (arg as Record<string, string>)['equals-ignore-case'] ?? '';
  return test(value.toLowerCase(), ignoreCase.toLowerCase());
}

function anythingBut(arg: unknown, value: unknown): boolean {
  if (isObject(arg)) {
    const [operator, operand] = Object.entries(arg)[0] ?? [];
    const operands = Array.isArray(operand) ? operand : [operand];
    return typeof value === 'string' && !operands.some((o) => matchOne({ [operator ?? '']: o }, value));
  }
  const excluded = Array.isArray(arg) ? arg : [arg];
  return !excluded.includes(value);
}

function numeric(conditions: readonly unknown[], value: number): boolean {
  for (let i = 0; i < conditions.length; i += 2) {
    const bound = conditions[i + 1] as number;
    const holds = {
      '=': value === bound,
      '<': value < bound,
      '<=': value <= bound,
      '>': value > bound,
      '>=': value >= bound,
    }[conditions[i] as '=' | '<' | '<=' | '>' | '>='];
    if (!holds) return false;
  }
  return true;
}

/** `*` is any run of characters; `\*` a literal star. */
function wildcard(pattern: string): RegExp {
  const parts = pattern
    .split(/(\\\*|\*)/)
    .map((part) =>
      part === '*' ? '.*' : (part === '\\*' ? '*' : part).replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    );
  return new RegExp(`^${parts.join('')}$`, 's');
}

function parseCidr(block: string): { network: number; mask: number } | undefined {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?$/.exec(block);
  const address = match?.[1] === undefined ? undefined : ipv4(match[1]);
  const bits = Number(match?.[2] ?? 32);
  if (address === undefined || bits > 32) return undefined;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return { network: (address & mask) >>> 0, mask };
}

function inCidr(block: string, value: string): boolean {
  const cidr = parseCidr(block);
  const address = ipv4(value);
  return cidr !== undefined && address !== undefined && (address & cidr.mask) >>> 0 === cidr.network;
}

function ipv4(text: string): number | undefined {
  const octets = text.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) return undefined;
  return octets.reduce((sum, o) => sum * 256 + o, 0);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
