// Distributed Map states (a Map with an ItemReader) on an engine that runs every Map inline and
// knows no ItemReader, ItemBatcher or tolerated failures. The engine's in-memory copy of the
// definition gets, before each such Map, a Task state "<Map> (ItemReader)" that reads the items,
// applies the ItemSelector and ItemBatcher and leaves the result in the run context; every
// transition into the Map goes to that state instead, and the Map iterates over
// `$$.LocalItemReader.<Map>`. The deployed ASL (on disk, in the template, in
// DescribeStateMachine) is untouched.
import type { AslMachine } from './asl.ts';
import { planItemSelector, type SelectorPlan } from './item-selector.ts';

/** The run-context key under which each execution's item batches wait for their Map. */
export const ITEM_READER_CONTEXT_KEY = 'LocalItemReader';

/** `ReaderConfig.InputType` values read locally. */
export type ReaderInputType = 'CSV' | 'JSONL' | 'JSON';

/** What the engine does at one "<Map> (ItemReader)" state. */
export interface ItemReaderPlan {
  /** The inserted Task state. */
  readonly stateName: string;
  /** The Distributed Map it feeds. */
  readonly mapName: string;
  /** Where the items wait: `$$.LocalItemReader.<storeKey>`. */
  readonly storeKey: string;
  /** The ItemReader's Resource (what the history shows the task calling). */
  readonly resource: string;
  readonly inputType: ReaderInputType;
  /** Absent: the items are passed on as read. */
  readonly selector?: SelectorPlan;
  /** Whether an ItemBatcher groups the items into `{Items, BatchInput}`. */
  readonly batched: boolean;
  /** Why this reader cannot run locally; it fails with States.Runtime when reached. */
  readonly notEmulated?: string;
  /**
   * The Map's processor hands each item, as it is, to a Task: the items can wait in the store and
   * the Map iterate over small references, resolved only when the task runs. The library clones
   * every state's input; cloning a ~200 KB batch per state was most of the engine's work.
   */
  readonly byReference: boolean;
}

/**
 * What the inserted state's Parameters resolve to (the library evaluates every `.$` in them
 * against the Map's effective input and the run context, exactly as it would the Map's).
 */
export interface ItemReaderParameters {
  /** The ItemReader's Parameters (Bucket, Key, VersionId). */
  readonly Reader?: { readonly Bucket?: unknown; readonly Key?: unknown; readonly VersionId?: unknown };
  readonly MaxItems?: unknown;
  readonly MaxItemsPerBatch?: unknown;
  readonly MaxInputBytesPerBatch?: unknown;
  readonly BatchInput?: unknown;
  /** The ItemSelector's fields that are the same for every item. */
  readonly ItemSelector?: unknown;
  /** The Map's effective input, when the ItemSelector must run per item in the library. */
  readonly MapInput?: unknown;
}

export interface LocalDistributedMaps {
  /** The definition the engine runs. */
  readonly machine: AslMachine;
  /** Inserted state name → its plan. */
  readonly readers: ReadonlyMap<string, ItemReaderPlan>;
  /** What a local run does differently, once per kind, naming the Map states. */
  readonly warnings: string[];
}

const READERS: Readonly<Record<string, readonly ReaderInputType[]>> = {
  'arn:aws:states:::s3:getObject': ['CSV', 'JSONL', 'JSON'],
};
/** States' limit on a state name. */
const MAX_STATE_NAME = 80;
const SUFFIX = ' (ItemReader)';

type Json = Record<string, unknown>;
type Scope = { StartAt: string; States: Record<string, Json> };

/**
 * Rewrite every Map state with an ItemReader, at any depth, for the local engine (see the
 * module comment). A definition without one comes back as it was.
 */
export function localDistributedMaps(definition: AslMachine): LocalDistributedMaps {
  const machine = structuredClone(definition) as unknown as Scope;
  const taken = new Set<string>();
  collectNames(machine, taken);
  const readers = new Map<string, ItemReaderPlan>();
  const storeKeys = new Set<string>();
  const tolerated: string[] = [];
  const writers: string[] = [];
  const nested: string[] = [];
  const transformScope = (scope: Scope, insideMap: boolean): void => {
    for (const state of Object.values(scope.States ?? {})) {
      for (const branch of (state.Branches ?? []) as Scope[]) transformScope(branch, insideMap);
      const processor = (state.ItemProcessor ?? state.Iterator) as Scope | undefined;
      if (processor) transformScope(processor, true);
    }
    for (const [mapName, state] of Object.entries(scope.States ?? {})) {
      if (state.Type !== 'Map' || state.ItemReader === undefined) continue;
      const stateName = uniqueName(mapName, taken);
      const storeKey = uniqueKey(mapName, storeKeys);
      const { plan, parameters } = planReader(mapName, stateName, storeKey, state);
      readers.set(stateName, plan);
      if (Object.entries(state).some(([k, v]) => k.startsWith('ToleratedFailure') && v !== undefined))
        tolerated.push(mapName);
      if (state.ResultWriter !== undefined) writers.push(mapName);
      if (insideMap) nested.push(mapName);
      repoint(scope, mapName, stateName);
      scope.States[stateName] = readerState(state, mapName, parameters);
      for (const key of [
        'ItemReader',
        'ItemBatcher',
        'ItemSelector',
        'Parameters',
        'ResultWriter',
        'ToleratedFailurePercentage',
        'ToleratedFailurePercentagePath',
        'ToleratedFailureCount',
        'ToleratedFailureCountPath',
      ])
        delete state[key];
      state.ItemsPath = `$$.${ITEM_READER_CONTEXT_KEY}.${storeKey}`;
    }
  };
  transformScope(machine, false);

  const warnings: string[] = [];
  const maps = (names: string[]) => `Map state${names.length > 1 ? 's' : ''} ${names.join(', ')}`;
  if (tolerated.length > 0)
    warnings.push(
      `${maps(tolerated)}: tolerated failure threshold not emulated: any failed batch fails the map (with that batch's error, not States.ExceedToleratedFailureThreshold)`,
    );
  if (writers.length > 0)
    warnings.push(
      `${maps(writers)}: ResultWriter not emulated: the Map's output is its results, not a ResultWriterDetails pointer to S3`,
    );
  if (nested.length > 0)
    warnings.push(
      `${maps(nested)}: an ItemReader inside another Map's iterations shares one item store per execution: ` +
        'concurrent iterations may read each other’s items (run the outer Map with MaxConcurrency 1)',
    );
  for (const plan of readers.values())
    if (plan.notEmulated) warnings.push(`Map state ${plan.mapName}: ${plan.notEmulated}`);
  return { machine: machine as unknown as AslMachine, readers, warnings };
}

/** The plan and the inserted state's Parameters for Distributed Map `state`. */
function planReader(
  mapName: string,
  stateName: string,
  storeKey: string,
  state: Json,
): { plan: ItemReaderPlan; parameters: Json } {
  const reader = (state.ItemReader ?? {}) as Json;
  const config = (reader.ReaderConfig ?? {}) as Json;
  const batcher = state.ItemBatcher as Json | undefined;
  const resource = String(reader.Resource ?? '');
  const inputType = String(config.InputType ?? 'JSON') as ReaderInputType;
  const selectorTemplate = (state.ItemSelector ?? state.Parameters) as Json | undefined;
  const selector = selectorTemplate === undefined ? undefined : planItemSelector(selectorTemplate);
  const notEmulated = unsupportedReader(resource, inputType, config);
  const valueOrPath = (from: Json | undefined, field: string, as = field): Json =>
    from?.[field] !== undefined
      ? { [as]: from[field] }
      : from?.[`${field}Path`] !== undefined
        ? { [`${as}.$`]: from[`${field}Path`] }
        : {};
  const parameters: Json = {
    Reader: reader.Parameters ?? {},
    ...valueOrPath(config, 'MaxItems'),
    ...valueOrPath(batcher, 'MaxItemsPerBatch'),
    ...valueOrPath(batcher, 'MaxInputBytesPerBatch'),
    ...(batcher?.BatchInput === undefined ? {} : { BatchInput: batcher.BatchInput }),
    ...(selector && !selector.perItem ? { ItemSelector: selector.fixedTemplate } : {}),
    ...(selector?.perItem ? { 'MapInput.$': '$' } : {}),
  };
  const plan: ItemReaderPlan = {
    stateName,
    mapName,
    storeKey,
    resource,
    inputType,
    ...(selector ? { selector } : {}),
    batched: batcher !== undefined,
    ...(notEmulated ? { notEmulated } : {}),
    byReference: passesItemsAsIs(state),
  };
  return { plan, parameters };
}

/** True when the processor's first state is a Task that takes the item unchanged (no paths, no Parameters). */
function passesItemsAsIs(map: Json): boolean {
  const processor = (map.ItemProcessor ?? map.Iterator) as Json | undefined;
  const states = (processor?.States ?? {}) as Record<string, Json>;
  const first = states[String(processor?.StartAt ?? '')];
  return (
    first?.Type === 'Task' &&
    first.InputPath === undefined &&
    first.Parameters === undefined &&
    first.Arguments === undefined
  );
}

function unsupportedReader(resource: string, inputType: string, config: Json): string | undefined {
  const types = READERS[resource];
  if (!types)
    return `ItemReader ${resource || '(no Resource)'} is not emulated locally; the Map fails with States.Runtime when reached`;
  if (!types.includes(inputType as ReaderInputType))
    return `ItemReader InputType ${inputType} is not emulated locally (only ${types.join(', ')}); the Map fails with States.Runtime when reached`;
  if (config.CSVHeaderLocation !== undefined && config.CSVHeaderLocation !== 'FIRST_ROW')
    return `ItemReader CSVHeaderLocation ${String(config.CSVHeaderLocation)} is not emulated locally (only FIRST_ROW); the Map fails with States.Runtime when reached`;
  if (config.CSVDelimiter !== undefined && config.CSVDelimiter !== 'COMMA')
    return `ItemReader CSVDelimiter ${String(config.CSVDelimiter)} is not emulated locally (only COMMA); the Map fails with States.Runtime when reached`;
  return undefined;
}

/**
 * The inserted Task: the Map's InputPath (so its paths see what the Map's would), Retry and
 * Catch (a reader failure is the Map's failure on AWS: States.ItemReaderFailed), and
 * `ResultPath: null`, so the Map gets the same input it would have had.
 */
function readerState(map: Json, mapName: string, parameters: Json): Json {
  return {
    Type: 'Task',
    Comment: `Local runtime only: ${mapName}'s ItemReader, ItemSelector and ItemBatcher (not in the deployed definition)`,
    Resource: String((map.ItemReader as Json).Resource ?? ''),
    ...(map.InputPath === undefined ? {} : { InputPath: map.InputPath }),
    Parameters: parameters,
    ResultPath: null,
    ...(map.Retry === undefined ? {} : { Retry: structuredClone(map.Retry) }),
    ...(map.Catch === undefined ? {} : { Catch: structuredClone(map.Catch) }),
    Next: mapName,
  };
}

/**
 * Send every transition of `scope` that targets `from` (StartAt, Next, Default, Choices[].Next,
 * Catch[].Next) to `to`. Transitions only ever target states of their own scope.
 */
function repoint(scope: Scope, from: string, to: string): void {
  if (scope.StartAt === from) scope.StartAt = to;
  for (const state of Object.values(scope.States)) {
    if (state.Next === from) state.Next = to;
    if (state.Default === from) state.Default = to;
    for (const rule of (state.Choices ?? []) as Json[]) if (rule.Next === from) rule.Next = to;
    for (const catcher of (state.Catch ?? []) as Json[]) if (catcher.Next === from) catcher.Next = to;
  }
}

function collectNames(scope: Scope, names: Set<string>): void {
  for (const [name, state] of Object.entries(scope.States ?? {})) {
    names.add(name);
    for (const branch of (state.Branches ?? []) as Scope[]) collectNames(branch, names);
    const processor = (state.ItemProcessor ?? state.Iterator) as Scope | undefined;
    if (processor) collectNames(processor, names);
  }
}

/** `<Map> (ItemReader)`, cut to the 80 characters a state name may have and unique in the definition. */
function uniqueName(mapName: string, taken: Set<string>): string {
  for (let n = 1; ; n++) {
    const suffix = n === 1 ? SUFFIX : ` (ItemReader ${n})`;
    const name = `${mapName.slice(0, MAX_STATE_NAME - suffix.length)}${suffix}`;
    if (!taken.has(name)) {
      taken.add(name);
      return name;
    }
  }
}

/** The Map's name as a plain JSONPath member name, unique among the definition's readers. */
function uniqueKey(mapName: string, taken: Set<string>): string {
  const base = mapName.replace(/[^A-Za-z0-9_]/g, '_').replace(/^(?=\d)/, '_');
  for (let n = 1; ; n++) {
    const key = n === 1 ? base : `${base}_${n}`;
    if (!taken.has(key)) {
      taken.add(key);
      return key;
    }
  }
}
