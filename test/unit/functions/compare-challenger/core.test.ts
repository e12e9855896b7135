// CompareChallenger with real flights-v1 ONNX artifacts loaded by the serving loader: both models
// score the same holdout rows, the better one by the margin is promoted, the worse one keeps the
// champion; comparison.json records both models, every gate and the decision, and the revision the
// decision was made at is handed on for the compare-and-set.
import { describe, expect, it } from 'vitest';
import { type ComparePorts, compareChallenger } from '../../../../functions/compare-challenger/core.ts';
import { ModelNotFound } from '../../../../functions/lib/errors.ts';
import type { ModelSummary, ModelVersion } from '../../../../functions/lib/registry/model-version.ts';
import { createOnnxModelLoader } from '../../../../functions/lib/serving/onnx-model-loader.ts';
import { toJsonLines } from '../../../../functions/lib/training/dataset-file.ts';
import { memoryObjectStore } from '../../../support/memory-object-store.ts';
import { flightRows, trainFlightModel } from '../../../support/trained-model.ts';

const EXECUTION = 'flight-delay-drift-20261127T070000Z';
const HOLDOUT_KEY = `retraining/${EXECUTION}/holdout.jsonl`;
const POLICY = {
  minAucGain: 0.005,
  maxSubgroupAucLoss: 0.02,
  minSubgroupRows: 200,
  lookbackDays: 7,
  minLabelledRows: 2_000,
  holdoutShare: 0.3,
};

/** A registry holding `versions` (by their trained size) with `production` as the champion. */
function setup(opts: { versions: Record<number, number>; production?: number; stageRevision?: number }) {
  const artifacts = memoryObjectStore('artifacts');
  const registered = new Map<number, ModelVersion>();
  for (const [version, rows] of Object.entries(opts.versions)) {
    const trained = trainFlightModel(rows);
    const key = `models/flight-delay/${version}/model.onnx`;
    artifacts.objects.set(key, { body: trained.bytes, contentType: 'application/octet-stream' });
    registered.set(Number(version), {
      model: 'flight-delay',
      version: Number(version),
      stage: Number(version) === opts.production ? 'Production' : 'Staging',
      artifactUri: `s3://artifacts/${key}`,
      artifactSha256: trained.sha256,
      featureSet: 'flights-v1',
      trainingRunId: `run-${version}`,
      datasetUri: 's3://data/datasets/x.json',
      datasetSha256: 'd'.repeat(64),
      params: { trainer: 'logreg' },
      metrics: {},
      createdAt: '2026-11-01T00:00:00.000Z',
      createdBy: 'test',
    });
  }
  const summary: ModelSummary = {
    model: 'flight-delay',
    latestVersion: Math.max(...registered.keys()),
    stageRevision: opts.stageRevision ?? 0,
    ...(opts.production === undefined ? {} : { productionVersion: opts.production }),
  };
  const ports: ComparePorts = {
    registry: {
      getModel: async (model) => (model === 'flight-delay' ? summary : undefined),
      getVersion: async (_model, version) => registered.get(version),
    },
    loadModel: createOnnxModelLoader(artifacts.fetch, { intraOpThreads: 2 }),
    artifacts,
    log: () => undefined,
  };
  return { artifacts, ports };
}

/** Flights 14,000-19,999 (never trained on) as the holdout, plus `extra` rows. */
function putHoldout(artifacts: ReturnType<typeof memoryObjectStore>, extra: unknown[] = []) {
  const rows = [...flightRows(6_000, 14_000), ...extra];
  artifacts.objects.set(HOLDOUT_KEY, { body: new TextEncoder().encode(toJsonLines(rows)), contentType: 'x' });
}

const input = (challengerVersion: number) => ({
  model: 'flight-delay',
  executionName: EXECUTION,
  featureSet: 'flights-v1',
  holdoutUri: `s3://artifacts/${HOLDOUT_KEY}`,
  policy: POLICY,
  challengerVersion,
});

const comparisonJson = (artifacts: ReturnType<typeof memoryObjectStore>) =>
  JSON.parse(
    Buffer.from(artifacts.objects.get(`retraining/${EXECUTION}/comparison.json`)?.body ?? []).toString(
      'utf8',
    ),
  );

describe('compareChallenger', () => {
  it('promotes a challenger trained on more data, and hands on the revision it compared at', async () => {
    const { artifacts, ports } = setup({ versions: { 3: 400, 5: 12_000 }, production: 3, stageRevision: 4 });
    putHoldout(artifacts);

    const result = await compareChallenger(input(5), ports);

    expect(result).toMatchObject({
      decision: 'promote',
      champion: { version: 3 },
      challenger: { version: 5 },
      stageRevision: 4,
      holdoutRows: 6_000,
      output: `s3://artifacts/retraining/${EXECUTION}/comparison.json`,
    });
    expect(result.aucGain).toBeGreaterThan(0.005);
    expect(result.aucGain).toBeCloseTo((result.challenger.auc ?? 0) - (result.champion?.auc ?? 0), 12);
    expect(result.reasons[0]).toMatch(/^challenger v5 vs champion v3: holdout AUC/);
  });

  it('keeps the champion against a challenger trained on less data, saying why', async () => {
    const { artifacts, ports } = setup({ versions: { 3: 12_000, 5: 400 }, production: 3 });
    putHoldout(artifacts);

    const result = await compareChallenger(input(5), ports);

    expect(result.decision).toBe('keep');
    expect(result.aucGain).toBeLessThan(0);
    expect(result.reasons).toContainEqual(expect.stringMatching(/less than the \+0\.005 required$/));
  });

  it('records both models, every subgroup gate with its values and limits, and the decision in comparison.json', async () => {
    const { artifacts, ports } = setup({ versions: { 3: 400, 5: 12_000 }, production: 3, stageRevision: 4 });
    putHoldout(artifacts, [
      { date: '2001/03/01 10:00', distance: -3, origin: 'SFO', destination: 'LAX', delay: 0 },
    ]);

    const result = await compareChallenger(input(5), ports);
    const report = comparisonJson(artifacts);

    expect(report).toMatchObject({
      model: 'flight-delay',
      executionName: EXECUTION,
      holdout: { uri: `s3://artifacts/${HOLDOUT_KEY}`, rows: 6_000, rejectedRows: 1 },
      policy: POLICY,
      stageRevision: 4,
      champion: { version: 3, stage: 'Production', trainingRunId: 'run-3', threshold: 0.5 },
      challenger: { version: 5, stage: 'Staging', trainingRunId: 'run-5' },
      decision: result.decision,
      reasons: result.reasons,
    });
    expect(report.challenger.subgroups.map((b: { column: string }) => b.column)).toEqual([
      'origin_region',
      'distance_band',
      'day_part',
    ]);
    const gated = report.gates.filter((g: { gate: string }) => g.gate === 'subgroup-auc-loss');
    expect(gated.length).toBeGreaterThan(3);
    for (const gate of gated) {
      expect(gate.limit).toBe(0.02);
      expect(gate.difference).toBeCloseTo(gate.challenger - gate.champion, 12);
    }
    expect(report.gates.length + report.skipped.length).toBe(
      1 + report.challenger.subgroups.reduce((n: number, b: { groups: unknown[] }) => n + b.groups.length, 0),
    );
  });

  it('gates only the subgroup columns the policy names', async () => {
    const { artifacts, ports } = setup({ versions: { 3: 400, 5: 12_000 }, production: 3 });
    putHoldout(artifacts);

    await compareChallenger(
      { ...input(5), policy: { ...POLICY, subgroupColumns: ['distance_band'] } },
      ports,
    );

    const report = comparisonJson(artifacts);
    expect(report.challenger.subgroups.map((b: { column: string }) => b.column)).toEqual(['distance_band']);
    expect(report.gates.map((g: { subject: string }) => g.subject)).toEqual([
      'overall',
      'distance_band=long (1500+ mi)',
      'distance_band=medium (500-1500 mi)',
      'distance_band=short (<500 mi)',
    ]);
  });

  it('keeps the challenger in Staging when there is no champion to compare against', async () => {
    const { artifacts, ports } = setup({ versions: { 1: 12_000 } });
    putHoldout(artifacts);

    const result = await compareChallenger(input(1), ports);

    expect(result).toMatchObject({ decision: 'keep', champion: null, aucGain: null, stageRevision: 0 });
    expect(result.challenger.auc).toBeGreaterThan(0.6);
    expect(result.reasons).toEqual([expect.stringContaining('has no Production version to compare against')]);
  });

  it('fails naming a challenger version the registry does not hold', async () => {
    const { artifacts, ports } = setup({ versions: { 3: 400 }, production: 3 });
    putHoldout(artifacts);

    await expect(compareChallenger(input(9), ports)).rejects.toThrow(ModelNotFound);
    await expect(compareChallenger(input(9), ports)).rejects.toThrow(
      'model flight-delay has no version 9 (the challenger)',
    );
  });

  it('refuses a holdout outside the artifacts bucket', async () => {
    const { ports } = setup({ versions: { 3: 400 }, production: 3 });

    await expect(
      compareChallenger({ ...input(3), holdoutUri: 's3://elsewhere/h.jsonl' }, ports),
    ).rejects.toThrow(/not in the artifacts bucket artifacts/);
  });
});
