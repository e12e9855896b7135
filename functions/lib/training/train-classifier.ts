// The pure training use case: split, fit features and model on the train side, evaluate on the
// test side, and export a self-describing ONNX artifact. No I/O: callers bring rows, take bytes.
import { InvalidRequest } from '../errors.ts';
import type { FeatureSet } from '../features/feature-set.ts';
import { exportLogisticRegression } from '../onnx/export-logistic-regression.ts';
import { exportGradientBoostedTrees } from '../onnx/export-tree-ensemble.ts';
import { MODEL_METADATA_KEYS } from '../onnx/model-metadata.ts';
import {
  fitGradientBoostedTrees,
  type GbdtParams,
  predictGbdtProbabilities,
  resolveGbdtParams,
} from './gbdt.ts';
import {
  fitLogisticRegression,
  type LogisticRegressionParams,
  predictProbabilities,
  resolveLogisticRegressionParams,
} from './logistic-regression.ts';
import { type BinaryMetrics, evaluateBinary } from './metrics.ts';
import { splitTrainTest } from './split.ts';

/** The algorithms a classifier can be trained with. */
export const TRAINERS = ['logreg', 'gbdt'] as const;
export type Trainer = (typeof TRAINERS)[number];

/** Share of the train split held out for the trees' early stopping. */
const EARLY_STOPPING_SHARE = 0.15;

/** `params` with defaults filled in for `trainer`; unknown names or bad values are an InvalidRequest. */
export function resolveTrainerParams(
  trainer: Trainer,
  params: Readonly<Record<string, number>> = {},
): LogisticRegressionParams | GbdtParams {
  return trainer === 'gbdt'
    ? resolveGbdtParams(params as Partial<GbdtParams>)
    : resolveLogisticRegressionParams(params as Partial<LogisticRegressionParams>);
}

/** Scores at or above this are labelled positive, both in the metrics and (via metadata) at serving. */
export const DECISION_THRESHOLD = 0.5;

export interface TrainClassifierInput<I, E> {
  /** Instances that already passed `featureSet.instanceSchema`. */
  readonly rows: readonly I[];
  /** 0/1 label of each row. */
  readonly labels: Uint8Array;
  readonly featureSet: FeatureSet<I, E>;
  /** @default 'logreg' */
  readonly trainer?: Trainer;
  /** Parameters of `trainer` (see resolveTrainerParams); defaults fill the rest. */
  readonly params?: Readonly<Record<string, number>>;
  /** Seed of the train/test split. @default 0 */
  readonly seed?: number;
  /** Registry name of the model; recorded in the artifact. */
  readonly modelName: string;
}

export interface TrainResult {
  /** The ONNX artifact; identical bytes for identical inputs. */
  modelBytes: Uint8Array;
  featureSet: string;
  /** What the feature set learned from the train split (JSON-serialisable). */
  encoding: unknown;
  featureNames: string[];
  trainer: Trainer;
  /** Parameters actually used, defaults included. */
  params: LogisticRegressionParams | GbdtParams;
  metrics: { train: BinaryMetrics; test: BinaryMetrics };
}

/** Rows of `rows` at `indices`, and their labels. */
function pick<I>(rows: readonly I[], labels: Uint8Array, indices: Uint32Array) {
  return {
    rows: Array.from(indices, (i) => rows[i] as I),
    labels: Uint8Array.from(indices, (i) => labels[i] ?? 0),
  };
}

/**
 * Train a logistic-regression classifier on `rows`. The feature encoding is fitted on the train
 * split only, so test metrics are honest; the artifact's metadata names the feature set and
 * carries the encoding, so serving rebuilds exactly the training-time input.
 */
export function trainClassifier<I, E>(input: TrainClassifierInput<I, E>): TrainResult {
  const { rows, labels, featureSet, seed = 0 } = input;
  if (labels.length !== rows.length) throw new RangeError(`${rows.length} rows but ${labels.length} labels`);
  const badLabel = labels.findIndex((label) => label > 1);
  if (badLabel >= 0) {
    throw new RangeError(`labels[${badLabel}] is ${labels[badLabel]}; labels must be 0 or 1`);
  }
  const trainer = input.trainer ?? 'logreg';
  const params = resolveTrainerParams(trainer, input.params);
  const split = splitTrainTest(rows.length, { seed });
  const train = pick(rows, labels, split.train);
  const test = pick(rows, labels, split.test);
  const encoding = featureSet.fit(train.rows);
  const featureNames = featureSet.featureNames(encoding);
  const xTrain = featureSet.encode(train.rows, encoding);
  const fitted = fitClassifier({
    x: xTrain,
    labels: train.labels,
    featureNames,
    trainer,
    params: input.params,
    seed,
    metadata: classifierMetadata({
      featureSet: featureSet.name,
      encoding,
      featureNames,
      modelName: input.modelName,
    }),
  });
  return {
    modelBytes: fitted.modelBytes,
    featureSet: featureSet.name,
    encoding,
    featureNames,
    trainer,
    params,
    metrics: {
      train: evaluateBinary(fitted.predict(xTrain), train.labels, DECISION_THRESHOLD),
      test: evaluateBinary(
        fitted.predict(featureSet.encode(test.rows, encoding)),
        test.labels,
        DECISION_THRESHOLD,
      ),
    },
  };
}

/** The metadata that makes an artifact self-describing: serving rebuilds its input from it. */
export function classifierMetadata(opts: {
  featureSet: string;
  encoding: unknown;
  featureNames: readonly string[];
  modelName: string;
}): Record<string, string> {
  return {
    [MODEL_METADATA_KEYS.featureSet]: opts.featureSet,
    [MODEL_METADATA_KEYS.encoding]: JSON.stringify(opts.encoding),
    [MODEL_METADATA_KEYS.featureNames]: JSON.stringify(opts.featureNames),
    [MODEL_METADATA_KEYS.threshold]: String(DECISION_THRESHOLD),
    [MODEL_METADATA_KEYS.modelName]: opts.modelName,
  };
}

export interface FitClassifierInput {
  /** Row-major encoded features, `labels.length` × `featureNames.length`. */
  readonly x: Float32Array;
  readonly labels: Uint8Array;
  readonly featureNames: string[];
  /** @default 'logreg' */
  readonly trainer?: Trainer;
  readonly params?: Readonly<Record<string, number>>;
  /** Seeds the trees' subsampling and early-stopping slice. @default 0 */
  readonly seed?: number;
  /** Stored in the artifact (see classifierMetadata). */
  readonly metadata: Record<string, string>;
}

/** A fitted classifier: its ONNX artifact, the parameters used, and the trainer's own scorer. */
export interface FittedArtifact {
  readonly modelBytes: Uint8Array;
  readonly trainer: Trainer;
  readonly params: LogisticRegressionParams | GbdtParams;
  predict(x: Float32Array): Float64Array;
}

/** Fit `trainer` on already-encoded rows and export it as ONNX; the same inputs give the same bytes. */
export function fitClassifier(input: FitClassifierInput): FittedArtifact {
  const { x, labels, featureNames, seed = 0 } = input;
  const trainer = input.trainer ?? 'logreg';
  const params = resolveTrainerParams(trainer, input.params);
  const width = featureNames.length;
  if (x.length !== labels.length * width)
    throw new RangeError(`${x.length} feature values for ${labels.length} rows × ${width} features`);
  const positives = labels.reduce((sum, label) => sum + label, 0);
  if (positives === 0 || positives === labels.length) {
    throw new InvalidRequest(
      `the training split has ${positives} positive rows of ${labels.length}; both classes are needed`,
    );
  }
  const fitted =
    trainer === 'gbdt'
      ? fitTrees(x, labels, width, params as GbdtParams, seed)
      : fitLinear(x, labels, width, params as LogisticRegressionParams);
  return {
    modelBytes: fitted.export({ featureNames, metadata: input.metadata }),
    trainer,
    params,
    predict: fitted.predict,
  };
}

/** A fitted model as training needs it: scores for evaluation, ONNX bytes for serving. */
interface FittedClassifier {
  predict(x: Float32Array): Float64Array;
  export(opts: { featureNames: string[]; metadata: Record<string, string> }): Uint8Array;
}

function fitLinear(
  x: Float32Array,
  y: Uint8Array,
  width: number,
  params: LogisticRegressionParams,
): FittedClassifier {
  const model = fitLogisticRegression(x, y, width, params);
  return {
    predict: (rows) => predictProbabilities(model, rows, width),
    export: (opts) => exportLogisticRegression(model, opts),
  };
}

/**
 * Trees stop early on a slice of the train split (never the test split, which stays honest);
 * the slice is chosen by the same seeded splitter, so the fit is deterministic.
 */
function fitTrees(
  x: Float32Array,
  y: Uint8Array,
  width: number,
  params: GbdtParams,
  seed: number,
): FittedClassifier {
  const holdout = splitTrainTest(y.length, { seed: seed + 1, testFraction: EARLY_STOPPING_SHARE });
  const rowsOf = (indices: Uint32Array) => {
    const out = new Float32Array(indices.length * width);
    indices.forEach((row, i) => {
      out.set(x.subarray(row * width, (row + 1) * width), i * width);
    });
    return out;
  };
  const labelsOf = (indices: Uint32Array) => Uint8Array.from(indices, (i) => y[i] ?? 0);
  const model = fitGradientBoostedTrees(rowsOf(holdout.train), labelsOf(holdout.train), width, params, {
    x: rowsOf(holdout.test),
    y: labelsOf(holdout.test),
  });
  return {
    predict: (rows) => predictGbdtProbabilities(model, rows, width),
    export: (opts) => exportGradientBoostedTrees(model, opts),
  };
}
