// Evaluate on the real flights-20k test split, scoring the trained artifact through onnxruntime
// (the serving loader): overall metrics with calibration, per-subgroup metrics, the gates, the
// drift profile; and the tree trainer beating logistic regression through the same steps.
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from '../../../../functions/evaluate/core.ts';
import { ModelUnavailable } from '../../../../functions/lib/errors.ts';
import { runFiles } from '../../../../functions/lib/runs/run-files.ts';
import { EvaluationResult, type TestSetResult } from '../../../../functions/lib/runs/step-results.ts';
import {
  keysWrittenBy,
  onnxLoadModel,
  type RunResults,
  runThrough,
  snapshot,
  startRun,
  type TestRun,
} from '../../../support/training-run.ts';

interface Metrics {
  test: {
    rows: number;
    auc: number;
    logLoss: number;
    calibration: Array<{ lower: number; upper: number; rows: number; meanScore: number | null }>;
    expectedCalibrationError: number;
  };
  train: { auc: number } | null;
  subgroups: {
    column: string;
    groups: Array<{ value: string; rows: number; positives: number; metrics: { auc: number | null } }>;
  };
  gates: {
    passed: boolean;
    checks: Array<{ gate: string; subject: string; passed: boolean; message: string }>;
    skipped: unknown[];
  };
}

let logreg: TestRun;
let logregResults: RunResults;
let result: EvaluationResult;
let written: string[];
let gbdtResults: RunResults;

const evaluatePorts = (r: TestRun) => ({ artifacts: r.artifacts, loadModel: onnxLoadModel(r.artifacts) });
const jsonAt = <T>(r: TestRun, key: string) =>
  JSON.parse(Buffer.from(r.artifacts.objects.get(key)?.body ?? []).toString('utf8')) as T;
const metrics = () => jsonAt<Metrics>(logreg, 'runs/eval/evaluate/metrics.json');

beforeAll(async () => {
  logreg = startRun({ runId: 'eval' });
  logregResults = await runThrough(logreg, 'train');
  written = await keysWrittenBy(logreg.artifacts, async () => {
    result = await evaluate(logreg.state, evaluatePorts(logreg));
  });
  // The same data, split and seed, through the same steps, with the tree trainer's defaults.
  gbdtResults = await runThrough(startRun({ runId: 'eval-gbdt', trainer: 'gbdt' }), 'evaluate');
});

describe('evaluate', () => {
  it('writes metrics.json and profile.json under runs/{runId}/evaluate/ and returns the evaluation', () => {
    expect([...written].sort()).toEqual([
      'runs/eval/evaluate/metrics.json',
      'runs/eval/evaluate/profile.json',
    ]);
    expect(result).toEqual(EvaluationResult.parse(result));
    expect(result).toEqual({
      auc: metrics().test.auc,
      logLoss: metrics().test.logLoss,
      gates: { passed: true, failures: [] },
      output: 's3://artifacts/runs/eval/evaluate/metrics.json',
    });
  });

  it('scores the held-out flights at an AUC of about 0.65 with logistic regression', () => {
    expect(result.auc).toBeGreaterThan(0.62);
    expect(result.auc).toBeLessThan(0.68);
    expect(metrics().test.rows).toBe((logregResults.testSet as TestSetResult).rows);
    expect(metrics().train?.auc).toBeGreaterThan(0.6);
  });

  it('reports calibration in ten equal-width score bins covering every test row', () => {
    // Act
    const { calibration, expectedCalibrationError, rows } = metrics().test;

    // Assess
    expect(calibration.map((b) => [b.lower, b.upper])).toEqual(
      Array.from({ length: 10 }, (_, i) => [expect.closeTo(i / 10, 9), expect.closeTo((i + 1) / 10, 9)]),
    );
    expect(calibration.reduce((sum, b) => sum + b.rows, 0)).toBe(rows);
    expect(expectedCalibrationError).toBeGreaterThanOrEqual(0);
    expect(expectedCalibrationError).toBeLessThan(0.1);
  });

  it('reports metrics for each origin region, the default subgroup column', () => {
    // Act
    const { subgroups, test } = metrics();

    // Assess
    expect(subgroups.column).toBe('origin_region');
    expect(subgroups.groups.map((g) => g.value)).toEqual(['midwest', 'northeast', 'other', 'south', 'west']);
    expect(subgroups.groups.reduce((sum, g) => sum + g.rows, 0)).toBe(test.rows);
    for (const group of subgroups.groups) {
      expect(group.positives, group.value).toBeGreaterThan(0);
      expect(group.metrics.auc, group.value).toBeGreaterThan(0.5);
    }
  });

  it('applies the default gates: overall AUC and each region within 0.1 of it', () => {
    // Act
    const { gates } = metrics();

    // Assess
    expect(gates.passed).toBe(true);
    expect(gates.checks.map((c) => [c.gate, c.subject])).toEqual([
      ['min-auc', 'overall'],
      ['subgroup-auc-gap', 'origin_region=midwest'],
      ['subgroup-auc-gap', 'origin_region=northeast'],
      ['subgroup-auc-gap', 'origin_region=other'],
      ['subgroup-auc-gap', 'origin_region=south'],
      ['subgroup-auc-gap', 'origin_region=west'],
    ]);
  });

  it('profiles the train-side inputs and the test scores as the drift reference', () => {
    // Act
    const profile = jsonAt<Record<string, unknown>>(logreg, 'runs/eval/evaluate/profile.json');
    const inputs = jsonAt<Record<string, unknown>>(logreg, runFiles('eval').inputProfile);

    // Assess
    expect(profile).toEqual({ ...inputs, prediction: expect.objectContaining({ kind: 'numeric' }) });
  });

  it('writes byte-identical files when it runs again', async () => {
    // Prepare
    const first = snapshot(logreg.artifacts, 'runs/eval/evaluate/');

    // Act
    const again = await evaluate(logreg.state, evaluatePorts(logreg));

    // Assess
    expect(again).toEqual(result);
    expect(snapshot(logreg.artifacts, 'runs/eval/evaluate/')).toEqual(first);
  });

  it('fails the gates the model does not meet and lists every failure', async () => {
    // Prepare
    const strict = { ...logreg.state, gates: { minAuc: 0.9, maxSubgroupAucGap: 0, minSubgroupRows: 200 } };

    // Act
    const gated = await evaluate(strict, evaluatePorts(logreg));
    const stored = metrics();
    await evaluate(logreg.state, evaluatePorts(logreg)); // the run's own metrics back for the other tests

    // Assess
    expect(gated.gates.passed).toBe(false);
    expect(gated.gates.failures[0]).toMatch(/^overall: AUC 0\.6\d\d is below the minimum 0\.900$/);
    // A zero gap fails every region doing worse than overall.
    expect(gated.gates.failures.length).toBeGreaterThan(1);
    expect(gated.gates.failures.slice(1).every((f) => f.startsWith('subgroup origin_region='))).toBe(true);
    expect(stored.gates.passed).toBe(false);
  });

  it('fails with ModelUnavailable when the artifact is not the one the train step hashed', async () => {
    // Prepare
    const training = logreg.state.training as { model: object; testSet: object };
    const tampered = {
      ...logreg.state,
      training: { ...training, model: { ...training.model, modelSha256: '0'.repeat(64) } },
    };

    // Act, Assess
    await expect(evaluate(tampered, evaluatePorts(logreg))).rejects.toBeInstanceOf(ModelUnavailable);
  });

  it('ranks held-out flights better with gradient-boosted trees than with logistic regression', () => {
    // Prepare
    const trees = gbdtResults.evaluation?.auc ?? 0;
    const linear = result.auc ?? 1;

    // Assess
    expect(gbdtResults.model?.trainer).toBe('gbdt');
    expect(gbdtResults.testSet?.rows).toBe(logregResults.testSet?.rows);
    expect(trees).toBeGreaterThan(linear);
    expect(gbdtResults.evaluation?.gates.passed).toBe(true);
  });
});
