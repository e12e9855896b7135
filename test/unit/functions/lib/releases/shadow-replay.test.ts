// `mlops replay`'s use case on fixture captures and real ONNX artifacts: the champion's captured
// requests are rescored in-process by the challenger and compared as a shadow would compare them.
import { describe, expect, it } from 'vitest';
import type { CaptureRecord } from '../../../../../functions/lib/capture/capture-record.ts';
import type { ModelVersion } from '../../../../../functions/lib/registry/model-version.ts';
import { replayCapturedRequests } from '../../../../../functions/lib/releases/shadow-replay.ts';
import { cachedModelLoader } from '../../../../../functions/lib/serving/model-cache.ts';
import { createOnnxModelLoader } from '../../../../../functions/lib/serving/onnx-model-loader.ts';
import { scoreRequest } from '../../../../../functions/predict/core.ts';
import { loadFlights } from '../../../../support/flights-dataset.ts';
import { memoryObjectStore } from '../../../../support/memory-object-store.ts';
import { captureRecord, MemoryCaptureObjects } from '../../../../support/shadow-fakes.ts';
import { trainFlightModel } from '../../../../support/trained-model.ts';

const MODEL = 'flight-delay';
const NOW = new Date('2026-11-27T12:10:00.000Z');
const artifacts = memoryObjectStore('artifacts');

/** v1: trained on 4,000 flights (champion); v2: the same artifact; v3: trained on 1,500 flights. */
function registry() {
  const versions = new Map<number, ModelVersion>();
  for (const [version, rows] of [
    [1, 4_000],
    [2, 4_000],
    [3, 1_500],
  ] as const) {
    const trained = trainFlightModel(rows);
    const key = `models/${MODEL}/${version}/model.onnx`;
    artifacts.objects.set(key, { body: trained.bytes, contentType: 'application/octet-stream' });
    versions.set(version, {
      model: MODEL,
      version,
      stage: version === 1 ? 'Production' : 'Staging',
      artifactUri: `s3://artifacts/${key}`,
      artifactSha256: trained.sha256,
      featureSet: 'flights-v1',
      trainingRunId: `run-${version}`,
      datasetUri: 's3://data/x.json',
      datasetSha256: 'e'.repeat(64),
      params: {},
      metrics: {},
      createdAt: '2026-01-01T00:00:00.000Z',
      createdBy: 'test',
    });
  }
  return {
    getVersion: async (_model: string, v: number) => versions.get(v),
    getProductionVersion: async () => versions.get(1),
    version: (v: number) => versions.get(v) as ModelVersion,
  };
}

const reg = registry();
const loadModel = cachedModelLoader(createOnnxModelLoader((uri) => artifacts.fetch(uri)));
const flights = loadFlights().instances.slice(12_000, 12_400) as unknown as Record<string, unknown>[];

/** Score `instances` as `version` would serve them: (score, label) per instance. */
async function served(version: number, instances: Record<string, unknown>[]) {
  const scored = await scoreRequest(
    { kind: 'instances', model: MODEL, instances },
    { resolveVersion: async () => reg.version(version), loadModel },
  );
  return { result: scored.result, inputs: scored.instances };
}

/**
 * Capture `requests` champion requests of 2 flights each, one every 30 s, ending just before NOW
 * (so they span three UTC hours), with the champion's real answers.
 */
async function captureChampion(requests: number, objects = new MemoryCaptureObjects()) {
  const records: CaptureRecord[] = [];
  for (let i = 0; i < requests; i++) {
    const instances = flights.slice(2 * i, 2 * i + 2);
    const { result, inputs } = await served(1, instances);
    const time = new Date(NOW.getTime() - (requests - i) * 30_000).toISOString();
    for (const [index, p] of result.predictions.entries())
      records.push(
        captureRecord({
          requestId: `req-${i}`,
          time,
          index,
          input: { ...(inputs[index] as Record<string, unknown>) },
          score: p.score,
          label: p.label,
          latencyMs: 5,
        }),
      );
  }
  for (const hour of new Set(records.map((r) => r.time.slice(0, 13))))
    objects.put(
      `part-${hour}`,
      records.filter((r) => r.time.startsWith(hour)),
    );
  return { objects, records };
}

const ports = (objects: MemoryCaptureObjects) => ({
  captures: objects,
  registry: reg,
  loadModel,
  now: () => NOW,
});

describe('replayCapturedRequests', () => {
  it('scores exactly as the champion did when the challenger is the same artifact', async () => {
    const { objects } = await captureChampion(150);
    const { report, verdict, failures } = await replayCapturedRequests(ports(objects), {
      model: MODEL,
      challengerVersion: 2,
      windowMs: 24 * 3_600_000,
      limit: 0,
    });
    expect(report.counts).toMatchObject({ pairs: 300, requests: 150, championOnly: 0, challengerErrors: 0 });
    expect(report.agreement.rate).toBe(1);
    expect(report.scores.absDelta.max).toBe(0);
    expect(report).toMatchObject({ source: 'replay', champion: { version: 1 }, challenger: { version: 2 } });
    expect(verdict.verdict).toBe('pass');
    expect(failures).toEqual([]);
  });

  it('reports the deltas of a different challenger as direct scoring gives them', async () => {
    const { objects, records } = await captureChampion(60);
    const { report } = await replayCapturedRequests(ports(objects), {
      model: MODEL,
      challengerVersion: 3,
      windowMs: 24 * 3_600_000,
      limit: 0,
    });
    const challenger = await served(
      3,
      records.map((r) => r.input),
    );
    const deltas = records.map((r, i) => (challenger.result.predictions[i]?.score ?? Number.NaN) - r.score);
    expect(report.counts.pairs).toBe(120);
    expect(report.scores.meanDelta).toBeCloseTo(deltas.reduce((s, d) => s + d, 0) / deltas.length, 6);
    expect(report.scores.absDelta.max).toBeCloseTo(Math.max(...deltas.map(Math.abs)), 6);
    expect(report.scores.absDelta.max).toBeGreaterThan(0);
  });

  it('replays the most recent requests up to the limit, reading the newest hours first', async () => {
    const { objects } = await captureChampion(150);
    const { report, captures } = await replayCapturedRequests(ports(objects), {
      model: MODEL,
      challengerVersion: 2,
      windowMs: 24 * 3_600_000,
      limit: 10,
    });
    expect(report.counts.requests).toBe(10);
    // 10 requests of the last 5 minutes are all in the newest hour: no older hour is read.
    expect(captures.hoursRead).toBe(1);
  });

  it('counts requests the challenger cannot score, listing why', async () => {
    const { objects } = await captureChampion(5);
    objects.put('bad', [
      captureRecord({
        requestId: 'bad-1',
        time: new Date(NOW.getTime() - 1_000).toISOString(),
        input: { distance: 'far' },
      }),
    ]);
    const { report, failures } = await replayCapturedRequests(ports(objects), {
      model: MODEL,
      challengerVersion: 2,
      windowMs: 3_600_000,
      limit: 0,
    });
    expect(report.counts).toMatchObject({ pairs: 10, challengerErrors: 1, championOnly: 1 });
    expect(failures).toEqual([
      { requestId: 'bad-1', reason: expect.stringMatching(/do not match the model's features/) },
    ]);
  });

  it("replays only the champion's live records, not shadows or other versions", async () => {
    const { objects } = await captureChampion(3);
    const time = new Date(NOW.getTime() - 1_000).toISOString();
    objects.put('others', [
      captureRecord({ requestId: 'canary', time, version: 3, input: { ...flights[0] } }),
      captureRecord({
        requestId: 'copy',
        time,
        version: 2,
        role: 'shadow',
        shadowOf: 'req-0',
        input: { ...flights[0] },
      }),
    ]);
    const { report } = await replayCapturedRequests(ports(objects), {
      model: MODEL,
      challengerVersion: 2,
      windowMs: 3_600_000,
      limit: 0,
    });
    expect(report.counts.requests).toBe(3);
  });

  it('refuses an unknown challenger', async () => {
    await expect(
      replayCapturedRequests(ports(new MemoryCaptureObjects()), {
        model: MODEL,
        challengerVersion: 9,
        windowMs: 3_600_000,
        limit: 0,
      }),
    ).rejects.toThrow('model flight-delay has no version 9');
  });
});
