// The pure training use case: split, fit features and model on the train side, evaluate on the
// test side, and export a self-describing ONNX artifact. No I/O: callers bring rows, take bytes.
import { InvalidRequest } from '../errors.ts';
import type { FeatureSet } from '../features/feature-set.ts';
import { exportLogisticRegression } from '../onnx/export-logistic-regression.ts';
import { MODEL_METADATA_KEYS } from '../onnx/model-metadata.ts';
import {
  fitLogisticRegression,
  type LogisticRegressionParams,
  predictProbabilities,
  resolveLogisticRegressionParams,
} from './logistic-regression.ts';
import { type BinaryMetrics, evaluateBinary } from './metrics.ts';
import { splitTrainTest } from './split.ts';

/** Scores at or above this are labelled positive, both in the metrics and (via metadata) at serving. */
const DECISION_THRESHOLD = 0.5;

export interface TrainClassifierInput<I, E> {
  /** Instances that already passed `featureSet.instanceSchema`. */
  readonly rows: readonly I[];
  /** 0/1 label of each row. */
  readonly labels: Uint8Array;
  readonly featureSet: FeatureSet<I, E>;
  readonly params?: Partial<LogisticRegressionParams>;
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
  /** Parameters actually used, defaults included. */
  params: LogisticRegressionParams;
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
  const params = resolveLogisticRegressionParams(input.params);
  const split = splitTrainTest(rows.length, { seed });
  const train = pick(rows, labels, split.train);
  const test = pick(rows, labels, split.test);
  const positives = train.labels.reduce((sum, label) => sum + label, 0);
  if (positives === 0 || positives === train.labels.length) {
    throw new InvalidRequest(
      `the training split has ${positives} positive rows of ${train.labels.length}; both classes are needed`,
    );
  }

  const encoding = featureSet.fit(train.rows);
  const featureNames = featureSet.featureNames(encoding);
  const width = featureNames.length;
  const xTrain = featureSet.encode(train.rows, encoding);
  const model = fitLogisticRegression(xTrain, train.labels, width, params);

  const modelBytes = exportLogisticRegression(model, {
    featureNames,
    metadata: {
      [MODEL_METADATA_KEYS.featureSet]: featureSet.name,
      [MODEL_METADATA_KEYS.encoding]: JSON.stringify(encoding),
      [MODEL_METADATA_KEYS.featureNames]: JSON.stringify(featureNames),
      [MODEL_METADATA_KEYS.threshold]: String(DECISION_THRESHOLD),
      [MODEL_METADATA_KEYS.modelName]: input.modelName,
    },
  });
  return {
    modelBytes,
    featureSet: featureSet.name,
    encoding,
    featureNames,
    params,
    metrics: {
      train: evaluateBinary(predictProbabilities(model, xTrain, width), train.labels, DECISION_THRESHOLD),
      test: evaluateBinary(
        predictProbabilities(model, featureSet.encode(test.rows, encoding), width),
        test.labels,
        DECISION_THRESHOLD,
      ),
    },
  };
}
