// The ONNX graph contract every exported binary classifier shares (input `features`, outputs
// `label` and `probabilities`) and the model wrapper around it: IR and opset versions, sorted
// metadata, deterministic bytes. Exporters only supply their ai.onnx.ml nodes.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
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

/** What every classifier export takes besides its model. */
export interface ClassifierExportOptions {
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
/** The ai.onnx.ml operators used (Scaler, LinearClassifier, TreeEnsembleClassifier) are version 1. */
const OPSET_AI_ONNX_ML = 1;
export const ML_DOMAIN = 'ai.onnx.ml';

/** Strings in ONNX attributes are bytes. */
export const utf8 = (text: string) => new TextEncoder().encode(text);

const tensor = (name: string, elemType: number, dims: ReadonlyArray<number | string>) => ({
  name,
  type: {
    tensorType: {
      elemType,
      shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
    },
  },
});

/** Wrap `nodes` (reading `features`, writing `label` and `probabilities`) into model bytes. */
export function encodeClassifierModel(
  graphName: string,
  nodes: ReadonlyArray<Record<string, unknown>>,
  opts: ClassifierExportOptions,
): Uint8Array {
  const width = opts.featureNames.length;
  const graph = onnx.GraphProto.create({
    name: graphName,
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
    node: [...nodes],
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
