// Writes a fitted logistic regression as an ONNX model, the artifact serving runs in onnxruntime.
import onnxProto from 'onnx-proto';
import type { LogisticRegressionModel } from '../training/logistic-regression.ts';

const { onnx } = onnxProto;
const { AttributeType } = onnx.AttributeProto;
const { DataType } = onnx.TensorProto;

/** Names in the graph contract that serving code depends on. */
export const ONNX_GRAPH_NAMES = Object.freeze({
  /** float32 [N, F]: encoded features, row-major, columns as `featureNames`. */
  input: 'features',
  /** int64 [N]: 1 when P(positive) > 0.5. */
  label: 'label',
  /** float32 [N, 2]: column 0 = P(negative), column 1 = P(positive). */
  probabilities: 'probabilities',
});

export interface ExportLogisticRegressionOptions {
  /** One name per model input column; documents the input and guards against a width mismatch. */
  readonly featureNames: readonly string[];
  /** Stored as the model's `metadata_props` (keys sorted, so the bytes are deterministic). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** @default 'mlops-serverless' */
  readonly producerName?: string;
}

/** IR version 8 and opset 15 are the newest onnx-proto (ONNX 1.10) describes; onnxruntime reads them. */
const IR_VERSION = 8;
const OPSET_AI_ONNX = 15;
/** Scaler and LinearClassifier are unchanged since version 1 of the ai.onnx.ml domain. */
const OPSET_AI_ONNX_ML = 1;
const ML_DOMAIN = 'ai.onnx.ml';

const utf8 = (text: string) => new TextEncoder().encode(text);

const tensor = (name: string, elemType: number, dims: ReadonlyArray<number | string>) => ({
  name,
  type: {
    tensorType: {
      elemType,
      shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
    },
  },
});

function checkModel(model: LogisticRegressionModel, width: number): void {
  for (const field of ['mean', 'scale', 'weights'] as const) {
    if (model[field].length !== width) {
      throw new RangeError(
        `model.${field} has ${model[field].length} values but there are ${width} feature names`,
      );
    }
    if (!model[field].every(Number.isFinite)) throw new RangeError(`model.${field} holds non-finite values`);
  }
  if (!model.scale.every((s) => s > 0)) throw new RangeError('model.scale must be positive');
  if (!Number.isFinite(model.intercept)) throw new RangeError(`model.intercept is ${model.intercept}`);
}

/**
 * Serialise `model` as ONNX: ai.onnx.ml `Scaler` ((x − mean) · 1/scale) feeding a one-row
 * `LinearClassifier` with post_transform LOGISTIC. For a single coefficient row onnxruntime
 * returns [1 − σ(z), σ(z)] as probabilities and labels 1 when z > 0, which is exactly the
 * model's own formula. Deterministic: the same model and options give identical bytes.
 */
export function exportLogisticRegression(
  model: LogisticRegressionModel,
  opts: ExportLogisticRegressionOptions,
): Uint8Array {
  const width = opts.featureNames.length;
  checkModel(model, width);
  const graph = onnx.GraphProto.create({
    name: 'logistic_regression',
    input: [
      {
        ...tensor(ONNX_GRAPH_NAMES.input, DataType.FLOAT, ['N', width]),
        docString: `Encoded features, columns: ${opts.featureNames.join(', ')}`,
      },
    ],
    output: [
      tensor(ONNX_GRAPH_NAMES.label, DataType.INT64, ['N']),
      tensor(ONNX_GRAPH_NAMES.probabilities, DataType.FLOAT, ['N', 2]),
    ],
    node: [
      {
        name: 'standardise',
        opType: 'Scaler',
        domain: ML_DOMAIN,
        input: [ONNX_GRAPH_NAMES.input],
        output: ['standardised'],
        attribute: [
          { name: 'offset', type: AttributeType.FLOATS, floats: [...model.mean] },
          { name: 'scale', type: AttributeType.FLOATS, floats: model.scale.map((s) => 1 / s) },
        ],
      },
      {
        name: 'classify',
        opType: 'LinearClassifier',
        domain: ML_DOMAIN,
        input: ['standardised'],
        output: [ONNX_GRAPH_NAMES.label, ONNX_GRAPH_NAMES.probabilities],
        attribute: [
          { name: 'coefficients', type: AttributeType.FLOATS, floats: [...model.weights] },
          { name: 'intercepts', type: AttributeType.FLOATS, floats: [model.intercept] },
          { name: 'classlabels_ints', type: AttributeType.INTS, ints: [0, 1] },
          { name: 'multi_class', type: AttributeType.INT, i: 0 },
          { name: 'post_transform', type: AttributeType.STRING, s: utf8('LOGISTIC') },
        ],
      },
    ],
  });
  const metadata = Object.entries(opts.metadata ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const proto = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [
      { domain: '', version: OPSET_AI_ONNX },
      { domain: ML_DOMAIN, version: OPSET_AI_ONNX_ML },
    ],
    producerName: opts.producerName ?? 'mlops-serverless',
    graph,
    metadataProps: metadata.map(([key, value]) => ({ key, value })),
  });
  // A copy: protobufjs may hand out a slice of Node's shared buffer pool.
  return new Uint8Array(onnx.ModelProto.encode(proto).finish());
}
