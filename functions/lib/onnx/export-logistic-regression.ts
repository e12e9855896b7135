// Writes a fitted logistic regression as an ONNX model, the artifact serving runs in onnxruntime.
import onnxProto from 'onnx-proto';
import type { LogisticRegressionModel } from '../training/logistic-regression.ts';
import {
  type ClassifierExportOptions,
  encodeClassifierModel,
  ML_DOMAIN,
  ONNX_GRAPH_NAMES,
  utf8,
} from './classifier-model.ts';

const { AttributeType } = onnxProto.onnx.AttributeProto;

export { ONNX_GRAPH_NAMES } from './classifier-model.ts';

/** Options of the logistic-regression export (the shared classifier ones). */
export type ExportLogisticRegressionOptions = ClassifierExportOptions;

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
  return encodeClassifierModel(
    'logistic_regression',
    [
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
    opts,
  );
}
