// PlanBatch: what an S3 "Object Created" event becomes — the model version, the partition, small
// or large, a staged copy for large gzip files — and the replay that is recognised as done.
import { describe, expect, it } from 'vitest';
import { buildManifest } from '../../../../functions/lib/batch/batch-output.ts';
import { InvalidRequest, ModelNotFound } from '../../../../functions/lib/errors.ts';
import type { ModelVersion } from '../../../../functions/lib/registry/model-version.ts';
import { batchOutputKeys } from '../../../../functions/lib/storage/s3-layout.ts';
import {
  type ObjectHead,
  type PlanPorts,
  planBatch,
  rowsPerBatch,
} from '../../../../functions/plan-batch/core.ts';

const version = (v: number, sha = 'a'.repeat(64)): ModelVersion => ({
  model: 'flight-delay',
  version: v,
  stage: v === 2 ? 'Production' : 'Staging',
  artifactUri: `s3://artifacts/models/flight-delay/${v}/model.onnx`,
  artifactSha256: sha,
  featureSet: 'flights-v1',
  trainingRunId: `run-${v}`,
  datasetUri: 's3://data/datasets/x.json',
  datasetSha256: 'e'.repeat(64),
  params: {},
  metrics: {},
  createdAt: '2026-11-01T00:00:00.000Z',
  createdBy: 'test',
});

const event = (key: string) => ({
  'detail-type': 'Object Created',
  source: 'aws.s3',
  detail: { bucket: { name: 'data' }, object: { key, size: 10, etag: 'abc' } },
});

/** A head as S3 answers it: quoted etag, uploaded just before midnight UTC. */
const head = (bytes = 1_000, metadata: Record<string, string> = {}): ObjectHead => ({
  etag: '"abc"',
  bytes,
  lastModified: new Date('2026-11-20T23:59:00Z'),
  metadata,
});

function ports(opts: { heads?: Record<string, ObjectHead>; texts?: Record<string, string> } = {}) {
  const staged: Array<[string, string]> = [];
  const p: PlanPorts = {
    registry: {
      getVersion: async (_m, v) => (v === 1 || v === 2 ? version(v) : undefined),
      getProductionVersion: async () => version(2),
    },
    head: async (_b, key) => opts.heads?.[key] ?? (key.includes('missing') ? undefined : head()),
    readText: async (_b, key) => opts.texts?.[key],
    readStart: async () =>
      new TextEncoder().encode('date,distance,origin,destination\n2001/01/01 10:00,100,SFO,LAX\n'),
    stageDecompressed: async (_b, key, stagedKey) => {
      staged.push([key, stagedKey]);
    },
    config: { smallFileBytes: 8_000_000, batchSize: 10_000 },
    now: () => new Date('2026-11-21T08:00:00Z'),
  };
  return { ports: p, staged };
}

describe('planBatch', () => {
  it('plans a small file with the Production version into the partition of its upload date', async () => {
    const { ports: p } = ports();
    const plan = await planBatch(event('incoming/flight-delay/jan.csv'), p);
    expect(plan).toMatchObject({
      bucket: 'data',
      key: 'incoming/flight-delay/jan.csv',
      readKey: 'incoming/flight-delay/jan.csv',
      format: 'csv',
      gzip: false,
      model: 'flight-delay',
      version: 2,
      dt: '2026-11-20',
      source: 'jan.csv',
      mode: 'small',
      batchSize: 10_000,
    });
  });

  it('scores with the version the key names, or the one the object metadata names', async () => {
    const { ports: p } = ports({
      heads: { 'incoming/flight-delay/m.jsonl': { ...head(1_000, { 'model-version': '1' }) } },
    });
    expect((await planBatch(event('incoming/flight-delay/version=1/k.jsonl'), p)).version).toBe(1);
    expect((await planBatch(event('incoming/flight-delay/m.jsonl'), p)).version).toBe(1);
  });

  it('stages a decompressed copy of a large gzip file for the ItemReader', async () => {
    const { ports: p, staged } = ports({ heads: { 'incoming/flight-delay/big.csv.gz': head(50_000_000) } });
    const plan = await planBatch(event('incoming/flight-delay/big.csv.gz'), p);
    expect(plan).toMatchObject({ mode: 'large', gzip: true, readKey: 'staging/abc/big.csv' });
    expect(staged).toEqual([['incoming/flight-delay/big.csv.gz', 'staging/abc/big.csv']]);
  });

  it('answers done for an input this artifact already scored (a replayed or duplicate event)', async () => {
    const keys = batchOutputKeys({ model: 'flight-delay', version: 2, dt: '2026-11-20', source: 'jan.csv' });
    const manifest = buildManifest({
      input: {
        bucket: 'data',
        key: 'incoming/flight-delay/jan.csv',
        etag: 'abc',
        bytes: 1_000,
        format: 'csv',
        gzip: false,
      },
      model: { name: 'flight-delay', version: 2, artifactSha256: 'a'.repeat(64) },
      partition: { dt: '2026-11-20', source: 'jan.csv' },
      parts: [],
      timings: { startedAt: '2026-11-20T23:59:01Z', finishedAt: '2026-11-20T23:59:02Z' },
    });
    const { ports: p } = ports({ texts: { [keys.success]: JSON.stringify(manifest) } });
    expect((await planBatch(event('incoming/flight-delay/jan.csv'), p)).mode).toBe('done');
  });

  it('scores again over a damaged _SUCCESS instead of failing', async () => {
    const keys = batchOutputKeys({ model: 'flight-delay', version: 2, dt: '2026-11-20', source: 'jan.csv' });
    const { ports: p } = ports({ texts: { [keys.success]: '{"manifestVersion": 1, "input": ' } });
    expect((await planBatch(event('incoming/flight-delay/jan.csv'), p)).mode).toBe('small');
  });

  it('uses the decoded key when the event carries it URL-encoded', async () => {
    const { ports: p } = ports();
    const plan = await planBatch(event('incoming/flight-delay/my+file.csv'), {
      ...p,
      head: async (_b, key) => (key === 'incoming/flight-delay/my file.csv' ? head() : undefined),
    });
    expect(plan.key).toBe('incoming/flight-delay/my file.csv');
  });

  it('fails with ModelNotFound when the model has no such version, and InvalidRequest for a non-event', async () => {
    const { ports: p } = ports();
    await expect(planBatch(event('incoming/flight-delay/version=9/x.csv'), p)).rejects.toBeInstanceOf(
      ModelNotFound,
    );
    await expect(planBatch({ hello: 'world' }, p)).rejects.toBeInstanceOf(InvalidRequest);
    await expect(planBatch(event('incoming/flight-delay/missing.csv'), p)).rejects.toBeInstanceOf(
      InvalidRequest,
    );
  });
});

describe('rowsPerBatch', () => {
  const encode = (text: string) => new TextEncoder().encode(text);

  it('keeps a batch of the widest sampled rows under the child execution input limit', () => {
    const line = JSON.stringify({
      id: 'r1',
      date: '2001/01/01 10:00',
      distance: 100,
      origin: 'SFO',
      destination: 'LAX',
    });
    const rows = rowsPerBatch(encode(`${line}\n`.repeat(1_000)), 'jsonl', 10_000);
    const batchBytes = JSON.stringify({
      Items: Array.from({ length: rows }, (_, i) => ({ index: i, row: JSON.parse(line) })),
    }).length;
    expect(batchBytes).toBeLessThan(256 * 1024);
    expect(rows).toBeGreaterThan(1_000);
  });

  it('counts the header names a CSV row is spelled out with', () => {
    const header = Array.from({ length: 40 }, (_, i) => `a_rather_long_column_name_${i}`).join(',');
    const row = Array.from({ length: 40 }, () => '1').join(',');
    const rows = rowsPerBatch(encode(`${header}\n${`${row}\n`.repeat(100)}`), 'csv', 10_000);
    const item = Object.fromEntries(header.split(',').map((h) => [h, '1']));
    const batchBytes = JSON.stringify({
      Items: Array.from({ length: rows }, (_, i) => ({ index: i, row: item })),
    }).length;
    expect(batchBytes).toBeLessThan(256 * 1024);
  });

  it('never exceeds the configured rows per part, nor goes below one', () => {
    expect(rowsPerBatch(encode('{"a":1}\n'), 'jsonl', 500)).toBe(500);
    expect(rowsPerBatch(encode(`${'x'.repeat(300_000)}\n`), 'jsonl', 500)).toBe(1);
  });
});
