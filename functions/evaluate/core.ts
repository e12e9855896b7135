// Pipeline step Evaluate: scores the held-out test set with the trained ONNX artifact through
// onnxruntime (the serving path, not the trainer's own arithmetic), computes metrics overall and
// per subgroup with calibration, applies the registration gates, and writes metrics.json and
// the drift reference profile.json (input fields from Preprocess plus the score distribution).

import type { TestSetFile } from '../build-test-set/core.ts';
import { profilePredictions } from '../lib/drift/profile.ts';
import { checkQualityGates, evaluateClassifier } from '../lib/evaluation/classifier-evaluation.ts';
import type { StepPorts } from '../lib/runs/pipeline-step.ts';
import { runFiles } from '../lib/runs/run-files.ts';
import { type EvaluationResult, stepResult, TestSetResult, TrainResult } from '../lib/runs/step-results.ts';
import type { PipelineState } from '../lib/runs/training-run.ts';
import { readJson, writeJson } from '../lib/storage/object-store.ts';

/** A model as Evaluate uses it: the decision threshold it carries and its scores. */
export interface LoadedScorer {
  readonly threshold: number;
  score(features: Float32Array, rows: number): Promise<Float32Array>;
}

export interface EvaluatePorts extends Pick<StepPorts, 'artifacts'> {
  /** Load the artifact at `uri`, checking it against `sha256`, as serving would. */
  loadModel(artifact: { uri: string; sha256: string; model: string }): Promise<LoadedScorer>;
}

export async function evaluate(state: PipelineState, ports: EvaluatePorts): Promise<EvaluationResult> {
  const training = state.training as { model?: unknown; testSet?: unknown } | undefined;
  const model = stepResult(TrainResult, training?.model, 'training result');
  stepResult(TestSetResult, training?.testSet, 'test set');
  const files = runFiles(state.runId);
  const testSet = await readJson<TestSetFile>(ports.artifacts, files.testSet);
  const bytes = await ports.artifacts.read(testSet.featuresKey);
  const features = new Float32Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  );
  if (features.length !== testSet.rows * testSet.featureNames.length)
    throw new Error(
      `${testSet.featuresKey} holds ${features.length} values, expected ${testSet.rows} × ${testSet.featureNames.length}`,
    );

  const scorer = await ports.loadModel({
    uri: model.modelUri,
    sha256: model.modelSha256,
    model: state.model,
  });
  const scores = await scorer.score(features, testSet.rows);
  const evaluation = evaluateClassifier({
    scores,
    labels: testSet.labels,
    threshold: scorer.threshold,
    subgroups: { column: testSet.subgroupColumn, values: testSet.subgroups },
  });
  const gates = checkQualityGates(evaluation, state.gates);
  const trainSummary = await readJson<{ train: unknown }>(ports.artifacts, files.training).catch(
    () => undefined,
  );
  const metrics = {
    test: evaluation.overall,
    train: trainSummary?.train ?? null,
    subgroups: evaluation.subgroups ?? null,
    gates,
  };
  const output = await writeJson(ports.artifacts, files.metrics, metrics);
  const inputProfile = await readJson<Record<string, unknown>>(ports.artifacts, files.inputProfile);
  await writeJson(ports.artifacts, files.profile, {
    ...inputProfile,
    prediction: profilePredictions(scores),
  });
  return {
    auc: finiteOrNull(evaluation.overall.auc),
    logLoss: finiteOrNull(evaluation.overall.logLoss),
    gates: { passed: gates.passed, failures: gates.checks.filter((c) => !c.passed).map((c) => c.message) },
    output,
  };
}

const finiteOrNull = (value: number | null | undefined) =>
  typeof value === 'number' && Number.isFinite(value) ? value : null;
