// A Distributed Map's ItemSelector applied to every item the ItemReader read, in the order of
// the file. The parts that do not name `$$.Map.Item` are the same for every item: the engine
// has the library evaluate them once (intrinsics, `$.` and `$$.` paths alike); plain
// `$$.Map.Item.Index` / `$$.Map.Item.Value…` paths are then filled in per item here, fast.
// Anything fancier that names the item (an intrinsic over it, a filter) runs the whole
// selector through the library for each item: the same answers, some 30 µs an item slower.
import './promise-with-resolvers.ts';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';

/** `$$.Map.Item.Index` and `$$.Map.Item.Value` of one item. */
export interface MapItem {
  readonly index: number;
  readonly value: unknown;
}

/** An ItemSelector prepared once per state machine. */
export interface SelectorPlan {
  /** The selector as written. */
  readonly template: Readonly<Record<string, unknown>>;
  /**
   * The selector without its per-item fields: the library evaluates it once per Map run (in the
   * reader state's Parameters); `select` fills the per-item fields into its result.
   */
  readonly fixedTemplate: Readonly<Record<string, unknown>>;
  /** True when a field uses the item beyond a plain path: every item runs through the library. */
  readonly perItem: boolean;
}

/**
 * The error the library raises for a path that points nowhere: `States.Runtime`, which no
 * Retry or Catch handles.
 */
export class ItemSelectorError extends Error {
  override readonly name = 'States.Runtime';
  readonly isRetryable = false;
  readonly isCatchable = false;
}

const NAMES_ITEM = /\$\$\.Map(?![A-Za-z0-9_])/;
/** `$$.Map.Item.Index`, or `$$.Map.Item.Value` then member names, quoted names or indexes. */
const PLAIN_ITEM_PATH =
  /^\$\$\.Map\.Item\.(?:Index|Value(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\]|\['[^'\\]*'\])*)$/;
const SEGMENT = /\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\['([^'\\]*)'\]/g;

type Build = (fixed: unknown, item: MapItem) => unknown;

/** Prepare `template` (a Map state's ItemSelector or legacy Parameters). */
export function planItemSelector(template: Readonly<Record<string, unknown>>): SelectorPlan {
  let perItem = false;
  const fixedOf = (t: unknown): unknown => {
    if (Array.isArray(t)) return t.map(fixedOf);
    if (!isPlainObject(t)) return t;
    const fixed: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(t)) {
      if (isPathField(key, value) && NAMES_ITEM.test(value)) {
        if (!PLAIN_ITEM_PATH.test(value)) perItem = true;
        continue;
      }
      fixed[key] = fixedOf(value);
    }
    return fixed;
  };
  const fixedTemplate = fixedOf(template) as Record<string, unknown>;
  return { template, fixedTemplate, perItem };
}

/**
 * Apply a plan without per-item library runs (`plan.perItem` false): `fixed` is what the
 * library made of `plan.fixedTemplate`. Returns one selected value per item, in order.
 */
export function selectItems(plan: SelectorPlan, fixed: unknown, items: readonly unknown[]): unknown[] {
  if (plan.perItem)
    throw new Error('this ItemSelector needs the library for each item: use selectItemsInLibrary');
  const build = compile(plan.template) ?? ((f: unknown) => f);
  return items.map((value, index) => build(fixed, { index, value }));
}

/**
 * Apply `template` to each item with the library itself, as its Map state would: `$` is the
 * Map's effective input, `$$` the run context plus `Map.Item`.
 */
export async function selectItemsInLibrary(
  template: Readonly<Record<string, unknown>>,
  mapInput: unknown,
  context: Readonly<Record<string, unknown>>,
  items: readonly unknown[],
): Promise<unknown[]> {
  const selector = new StateMachine(
    { StartAt: 'Select', States: { Select: { Type: 'Pass', Parameters: template, End: true } } } as never,
    { validationOptions: { noValidate: true } },
  );
  const selected: unknown[] = [];
  for (const [index, value] of items.entries()) {
    const run = selector.run(mapInput as never, {
      context: { ...context, Map: { Item: { Index: index, Value: value } } } as never,
    });
    try {
      selected.push(await run.result);
    } catch (err) {
      throw err instanceof ExecutionError ? err.cause : err;
    }
  }
  return selected;
}

/** A builder for the per-item fields of `t`; undefined when `t` does not use the item. */
function compile(t: unknown): Build | undefined {
  if (Array.isArray(t)) {
    const parts = t.map(compile);
    if (parts.every((p) => p === undefined)) return undefined;
    return (fixed, item) =>
      parts.map((part, i) => {
        const f = (fixed as unknown[] | undefined)?.[i];
        return part ? part(f, item) : f;
      });
  }
  if (!isPlainObject(t)) return undefined;
  const fields: Array<{ name: string; fromItem?: (item: MapItem) => unknown; nested?: Build }> = [];
  let usesItem = false;
  for (const [key, value] of Object.entries(t)) {
    if (isPathField(key, value)) {
      // The library's rule: the first ".$" goes.
      const name = key.replace('.$', '');
      if (NAMES_ITEM.test(value)) {
        usesItem = true;
        fields.push({ name, fromItem: itemPath(value) });
      } else fields.push({ name });
      continue;
    }
    const nested = compile(value);
    if (nested) usesItem = true;
    fields.push({ name: key, ...(nested ? { nested } : {}) });
  }
  if (!usesItem) return undefined;
  return (fixed, item) => {
    const from = (fixed ?? {}) as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const field of fields) {
      out[field.name] = field.fromItem
        ? field.fromItem(item)
        : field.nested
          ? field.nested(from[field.name], item)
          : from[field.name];
    }
    return out;
  };
}

/** The reader of a plain item path (see PLAIN_ITEM_PATH). */
function itemPath(path: string): (item: MapItem) => unknown {
  if (path === '$$.Map.Item.Index') return (item) => item.index;
  const steps: Array<string | number> = [];
  for (const match of path.slice('$$.Map.Item.Value'.length).matchAll(SEGMENT)) {
    steps.push(match[1] ?? (match[2] === undefined ? (match[3] ?? '') : Number(match[2])));
  }
  return (item) => {
    let value: unknown = item.value;
    for (const step of steps) {
      value =
        value !== null && typeof value === 'object' && Object.hasOwn(value, step)
          ? (value as Record<string | number, unknown>)[step]
          : undefined;
      if (value === undefined) break;
    }
    if (value === undefined)
      throw new ItemSelectorError(`Path expression '${path}' does not point to a value`);
    return value;
  };
}

function isPathField(key: string, value: unknown): value is string {
  return key.endsWith('.$') && typeof value === 'string';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
