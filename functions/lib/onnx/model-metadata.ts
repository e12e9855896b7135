// Reads the metadata an ONNX artifact carries about itself: how serving rebuilds its input.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** Metadata keys written by training and read by serving; together they make an artifact self-describing. */
export const MODEL_METADATA_KEYS = Object.freeze({
  /** Name of the FeatureSet the model was trained with, e.g. `flights-v1`. */
  featureSet: 'mlops.featureSet',
  /** JSON of the encoding that FeatureSet fitted on the training split. */
  encoding: 'mlops.encoding',
  /** JSON array of the input column names, in order. */
  featureNames: 'mlops.featureNames',
  /** Decimal score at or above which a prediction is labelled positive. */
  threshold: 'mlops.threshold',
  /** Registry name of the model the artifact was trained for. */
  modelName: 'mlops.modelName',
});

/** Decode an ONNX ModelProto and return its `metadata_props` as a plain object. */
export function readModelMetadata(bytes: Uint8Array): Record<string, string> {
  const model = onnx.ModelProto.decode(bytes);
  // Protobuf decodes many byte strings without complaint; a model without a graph is not an ONNX model.
  if (!model.graph) throw new Error('not an ONNX model: it has no graph');
  return Object.fromEntries(model.metadataProps.map(({ key, value }) => [key, value]));
}
