// Resolves CloudFormation intrinsic functions in template values against the local runtime's resources.
import {
  hasParameter,
  isPseudoParameter,
  NO_VALUE,
  pseudoParameter,
  type StackFacts,
  TemplateResolutionError,
  templateParameter,
} from './pseudo-parameters.ts';

/**
 * What resolution needs from the runtime: the stack facts, and the local value of each
 * resource's `Ref` and attributes (e.g. a table's Ref is its local name, its `Arn` a well-formed
 * fake ARN; an alias's Ref is its ARN). Callbacks return `undefined` for what they do not know,
 * and resolution then fails naming the logical id and attribute.
 */
export interface ResolveContext extends StackFacts {
  ref(logicalId: string): unknown;
  getAtt(logicalId: string, attribute: string): unknown;
  /** The value another stack exports as `exportName`; absent: `Fn::ImportValue` fails. */
  importValue?(exportName: string): unknown;
}

type Resolved = unknown;

interface Scope {
  readonly ctx: ResolveContext;
  readonly path: string;
  /** Conditions being evaluated, to report a cycle rather than overflow the stack. */
  readonly conditions: readonly string[];
}

/**
 * Resolve every intrinsic in `value` (`Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, `Fn::Select`,
 * `Fn::Split`, `Fn::If`, `Fn::GetAZs`, `Fn::FindInMap`, `Fn::Base64`, `Fn::ImportValue`, …).
 * `Ref: AWS::NoValue` removes its key or list element; at the top it gives `undefined`.
 * `at` names where `value` sits in the template, for error messages.
 * Throws `TemplateResolutionError` naming the logical id, attribute and template path.
 */
export function resolveValue(value: unknown, ctx: ResolveContext, at = ''): unknown {
  const resolved = resolve(value, { ctx, path: at, conditions: [] });
  return resolved === NO_VALUE ? undefined : resolved;
}

/** Evaluate the template condition `name` (from its `Conditions` section). */
export function evaluateCondition(name: string, ctx: ResolveContext): boolean {
  return condition(name, { ctx, path: `Conditions.${name}`, conditions: [] });
}

function resolve(value: unknown, scope: Scope): Resolved {
  if (Array.isArray(value)) {
    return value.map((item, i) => resolve(item, child(scope, `[${i}]`))).filter((item) => item !== NO_VALUE);
  }
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const [first] = entries;
  if (first && entries.length === 1 && (first[0] === 'Ref' || first[0].startsWith('Fn::'))) {
    return intrinsic(first[0], first[1], child(scope, first[0]));
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of entries) {
    const resolved = resolve(item, child(scope, key));
    if (resolved !== NO_VALUE) out[key] = resolved;
  }
  return out;
}

function intrinsic(name: string, arg: unknown, scope: Scope): Resolved {
  switch (name) {
    case 'Ref':
      return ref(expectString(arg, scope, 'a logical id'), scope);
    case 'Fn::GetAtt':
      return getAtt(arg, scope);
    case 'Fn::Join': {
      const [delimiter, list] = expectArgs(arg, 2, scope);
      const items = expectList(resolve(list, scope), scope);
      return items.map((item) => scalar(item, scope)).join(expectString(delimiter, scope, 'a delimiter'));
    }
    case 'Fn::Sub':
      return sub(arg, scope);
    case 'Fn::Select': {
      const [index, list] = expectArgs(arg, 2, scope);
      const items = expectList(resolve(list, scope), scope);
      const i = Number(resolve(index, scope));
      if (!Number.isInteger(i) || i < 0 || i >= items.length) {
        fail(scope, `index ${String(index)} is outside the list of ${items.length}`);
      }
      return items[i];
    }
    case 'Fn::Split': {
      const [delimiter, source] = expectArgs(arg, 2, scope);
      return scalar(resolve(source, scope), scope).split(expectString(delimiter, scope, 'a delimiter'));
    }
    case 'Fn::If': {
      const [name, whenTrue, whenFalse] = expectArgs(arg, 3, scope);
      return resolve(
        condition(expectString(name, scope, 'a condition name'), scope) ? whenTrue : whenFalse,
        scope,
      );
    }
    case 'Fn::Equals':
    case 'Fn::And':
    case 'Fn::Or':
    case 'Fn::Not':
      return conditionFunction(name, arg, scope);
    case 'Fn::GetAZs': {
      const region = scalar(resolve(arg, scope), scope) || String(pseudoParameter('AWS::Region', scope.ctx));
      return ['a', 'b', 'c'].map((zone) => `${region}${zone}`);
    }
    case 'Fn::FindInMap':
      return findInMap(arg, scope);
    case 'Fn::Base64':
      return Buffer.from(scalar(resolve(arg, scope), scope)).toString('base64');
    case 'Fn::ToJsonString':
      return JSON.stringify(resolve(arg, scope));
    case 'Fn::ImportValue': {
      const exportName = scalar(resolve(arg, scope), scope);
      const value = scope.ctx.importValue?.(exportName);
      if (value === undefined) {
        fail(
          scope,
          `export "${exportName}" is not available locally (cross-stack imports need the exporting stack)`,
        );
      }
      return value;
    }
    default:
      return fail(scope, `intrinsic ${name} is not supported locally`);
  }
}

function ref(name: string, scope: Scope): Resolved {
  const { ctx } = scope;
  if (isPseudoParameter(name)) return pseudoParameter(name, ctx);
  if (hasParameter(name, ctx)) return templateParameter(name, ctx);
  const type = resourceType(name, scope);
  const value = ctx.ref(name);
  if (value === undefined) fail(scope, `Ref to ${name}${type} has no local value`);
  return value;
}

function getAtt(arg: unknown, scope: Scope): Resolved {
  let logicalId: string;
  let attribute: string;
  if (typeof arg === 'string') {
    // 'Logical.Attr.With.Dots': the logical id never has a dot, attributes may (Endpoint.Address).
    const dot = arg.indexOf('.');
    if (dot <= 0) fail(scope, `expected "LogicalId.Attribute", got "${arg}"`);
    [logicalId, attribute] = [arg.slice(0, dot), arg.slice(dot + 1)];
  } else {
    const [id, attr] = expectArgs(arg, 2, scope);
    logicalId = expectString(id, scope, 'a logical id');
    attribute = scalar(resolve(attr, scope), scope);
  }
  return attributeOf(logicalId, attribute, scope);
}

function attributeOf(logicalId: string, attribute: string, scope: Scope): Resolved {
  const type = resourceType(logicalId, scope);
  const value = scope.ctx.getAtt(logicalId, attribute);
  if (value === undefined) fail(scope, `Fn::GetAtt ${logicalId}.${attribute}${type} has no local value`);
  return value;
}

/** ` (AWS::Type)` for messages; fails when the template is known and lacks the logical id. */
function resourceType(logicalId: string, scope: Scope): string {
  const resources = scope.ctx.template?.Resources;
  if (!resources) return '';
  const resource = resources[logicalId];
  if (!resource) fail(scope, `${logicalId} is neither a resource nor a parameter of the template`);
  return ` (${resource.Type})`;
}

function sub(arg: unknown, scope: Scope): string {
  const [text, vars] = typeof arg === 'string' ? [arg, {}] : expectArgs(arg, 2, scope);
  const template = expectString(text, scope, 'a string');
  if (vars === null || typeof vars !== 'object' || Array.isArray(vars))
    fail(scope, 'expected a map of variables');
  const values = new Map(Object.entries(vars).map(([k, v]) => [k, resolve(v, child(scope, k))]));
  return template.replace(/\$\{([^}]*)\}/g, (_, body: string) => {
    if (body.startsWith('!')) return `\${${body.slice(1)}}`;
    const name = body.trim();
    if (values.has(name)) return scalar(values.get(name), scope);
    if (isPseudoParameter(name) || hasParameter(name, scope.ctx)) return scalar(ref(name, scope), scope);
    const dot = name.indexOf('.');
    if (dot > 0) return scalar(attributeOf(name.slice(0, dot), name.slice(dot + 1), scope), scope);
    return scalar(ref(name, scope), scope);
  });
}

function findInMap(arg: unknown, scope: Scope): Resolved {
  const [mapArg, topArg, secondArg, options] = expectArgs(arg, -3, scope);
  const [map, top, second] = [mapArg, topArg, secondArg].map((a) => scalar(resolve(a, scope), scope));
  const value = scope.ctx.template?.Mappings?.[map ?? '']?.[top ?? '']?.[second ?? ''];
  if (value !== undefined) return value;
  // The AWS::LanguageExtensions form: [map, top, second, { DefaultValue }].
  const fallback = (options as { DefaultValue?: unknown } | undefined)?.DefaultValue;
  if (fallback !== undefined) return resolve(fallback, scope);
  return fail(scope, `mapping ${map}.${top}.${second} does not exist`);
}

function condition(name: string, scope: Scope): boolean {
  const conditions = scope.ctx.template?.Conditions;
  if (!conditions || !Object.hasOwn(conditions, name)) fail(scope, `condition ${name} does not exist`);
  if (scope.conditions.includes(name)) fail(scope, `condition ${name} depends on itself`);
  const inner: Scope = {
    ctx: scope.ctx,
    path: `Conditions.${name}`,
    conditions: [...scope.conditions, name],
  };
  return toBoolean(resolve(conditions[name], inner), inner);
}

function conditionFunction(name: string, arg: unknown, scope: Scope): boolean {
  const args = expectArgs(arg, name === 'Fn::Not' ? 1 : name === 'Fn::Equals' ? 2 : -2, scope);
  if (name === 'Fn::Equals') {
    const [a, b] = args.map((x) => resolve(x, scope));
    return JSON.stringify(a) === JSON.stringify(b);
  }
  // Operands are conditions: `{ Condition: name }` or a nested condition function.
  const operands = args.map((x) => {
    const only = x !== null && typeof x === 'object' && !Array.isArray(x) ? Object.entries(x) : [];
    const [entry] = only;
    if (only.length === 1 && entry?.[0] === 'Condition') {
      return condition(expectString(entry[1], scope, 'a condition name'), scope);
    }
    return toBoolean(resolve(x, scope), scope);
  });
  if (name === 'Fn::Not') return !operands[0];
  return name === 'Fn::And' ? operands.every(Boolean) : operands.some(Boolean);
}

function toBoolean(value: unknown, scope: Scope): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return fail(scope, `expected a condition, got ${JSON.stringify(value)}`);
}

/** A string from a resolved value that must be one (numbers and booleans stringify as in CFN). */
function scalar(value: unknown, scope: Scope): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return fail(scope, `expected a string, got ${JSON.stringify(value)}`);
}

function expectString(value: unknown, scope: Scope, what: string): string {
  if (typeof value !== 'string') fail(scope, `expected ${what}, got ${JSON.stringify(value)}`);
  return value;
}

function expectList(value: unknown, scope: Scope): unknown[] {
  if (!Array.isArray(value)) fail(scope, `expected a list, got ${JSON.stringify(value)}`);
  return value;
}

/** The argument list; `count` < 0 means "at least -count". */
function expectArgs(arg: unknown, count: number, scope: Scope): unknown[] {
  const ok = Array.isArray(arg) && (count < 0 ? arg.length >= -count : arg.length === count);
  if (!ok)
    fail(scope, `expected ${count < 0 ? `at least ${-count}` : count} arguments, got ${JSON.stringify(arg)}`);
  return arg as unknown[];
}

function child(scope: Scope, key: string): Scope {
  const path = key.startsWith('[') || !scope.path ? `${scope.path}${key}` : `${scope.path}.${key}`;
  return { ...scope, path };
}

function fail(scope: Scope, message: string): never {
  throw new TemplateResolutionError(scope.path ? `${message} (at ${scope.path})` : message);
}
