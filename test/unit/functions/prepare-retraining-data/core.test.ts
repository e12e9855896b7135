// PrepareRetrainingData on flights-20k rows dropped as ground truth: reads only the lookback's
// partitions, counts what it leaves out, refuses a window with too little labelled data by name,
// writes the challenger's dataset and the holdout at keys of the execution (byte-identical when run
// again), and builds the challenger's training run from the champion's recipe.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InvalidRequest, ModelNotFound } from '../../../../functions/lib/errors.ts';
import type { ModelVersion } from '../../../../functions/lib/registry/model-version.ts';
import { InsufficientLabelledData } from '../../../../functions/lib/retraining/ground-truth.ts';
import { TrainingRunInput } from '../../../../functions/lib/runs/training-run.ts';
import { parseDataset } from '../../../../functions/lib/training/dataset-file.ts';
import {
  type PreparePorts,
  prepareRetrainingData,
} from '../../../../functions/prepare-retraining-data/core.ts';
import { type MemoryObjectStore, memoryObjectStore } from '../../../support/memory-object-store.ts';
import { flightsRawRows, snapshot } from '../../../support/training-run.ts';

const EXECUTION = 'flight-delay-drift-20261127T070000Z';
const request = {
  model: 'flight-delay',
  trigger: 'drift',
  window: { start: '2026-11-27T06:00:00Z', end: '2026-11-27T07:00:00Z' },
  reason: 'distance PSI 0.31',
};

const champion: ModelVersion = {
  model: 'flight-delay',
  version: 3,
  stage: 'Production',
  artifactUri: 's3://artifacts/models/flight-delay/3/model.onnx',
  artifactSha256: 'a'.repeat(64),
  featureSet: 'flights-v1',
  trainingRunId: 'seed',
  datasetUri: 's3://data/datasets/flights/flights-20k.json',
  datasetSha256: 'b'.repeat(64),
  params: { trainer: 'gbdt', nTrees: 40, learningRate: 0.1, splitSeed: 2 },
  metrics: {},
  createdAt: '2026-11-01T00:00:00.000Z',
  createdBy: 'alice',
};

const text = (value: string) => new TextEncoder().encode(value);

interface Setup {
  readonly data: MemoryObjectStore;
  readonly artifacts: MemoryObjectStore;
  readonly ports: PreparePorts;
  readonly logs: Array<[string, Record<string, unknown> | undefined]>;
}

function setup(versions: ModelVersion[] = [champion]): Setup {
  const data = memoryObjectStore('data');
  const artifacts = memoryObjectStore('artifacts');
  const logs: Setup['logs'] = [];
  return {
    data,
    artifacts,
    logs,
    ports: {
      data,
      artifacts,
      listKeys: async (prefix) => data.keys(prefix),
      registry: {
        getProductionVersion: async () => versions.find((v) => v.stage === 'Production'),
        listVersions: async () => versions,
      },
      policy: {},
      log: (message, details) => logs.push([message, details]),
    },
  };
}

const put = (store: MemoryObjectStore, key: string, body: string | Uint8Array) =>
  store.write(key, body, 'application/octet-stream');
const partition = (dt: string) => `ground-truth/model=flight-delay/dt=${dt}/`;
const read = (store: MemoryObjectStore, key: string) =>
  parseDataset(store.objects.get(key)?.body ?? new Uint8Array()) as Array<Record<string, unknown>>;

describe('prepareRetrainingData', () => {
  it('gathers the lookback partitions, splits them and hands the challenger a drift-tolerant training run', async () => {
    const { data, artifacts, ports } = setup();
    const rows = flightsRawRows();
    await put(data, `${partition('2026-11-27')}a.json`, JSON.stringify(rows.slice(0, 6_000)));
    await put(
      data,
      `${partition('2026-11-21')}b.jsonl.gz`,
      gzipSync(
        text(
          rows
            .slice(6_000, 10_000)
            .map((r) => JSON.stringify(r))
            .join('\n'),
        ),
      ),
    );
    // Outside the 7-day lookback: not read.
    await put(data, `${partition('2026-11-19')}old.json`, JSON.stringify(rows.slice(10_000, 12_000)));
    // Bad rows, a repeated record, an unreadable file and a manifest.
    await put(
      data,
      `${partition('2026-11-25')}c.json`,
      JSON.stringify([{ ...rows[0] }, { ...rows[1], distance: -5 }, { ...rows[2], delay: null }]),
    );
    await put(data, `${partition('2026-11-25')}d.parquet`, 'PAR1');
    await put(data, `${partition('2026-11-25')}_SUCCESS`, '');

    const prepared = await prepareRetrainingData({ request, executionName: EXECUTION }, ports);

    expect(prepared.groundTruth).toEqual({
      partitions: [
        '2026-11-20',
        '2026-11-21',
        '2026-11-22',
        '2026-11-23',
        '2026-11-24',
        '2026-11-25',
        '2026-11-26',
        '2026-11-27',
      ],
      files: 3,
      skippedFiles: 1,
      validRows: 10_000,
      rejectedRows: 2,
      duplicateRows: 1,
    });
    expect(prepared.train.rows + prepared.holdout.rows).toBe(10_000);
    expect(prepared.holdout.rows / 10_000).toBeCloseTo(0.3, 1);
    const datasetKey = `datasets/retraining/${EXECUTION}/challenger-train.jsonl`;
    expect(prepared.train.uri).toBe(`s3://data/${datasetKey}`);
    expect(prepared.holdout.uri).toBe(`s3://artifacts/retraining/${EXECUTION}/holdout.jsonl`);
    expect(read(data, datasetKey)).toHaveLength(prepared.train.rows);
    expect(read(artifacts, `retraining/${EXECUTION}/holdout.jsonl`)).toHaveLength(prepared.holdout.rows);
    expect(prepared.train.positives).toBe(read(data, datasetKey).filter((r) => Number(r.delay) > 15).length);
    expect(prepared.policy).toEqual({
      minAucGain: 0.005,
      maxSubgroupAucLoss: 0.02,
      minSubgroupRows: 200,
      lookbackDays: 7,
      minLabelledRows: 2_000,
      holdoutShare: 0.3,
      promoteBy: 'release',
      release: {},
    });
    // A winning challenger's release: named after this execution, its input but for the version.
    expect(prepared.release).toEqual({
      executionName: `${EXECUTION}-release`,
      request: { model: 'flight-delay', requestedBy: `retraining:${EXECUTION}` },
    });
    expect(prepared.trainingRun).toEqual({
      runId: EXECUTION,
      model: 'flight-delay',
      datasetUri: prepared.train.uri,
      featureSet: 'flights-v1',
      trainer: 'gbdt',
      params: { nTrees: 40, learningRate: 0.1 },
      seed: 2,
      dataValidation: 'drift-tolerant',
      requestedBy: `retraining:${EXECUTION}`,
    });
    expect(TrainingRunInput.parse(prepared.trainingRun).gates.minAuc).toBe(0.6);
    const report = JSON.parse(
      Buffer.from(artifacts.objects.get(`retraining/${EXECUTION}/ground-truth.json`)?.body ?? []).toString(
        'utf8',
      ),
    );
    expect(report).toMatchObject({
      verdict: 'enough labelled data',
      requiredRows: 7_143,
      skippedFiles: [
        { key: `${partition('2026-11-25')}d.parquet`, reason: expect.stringContaining('*.csv') },
      ],
      rejectReasons: [
        { reason: 'delay: Invalid input: expected number, received null', rows: 1 },
        { reason: 'distance: expected a distance in miles greater than 0', rows: 1 },
      ],
    });
  });

  it('writes byte-identical files when run again, whatever order the files are listed in', async () => {
    const { data, artifacts, ports } = setup();
    const rows = flightsRawRows();
    await put(data, `${partition('2026-11-26')}a.json`, JSON.stringify(rows.slice(0, 4_000)));
    await put(data, `${partition('2026-11-27')}b.json`, JSON.stringify(rows.slice(4_000, 8_000)));
    await prepareRetrainingData({ request, executionName: EXECUTION }, ports);
    const first = { data: snapshot(data, 'datasets/'), artifacts: snapshot(artifacts, 'retraining/') };

    const holdoutBefore = read(artifacts, `retraining/${EXECUTION}/holdout.jsonl`);
    await prepareRetrainingData(
      { request, executionName: EXECUTION },
      { ...ports, listKeys: async (prefix) => data.keys(prefix).reverse() },
    );

    expect(snapshot(data, 'datasets/')).toEqual(first.data);
    expect(snapshot(artifacts, 'retraining/')).toEqual(first.artifacts);
    expect(read(artifacts, `retraining/${EXECUTION}/holdout.jsonl`)).toEqual(holdoutBefore);
  });

  it('refuses a window with too few labelled rows by name, after writing what it found', async () => {
    const { data, artifacts, ports } = setup();
    await put(data, `${partition('2026-11-27')}a.json`, JSON.stringify(flightsRawRows().slice(0, 812)));

    const attempt = prepareRetrainingData({ request, executionName: EXECUTION }, ports);

    await expect(attempt).rejects.toThrow(InsufficientLabelledData);
    await expect(attempt).rejects.toThrow(
      /^812 valid labelled rows in the window, at least 7,143 needed; report: s3:\/\/artifacts\/retraining\//,
    );
    expect(artifacts.keys()).toEqual([`retraining/${EXECUTION}/ground-truth.json`]);
    expect(data.keys('datasets/')).toEqual([]);
  });

  it("takes the request's policy over the deployment's, and the deployment's over the defaults", async () => {
    const { data, ports } = setup();
    await put(data, `${partition('2026-11-26')}a.json`, JSON.stringify(flightsRawRows().slice(0, 3_000)));
    await put(data, `${partition('2026-11-27')}b.json`, JSON.stringify(flightsRawRows().slice(3_000, 7_000)));
    await put(data, `${partition('2026-11-25')}c.json`, JSON.stringify(flightsRawRows().slice(7_000, 9_000)));

    const prepared = await prepareRetrainingData(
      { request: { ...request, policy: { lookbackDays: 1, holdoutShare: 0.2 } }, executionName: EXECUTION },
      { ...ports, policy: { lookbackDays: 3, minAucGain: 0.01, minLabelledRows: 100 } },
    );

    expect(prepared.policy).toMatchObject({
      lookbackDays: 1,
      holdoutShare: 0.2,
      minAucGain: 0.01,
      minLabelledRows: 100,
    });
    expect(prepared.groundTruth.partitions).toEqual(['2026-11-26', '2026-11-27']);
    // 2026-11-25 is inside the deployment's 3 days but outside the request's 1.
    expect(prepared.groundTruth.validRows).toBe(7_000);
  });

  it('falls back to the latest version when there is no champion, and to logreg when its trainer cannot be rerun', async () => {
    const staging: ModelVersion = {
      ...champion,
      version: 1,
      stage: 'Staging',
      params: { trainer: 'container' },
    };
    const { data, ports, logs } = setup([staging]);
    await put(data, `${partition('2026-11-27')}a.json`, JSON.stringify(flightsRawRows().slice(0, 8_000)));

    const prepared = await prepareRetrainingData({ request, executionName: EXECUTION }, ports);

    expect(prepared.reference).toEqual({ version: 1, stage: 'Staging' });
    expect(prepared.trainingRun).toMatchObject({ trainer: 'logreg', params: {}, seed: 0 });
    expect(logs).toContainEqual([
      'challenger recipe',
      { note: expect.stringContaining('v1 was trained with "container"') },
    ]);
  });

  it('fails on a model with no registered version, a bad request and an unknown subgroup column', async () => {
    const { ports } = setup([]);
    await expect(prepareRetrainingData({ request, executionName: EXECUTION }, ports)).rejects.toThrow(
      ModelNotFound,
    );

    const withChampion = setup().ports;
    await expect(
      prepareRetrainingData(
        { request: { ...request, trigger: 'whim' }, executionName: EXECUTION },
        withChampion,
      ),
    ).rejects.toThrow(InvalidRequest);
    await expect(
      prepareRetrainingData(
        {
          request: { ...request, window: { start: request.window.end, end: request.window.start } },
          executionName: EXECUTION,
        },
        withChampion,
      ),
    ).rejects.toThrow(/starts .* after it ends/);
    await expect(
      prepareRetrainingData(
        { request: { ...request, policy: { subgroupColumns: ['carrier'] } }, executionName: EXECUTION },
        withChampion,
      ),
    ).rejects.toThrow(
      /unknown subgroup column carrier \(known for flights-v1: origin_region, distance_band, day_part\)/,
    );

    // The release a winning challenger would go through, checked before anything is trained.
    await expect(
      prepareRetrainingData(
        { request: { ...request, policy: { release: { strategy: 'yolo' } } }, executionName: EXECUTION },
        withChampion,
      ),
    ).rejects.toThrow(/strategy must be one of canary, linear/);
    await expect(
      prepareRetrainingData(
        { request: { ...request, policy: { release: { bake: 'soon' } } }, executionName: EXECUTION },
        withChampion,
      ),
    ).rejects.toThrow(/bake must look like 30s, 5m, 1h/);
  });
});
