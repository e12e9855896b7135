// What an inserted "<Map> (ItemReader)" state does when it runs (see distributed-map.ts): read
// the items with the reader the engine was given, apply the ItemSelector, group them per the
// ItemBatcher, and leave them in this execution's slot of the item store, where the Map's
// ItemsPath (`$$.LocalItemReader.<Map>`) finds them.
import type { ItemReaderParameters, ItemReaderPlan, ReaderInputType } from './distributed-map.ts';
import { selectItems, selectItemsInLibrary } from './item-selector.ts';
import { NotEmulatedTask, type TaskContext, TaskError, type TaskIntegration } from './task-handlers.ts';

/** The object an ItemReader reads. */
export interface ItemSource {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  readonly inputType: ReaderInputType;
}

/**
 * Reads the items of an object, in the order of the file: CSV rows as objects keyed by the
 * header, JSON Lines objects, or the elements of a JSON array. A rejection fails the Map with
 * States.ItemReaderFailed.
 */
export type ReadItems = (source: ItemSource) => Promise<unknown[]>;

/** Step Functions' limit on an execution's input, which each child execution of a Distributed Map has. */
export const CHILD_INPUT_LIMIT_BYTES = 256 * 1024;

/**
 * Each running execution's item batches, by Map. An execution's slot is the object its run
 * context holds under `LocalItemReader` (the library shares it with every nested Map and
 * Parallel run by reference); it is dropped when the execution ends.
 */
export class ItemReaderStore {
  private readonly slots = new Map<string, Record<string, unknown[]>>();
  /** Items parked by reference (see ItemReaderPlan.byReference), per execution. */
  private readonly parked = new Map<string, unknown[]>();

  /** The slot of `executionArn`, made empty when it has none. */
  open(executionArn: string): Record<string, unknown[]> {
    let slot = this.slots.get(executionArn);
    if (!slot) {
      slot = Object.create(null) as Record<string, unknown[]>;
      this.slots.set(executionArn, slot);
    }
    return slot;
  }

  /** Leave `items` for the Map whose ItemsPath reads `storeKey`. */
  put(executionArn: string, storeKey: string, items: unknown[]): void {
    this.open(executionArn)[storeKey] = items;
  }

  /** Park `items` and return the references the Map iterates over instead. */
  park(executionArn: string, items: unknown[]): ItemRef[] {
    let parked = this.parked.get(executionArn);
    if (!parked) {
      parked = [];
      this.parked.set(executionArn, parked);
    }
    const start = parked.length;
    parked.push(...items);
    return items.map((_, i) => ({ [ITEM_REF]: start + i }));
  }

  /** The parked item `value` refers to, or `value` itself when it is not a reference. */
  resolve(executionArn: string, value: unknown): unknown {
    if (typeof value !== 'object' || value === null || !(ITEM_REF in value)) return value;
    const index = (value as ItemRef)[ITEM_REF];
    const parked = this.parked.get(executionArn);
    if (!parked || index >= parked.length) throw new Error(`no parked Map item ${index} for ${executionArn}`);
    return parked[index];
  }

  /** Forget the execution's items (it ended). */
  release(executionArn: string): void {
    this.slots.delete(executionArn);
    this.parked.delete(executionArn);
  }

  /** Executions holding a slot. */
  get size(): number {
    return this.slots.size;
  }
}

/** The key of a reference to a parked item (not a name an ASL document would use). */
export const ITEM_REF = '__localParkedItem';
export type ItemRef = { readonly [ITEM_REF]: number };

/** A Map's child input as ItemBatcher makes it. */
export interface ItemBatch {
  readonly Items: unknown[];
  readonly BatchInput?: unknown;
}

export interface BatchLimits {
  /** @default no limit */
  readonly maxItems?: number;
  /** Bytes of the batch's JSON (`{"Items":[…],"BatchInput":…}`). @default no limit */
  readonly maxBytes?: number;
  /** Absent: batches have no BatchInput field. */
  readonly batchInput?: unknown;
}

/**
 * Group `items` into batches, in order: a batch closes when it holds `maxItems` items or when
 * the next item would take its JSON past `maxBytes` (an item bigger than that alone goes alone).
 */
export function batchItems(items: readonly unknown[], limits: BatchLimits): ItemBatch[] {
  const { maxItems = Number.POSITIVE_INFINITY, maxBytes, batchInput } = limits;
  const withInput = batchInput === undefined ? {} : { BatchInput: batchInput };
  const emptyBytes = maxBytes === undefined ? 0 : jsonBytes({ Items: [], ...withInput });
  const batches: ItemBatch[] = [];
  let current: unknown[] = [];
  let bytes = emptyBytes;
  for (const item of items) {
    const size = maxBytes === undefined ? 0 : jsonBytes(item);
    const full =
      current.length >= maxItems ||
      (maxBytes !== undefined && current.length > 0 && bytes + 1 + size > maxBytes);
    if (full) {
      batches.push({ Items: current, ...withInput });
      current = [];
      bytes = emptyBytes;
    }
    bytes += size + (current.length > 0 ? 1 : 0); // the comma before it
    current.push(item);
  }
  if (current.length > 0) batches.push({ Items: current, ...withInput });
  return batches;
}

export interface ItemReaderDeps {
  /** Absent: the reader fails with States.Runtime (nothing to read with). */
  readonly readItems?: ReadItems;
  readonly store: ItemReaderStore;
}

/** The task run at `plan.stateName`. */
export function itemReaderTask(plan: ItemReaderPlan, deps: ItemReaderDeps): TaskIntegration {
  return async (input, ctx) => {
    const label = `[sfn] ${ctx.stateMachineName}/${ctx.executionName} ${plan.stateName}`;
    if (plan.notEmulated) throw new NotEmulatedTask(`Map state ${plan.mapName}: ${plan.notEmulated}`);
    if (!deps.readItems)
      throw new NotEmulatedTask(
        `Map state ${plan.mapName}: this engine was started without an item reader, so ItemReader cannot run`,
      );
    const p = (input ?? {}) as ItemReaderParameters;
    const source = sourceOf(p, plan.inputType);
    let items: unknown[];
    try {
      items = await deps.readItems(source);
    } catch (err) {
      const e = err as Error;
      throw new TaskError(
        'States.ItemReaderFailed',
        `reading s3://${source.bucket}/${source.key} as ${plan.inputType} failed: ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`,
      );
    }
    const maxItems = optionalCount(p.MaxItems, 'ReaderConfig.MaxItems', 0);
    // MaxItems 0 means no limit, as on AWS.
    if (maxItems !== undefined && maxItems > 0) items = items.slice(0, maxItems);
    const selected = await select(plan, p, items, ctx);
    const output = plan.batched
      ? batchItems(selected, {
          ...countField('maxItems', optionalCount(p.MaxItemsPerBatch, 'ItemBatcher.MaxItemsPerBatch', 1)),
          ...countField(
            'maxBytes',
            optionalCount(p.MaxInputBytesPerBatch, 'ItemBatcher.MaxInputBytesPerBatch', 1),
          ),
          ...('BatchInput' in p ? { batchInput: p.BatchInput } : {}),
        })
      : selected;
    deps.store.put(
      ctx.executionArn,
      plan.storeKey,
      plan.byReference ? deps.store.park(ctx.executionArn, output) : output,
    );
    const what = plan.batched ? `${output.length} batch${output.length === 1 ? '' : 'es'}` : 'items';
    ctx.log(
      `${label}: ${items.length} items from s3://${source.bucket}/${source.key} → ${what} for ${plan.mapName}`,
    );
    warnOversized(output, plan, label, ctx);
    return {
      Bucket: source.bucket,
      Key: source.key,
      InputType: plan.inputType,
      ItemCount: items.length,
      ...(plan.batched ? { BatchCount: output.length } : {}),
    };
  };
}

function sourceOf(p: ItemReaderParameters, inputType: ReaderInputType): ItemSource {
  const { Bucket, Key, VersionId } = p.Reader ?? {};
  if (typeof Bucket !== 'string' || Bucket === '' || typeof Key !== 'string' || Key === '')
    throw new TaskError(
      'States.ItemReaderFailed',
      `ItemReader Parameters must give a Bucket and a Key; got ${JSON.stringify(p.Reader ?? {})}`,
    );
  return {
    bucket: Bucket,
    key: Key,
    inputType,
    ...(typeof VersionId === 'string' ? { versionId: VersionId } : {}),
  };
}

async function select(
  plan: ItemReaderPlan,
  p: ItemReaderParameters,
  items: unknown[],
  ctx: TaskContext,
): Promise<unknown[]> {
  const { selector } = plan;
  if (!selector) return items;
  if (!selector.perItem) return selectItems(selector, p.ItemSelector, items);
  const context = {
    Execution: { Id: ctx.executionArn, Name: ctx.executionName },
    StateMachine: { Name: ctx.stateMachineName },
    State: { Name: plan.mapName },
  };
  return selectItemsInLibrary(selector.template, p.MapInput, context, items);
}

/** A count field (e.g. MaxItemsPerBatch) as given, or its `…Path` value: an integer ≥ `min`. */
function optionalCount(value: unknown, field: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min)
    throw new ReaderConfigError(`${field} must be an integer >= ${min}; got ${JSON.stringify(value)}`);
  return value;
}

const countField = <K extends string>(key: K, value: number | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, number>>;

/**
 * One line when a child execution's input would exceed what AWS accepts: the local engine runs
 * it, a deployed one would not.
 */
function warnOversized(output: unknown[], plan: ItemReaderPlan, label: string, ctx: TaskContext): void {
  // Advisory only, so a sample of at most 20 evenly spaced children: serializing every batch of
  // a million-row input cost the engine a second.
  const step = Math.max(1, Math.ceil(output.length / 20));
  for (let index = 0; index < output.length; index += step) {
    const child = output[index];
    const bytes = jsonBytes(child);
    if (bytes <= CHILD_INPUT_LIMIT_BYTES) continue;
    ctx.log(
      `${label}: warning: ${plan.batched ? 'batch' : 'item'} ${index} of ${plan.mapName} is ${bytes} bytes of JSON, ` +
        `over the ${CHILD_INPUT_LIMIT_BYTES} bytes AWS allows a child execution's input` +
        (plan.batched ? ' (lower MaxItemsPerBatch or set MaxInputBytesPerBatch)' : ''),
    );
    return;
  }
}

/** A bad MaxItems… value: States.Runtime, which no Retry or Catch handles. */
class ReaderConfigError extends TaskError {
  readonly isRetryable = false;
  readonly isCatchable = false;
  constructor(message: string) {
    super('States.Runtime', message);
  }
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? 'null');
}
