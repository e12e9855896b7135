// Writes a fitted gradient-boosted tree ensemble as an ONNX model with the same graph contract as
// the logistic-regression export, so serving runs either without knowing which it loaded.
import onnxProto from 'onnx-proto';
import { type GbdtModel, type GbdtTree, isLeaf } from '../training/gbdt.ts';
import {
  type ClassifierExportOptions,
  encodeClassifierModel,
  ML_DOMAIN,
  ONNX_GRAPH_NAMES,
  utf8,
} from './classifier-model.ts';

const { AttributeType } = onnxProto.onnx.AttributeProto;

/** Options of the tree-ensemble export (the shared classifier ones). */
export type ExportGradientBoostedTreesOptions = ClassifierExportOptions;

function checkModel(model: GbdtModel, width: number): void {
  if (model.nFeatures !== width) {
    throw new RangeError(`model has ${model.nFeatures} features but there are ${width} feature names`);
  }
  if (!Number.isFinite(model.baseScore)) throw new RangeError(`model.baseScore is ${model.baseScore}`);
  model.trees.forEach((tree, t) => {
    if (tree.length === 0) throw new RangeError(`tree ${t} has no nodes`);
    tree.forEach((node, k) => {
      const where = `tree ${t} node ${k}`;
      if (isLeaf(node)) {
        if (!Number.isFinite(node.value)) throw new RangeError(`${where} has leaf value ${node.value}`);
        return;
      }
      if (!(Number.isInteger(node.feature) && node.feature >= 0 && node.feature < width)) {
        throw new RangeError(`${where} splits on feature ${node.feature}, outside 0…${width - 1}`);
      }
      // ONNX stores thresholds as float32: any other value would split differently when served.
      if (!(Number.isFinite(node.threshold) && Math.fround(node.threshold) === node.threshold)) {
        throw new RangeError(`${where} has threshold ${node.threshold}, not a finite float32`);
      }
      for (const child of [node.left, node.right]) {
        if (!(Number.isInteger(child) && child > k && child < tree.length)) {
          throw new RangeError(`${where} points to child ${child}, not a later node of the tree`);
        }
      }
    });
  });
}

/** The flat, per-node attribute lists TreeEnsembleClassifier takes, over all trees. */
function flattenTrees(trees: readonly GbdtTree[]) {
  const nodes = {
    treeIds: [] as number[],
    nodeIds: [] as number[],
    featureIds: [] as number[],
    modes: [] as Uint8Array[],
    values: [] as number[],
    trueNodeIds: [] as number[],
    falseNodeIds: [] as number[],
  };
  const leaves = { treeIds: [] as number[], nodeIds: [] as number[], weights: [] as number[] };
  // onnxruntime labels a binary ensemble whose weights are all ≥ 0 by comparing the raw score with
  // 0.5 (as if it were a probability) rather than with 0. A one-leaf tree of weight −2⁻⁴⁰ avoids
  // that case; it also gives a model early stopping cut to zero trees the tree ONNX requires.
  // It shifts the log-odds by 1e-12, far below float32 resolution of the sum.
  const hasNegativeWeight = trees.some((tree) => tree.some((node) => isLeaf(node) && node.value < 0));
  const all: readonly GbdtTree[] = hasNegativeWeight ? trees : [...trees, [{ value: -(2 ** -40) }]];
  all.forEach((tree, t) => {
    tree.forEach((node, k) => {
      nodes.treeIds.push(t);
      nodes.nodeIds.push(k);
      if (isLeaf(node)) {
        nodes.featureIds.push(0);
        nodes.modes.push(utf8('LEAF'));
        nodes.values.push(0);
        nodes.trueNodeIds.push(0);
        nodes.falseNodeIds.push(0);
        leaves.treeIds.push(t);
        leaves.nodeIds.push(k);
        leaves.weights.push(node.value);
      } else {
        nodes.featureIds.push(node.feature);
        nodes.modes.push(utf8('BRANCH_LEQ'));
        nodes.values.push(node.threshold);
        nodes.trueNodeIds.push(node.left);
        nodes.falseNodeIds.push(node.right);
      }
    });
  });
  return { nodes, leaves };
}

/**
 * Serialise `model` as ONNX: one ai.onnx.ml `TreeEnsembleClassifier`. Every leaf weight goes to
 * class id 0 with `base_values = [baseScore]` and post_transform LOGISTIC: for two class labels
 * and one weighted class, onnxruntime treats the sum s as the positive class's score and returns
 * [1 − σ(s), σ(s)] (the sklearn-onnx convention; weights on class id 1 give [0.5, σ(s)] instead).
 * Splits are BRANCH_LEQ, `x ≤ threshold` to the left child, as in the trainer; NaN goes right.
 * Deterministic: the same model and options give identical bytes.
 */
export function exportGradientBoostedTrees(
  model: GbdtModel,
  opts: ExportGradientBoostedTreesOptions,
): Uint8Array {
  const width = opts.featureNames.length;
  checkModel(model, width);
  const { nodes, leaves } = flattenTrees(model.trees);
  return encodeClassifierModel(
    'gradient_boosted_trees',
    [
      {
        name: 'classify',
        opType: 'TreeEnsembleClassifier',
        domain: ML_DOMAIN,
        input: [ONNX_GRAPH_NAMES.input],
        output: [ONNX_GRAPH_NAMES.label, ONNX_GRAPH_NAMES.probabilities],
        attribute: [
          { name: 'nodes_treeids', type: AttributeType.INTS, ints: nodes.treeIds },
          { name: 'nodes_nodeids', type: AttributeType.INTS, ints: nodes.nodeIds },
          { name: 'nodes_featureids', type: AttributeType.INTS, ints: nodes.featureIds },
          { name: 'nodes_modes', type: AttributeType.STRINGS, strings: nodes.modes },
          { name: 'nodes_values', type: AttributeType.FLOATS, floats: nodes.values },
          { name: 'nodes_truenodeids', type: AttributeType.INTS, ints: nodes.trueNodeIds },
          { name: 'nodes_falsenodeids', type: AttributeType.INTS, ints: nodes.falseNodeIds },
          { name: 'class_treeids', type: AttributeType.INTS, ints: leaves.treeIds },
          { name: 'class_nodeids', type: AttributeType.INTS, ints: leaves.nodeIds },
          { name: 'class_ids', type: AttributeType.INTS, ints: leaves.treeIds.map(() => 0) },
          { name: 'class_weights', type: AttributeType.FLOATS, floats: leaves.weights },
          { name: 'classlabels_int64s', type: AttributeType.INTS, ints: [0, 1] },
          { name: 'base_values', type: AttributeType.FLOATS, floats: [model.baseScore] },
          { name: 'post_transform', type: AttributeType.STRING, s: utf8('LOGISTIC') },
        ],
      },
    ],
    opts,
  );
}
