// Test support: a training run driven through the pipeline's step cores in pipeline order, on
// in-memory buckets, the way the state machine drives the step functions (each result added to
// the state at its ResultPath), so each step's tests start from the real output of the steps
// before it, on the real flights-20k data.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as z from 'zod';
import { buildTestSet } from '../../functions/build-test-set/core.ts';
import { type EvaluatePorts, evaluate } from '../../functions/evaluate/core.ts';
import type { ModelVersion } from '../../functions/lib/registry/model-version.ts';
import type { StepPorts } from '../../functions/lib/runs/pipeline-step.ts';
import type {
  EvaluationResult,
  PreprocessResult,
  TestSetResult,
  TrainResult,
  ValidationResult,
} from '../../functions/lib/runs/step-results.ts';
import { type PipelineState, TrainingRunInput } from '../../functions/lib/runs/training-run.ts';
import { createOnnxModelLoader } from '../../functions/lib/serving/onnx-model-loader.ts';
import { parseS3Uri } from '../../functions/lib/storage/s3-layout.ts';
import { preprocess } from '../../functions/preprocess/core.ts';
import { trainModel } from '../../functions/train/core.ts';
import { validateData } from '../../functions/validate-data/core.ts';
import { type MemoryObjectStore, memoryObjectStore } from './memory-object-store.ts';

export const DATA_BUCKET = 'data';
export const ARTIFACTS_BUCKET = 'artifacts';
/** Where runs find flights-20k unless a test uploads another dataset. */
export const FLIGHTS_URI = `s3://${DATA_BUCKET}/datasets/flights/flights-20k.json`;

/** A raw row of flights-20k, as the dataset file holds it. */
export interface RawFlightRow {
  date: string;
  delay: number;
  distance: number | null;
  origin: string;
  destination: string;
}

let flightsText: string | undefined;

/** flights-20k.json as vega-datasets ships it (its `exports` hide `data/`: read it from disk). */
function flightsJson(): string {
  if (flightsText) return flightsText;
  const entry = createRequire(import.meta.url).resolve('vega-datasets');
  flightsText = readFileSync(join(dirname(entry), '..', 'data', 'flights-20k.json'), 'utf8');
  return flightsText;
}

/** The dataset file's bytes, unchanged. */
export const flightsFile = (): Uint8Array => Buffer.from(flightsJson(), 'utf8');

/** The dataset's rows, a fresh copy per call, for a test to alter into a broken dataset. */
export const flightsRawRows = (): RawFlightRow[] => JSON.parse(flightsJson()) as RawFlightRow[];

/** Rows as a dataset file (a JSON array, as flights-20k is). */
export const datasetFile = (rows: readonly unknown[]): Uint8Array =>
  Buffer.from(JSON.stringify(rows), 'utf8');

/** What the steps get: the artifacts bucket, dataset reads, a silent log. */
export type TestStepPorts = Pick<StepPorts, 'artifacts' | 'readObject' | 'log'>;

export interface TestRun {
  readonly artifacts: MemoryObjectStore;
  readonly data: MemoryObjectStore;
  readonly ports: TestStepPorts;
  /** The state the next step gets: the execution input plus each earlier step's result. */
  state: PipelineState;
}

/**
 * A run on `input` (`runId` required; model, dataset and feature set default to flights), with
 * its dataset uploaded to the data bucket at `input.datasetUri` (flights-20k unless `dataset`).
 * Pass `artifacts` to run in the same bucket as another run.
 */
export function startRun(
  input: Partial<z.input<typeof TrainingRunInput>> & { runId: string },
  opts: { dataset?: Uint8Array; artifacts?: MemoryObjectStore } = {},
): TestRun {
  const artifacts = opts.artifacts ?? memoryObjectStore(ARTIFACTS_BUCKET);
  const data = memoryObjectStore(DATA_BUCKET);
  const state = TrainingRunInput.parse({
    model: 'flights',
    datasetUri: FLIGHTS_URI,
    featureSet: 'flights-v1',
    ...input,
  });
  data.objects.set(parseS3Uri(state.datasetUri).key, {
    body: opts.dataset ?? flightsFile(),
    contentType: 'application/json',
  });
  const buckets = new Map([
    [data.bucket, data],
    [artifacts.bucket, artifacts],
  ]);
  return {
    artifacts,
    data,
    state,
    ports: {
      artifacts,
      // As the step functions' readObject does: any bucket this run knows, by URI.
      readObject: (uri) => {
        const store = buckets.get(parseS3Uri(uri).bucket);
        return store ? store.read(parseS3Uri(uri).key) : Promise.reject(new Error(`no bucket for ${uri}`));
      },
      log: () => undefined,
    },
  };
}

/** Evaluate's model loader as its handler builds it: the serving onnxruntime loader over `store`. */
export function onnxLoadModel(
  store: MemoryObjectStore,
  featureSet = 'flights-v1',
): EvaluatePorts['loadModel'] {
  const load = createOnnxModelLoader(store.fetch, { intraOpThreads: 2 });
  return ({ uri, sha256, model }) =>
    load({ model, version: 0, artifactUri: uri, artifactSha256: sha256, featureSet } as ModelVersion);
}

/** Each step's result, as the state machine adds them to the state. */
export interface RunResults {
  validation?: ValidationResult;
  preprocess?: PreprocessResult;
  model?: TrainResult;
  testSet?: TestSetResult;
  evaluation?: EvaluationResult;
}

const ORDER = ['validate', 'preprocess', 'train', 'evaluate'] as const;

/**
 * Run the steps in pipeline order through `last` (`train` runs TrainModel and BuildTestSet, the
 * Parallel state's two branches), adding each result to `run.state` as the ASL's ResultPaths do.
 */
export async function runThrough(run: TestRun, last: (typeof ORDER)[number]): Promise<RunResults> {
  const results: RunResults = {};
  const upTo = ORDER.indexOf(last);
  const add = (path: string, value: unknown) => {
    run.state = { ...run.state, [path]: value };
  };
  results.validation = await validateData(run.state, run.ports);
  add('validation', results.validation);
  if (upTo < 1) return results;
  results.preprocess = await preprocess(run.state, run.ports);
  add('preprocess', results.preprocess);
  if (upTo < 2) return results;
  [results.model, results.testSet] = await Promise.all([
    trainModel(run.state, run.ports),
    buildTestSet(run.state, run.ports),
  ]);
  add('training', { model: results.model, testSet: results.testSet });
  if (upTo < 3) return results;
  results.evaluation = await evaluate(run.state, {
    artifacts: run.artifacts,
    loadModel: onnxLoadModel(run.artifacts, run.state.featureSet),
  });
  add('evaluation', results.evaluation);
  return results;
}

/** The sha256 of every object under `prefix`, by key: compare a re-run's output with it, byte for byte. */
export function snapshot(store: MemoryObjectStore, prefix: string): Map<string, string> {
  return new Map(
    store.keys(prefix).map((key) => [
      key,
      createHash('sha256')
        .update(store.objects.get(key)?.body ?? new Uint8Array())
        .digest('hex'),
    ]),
  );
}

/** Keys written by `act`, in write order. */
export async function keysWrittenBy(
  store: MemoryObjectStore,
  act: () => Promise<unknown>,
): Promise<string[]> {
  const before = store.writes.length;
  await act();
  return store.writes.slice(before);
}
