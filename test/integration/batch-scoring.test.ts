// Batch scoring end to end on the local runtime: a file put under incoming/{model}/ in the data
// bucket reaches the same EventBridge rule and state machine as on AWS; the output partition is
// checked against a direct onnxruntime run, replays leave it byte-identical, bad rows land in
// rejected/, an unparsable file fails the execution with its reason and pages.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Manifest, ManifestSchema } from '../../functions/lib/batch/batch-output.ts';
import { DynamoDbModelRegistry } from '../../functions/lib/registry/dynamodb-registry.ts';
import { createOnnxModelLoader } from '../../functions/lib/serving/onnx-model-loader.ts';
import { batchOutputKeys, parseS3Uri } from '../../functions/lib/storage/s3-layout.ts';
import { platformStack, SEED } from '../../local/bootstrap.ts';
import { localDynamoDbClient } from '../../local/emulators/dynamodb.ts';
import { localS3Client } from '../../local/emulators/s3.ts';
import { bootTestPlatform, type TestPlatform } from '../support/local-platform.ts';

const flights = (
  JSON.parse(
    readFileSync(
      fileURLToPath(new URL('../../node_modules/vega-datasets/data/flights-20k.json', import.meta.url)),
      'utf8',
    ),
  ) as Array<{ date: string; distance: number; origin: string; destination: string; delay: number }>
).map(({ delay: _delay, ...instance }, i) => ({ id: `f${i}`, ...instance }));

const bin = fileURLToPath(new URL('../../bin/mlops.js', import.meta.url));
let t: TestPlatform;
let s3: S3Client;
let bucket: string;
let registry: DynamoDbModelRegistry;
const today = new Date().toISOString().slice(0, 10);

beforeAll(async () => {
  t = await bootTestPlatform();
  const outputs = platformStack(t.platform).outputs;
  bucket = outputs.DataBucketName ?? '';
  s3 = localS3Client(t.platform.endpoints.s3);
  registry = new DynamoDbModelRegistry(
    DynamoDBDocumentClient.from(localDynamoDbClient(t.platform.endpoints.dynamodb)),
    outputs.RegistryTableName ?? '',
  );
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

const csv = (rows: ReadonlyArray<Record<string, unknown>>) => {
  const header = Object.keys(rows[0] ?? {});
  return `${header.join(',')}\n${rows.map((r) => header.map((h) => String(r[h] ?? '')).join(',')).join('\n')}\n`;
};
const jsonl = (rows: readonly unknown[]) => rows.map((r) => `${JSON.stringify(r)}\n`).join('');

async function drop(name: string, body: string | Uint8Array): Promise<string> {
  const key = `incoming/${SEED.model}/${name}`;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  return key;
}

async function text(key: string): Promise<string | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await out.Body?.transformToString();
  } catch (err) {
    if ((err as Error).name === 'NoSuchKey') return undefined;
    throw err;
  }
}

async function list(prefix: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])).sort();
}

/** Wait for a _SUCCESS whose manifest covers `key` as it is now (its etag). */
async function waitForManifest(source: string, minFinishedAfter = 0, timeoutMs = 60_000): Promise<Manifest> {
  const production = await registry.getProductionVersion(SEED.model);
  const keys = batchOutputKeys({ model: SEED.model, version: production?.version ?? 0, dt: today, source });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = await text(keys.success);
    if (body) {
      const manifest = ManifestSchema.parse(JSON.parse(body));
      if (Date.parse(String(manifest.timings.finishedAt)) >= minFinishedAfter) return manifest;
    }
    if (Date.now() > deadline) throw new Error(`no _SUCCESS for ${source}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every object of the partition, by key, as text. */
async function snapshot(source: string): Promise<Record<string, string>> {
  const production = await registry.getProductionVersion(SEED.model);
  const keys = batchOutputKeys({ model: SEED.model, version: production?.version ?? 0, dt: today, source });
  const all = [...(await list(keys.scoresPrefix)), ...(await list(keys.rejectedPrefix))];
  return Object.fromEntries(await Promise.all(all.map(async (k) => [k, (await text(k)) ?? ''] as const)));
}

async function directScores(rows: ReadonlyArray<Record<string, unknown>>): Promise<number[]> {
  const production = await registry.getProductionVersion(SEED.model);
  if (!production) throw new Error('no Production version');
  const load = createOnnxModelLoader(async (uri) => {
    const { bucket: b, key } = parseS3Uri(uri);
    const out = await s3.send(new GetObjectCommand({ Bucket: b, Key: key }));
    return (await out.Body?.transformToByteArray()) ?? new Uint8Array();
  });
  const model = await load(production);
  const instances = rows.map(({ id: _id, ...instance }) => instance);
  const x = model.featureSet.encode(instances, model.encoding);
  return Array.from(await model.score(x, instances.length));
}

describe('a CSV file dropped under incoming/', () => {
  it('is scored into the partition with one line per row, equal to a direct onnxruntime run', async () => {
    const rows = flights.slice(0, 2_500);
    await drop('january.csv', csv(rows));
    const manifest = await waitForManifest('january.csv');
    expect(manifest.rows).toEqual({ in: 2_500, out: 2_500, rejected: 0 });
    expect(manifest.parts).toHaveLength(1);
    const lines = ((await text(manifest.parts[0]?.scoresKey ?? '')) ?? '').trim().split('\n');
    const scored = lines.map(
      (l) => JSON.parse(l) as { id: string; row: number; score: number; label: number },
    );
    expect(scored.map((s) => s.id)).toEqual(rows.map((r) => r.id));
    const expected = await directScores(rows);
    for (const [i, s] of scored.entries())
      expect(Math.abs(s.score - (expected[i] ?? Number.NaN))).toBeLessThan(1e-6);
  });
});

describe('a large JSON Lines file', () => {
  it('is scored by the Distributed Map in equal parts sized under the batch input limit, in order', async () => {
    // Over 8 MiB, the small-file limit, so the plan sends it to the Distributed Map.
    const rows = Array.from({ length: 100_000 }, (_, i) => ({ ...flights[i % flights.length], id: `r${i}` }));
    const key = await drop('big.jsonl', jsonl(rows));
    const manifest = await waitForManifest('big.jsonl', 0, 120_000);
    expect(manifest.rows).toEqual({ in: 100_000, out: 100_000, rejected: 0 });
    const sizes = manifest.parts.map((p) => p.rowsIn);
    expect(sizes.length).toBeGreaterThan(10);
    expect(new Set(sizes.slice(0, -1)).size).toBe(1);
    const last = ((await text(manifest.parts.at(-1)?.scoresKey ?? '')) ?? '').trim().split('\n');
    expect(JSON.parse(last.at(-1) ?? '{}')).toMatchObject({ id: 'r99999', row: 99_999 });
    // It went through the Map: its reader step is in the execution's history.
    const [execution] = t.platform.events.executionsFor(key);
    const history = t.platform.stepFunctions.getExecutionHistory(execution ?? '');
    expect(JSON.stringify(history)).toContain('ScoreJsonlInBatches (ItemReader)');
  }, 150_000);
});

describe('a large CSV file and a gzipped one', () => {
  it('scores a CSV over the small-file limit through the CSV Distributed Map', async () => {
    const rows = Array.from({ length: 240_000 }, (_, i) => ({ ...flights[i % flights.length], id: `c${i}` }));
    const body = csv(rows);
    expect(Buffer.byteLength(body)).toBeGreaterThan(8 * 1024 * 1024);
    const key = await drop('big.csv', body);
    const manifest = await waitForManifest('big.csv', 0, 120_000);
    expect(manifest.rows).toEqual({ in: 240_000, out: 240_000, rejected: 0 });
    const [execution] = t.platform.events.executionsFor(key);
    expect(JSON.stringify(t.platform.stepFunctions.getExecutionHistory(execution ?? ''))).toContain(
      'ScoreCsvInBatches (ItemReader)',
    );
  }, 150_000);

  it('reads a gzipped file by its content', async () => {
    const rows = flights.slice(0, 1_000);
    await drop('small.csv.gz', gzipSync(csv(rows)));
    const manifest = await waitForManifest('small.csv.gz');
    expect(manifest.rows).toEqual({ in: 1_000, out: 1_000, rejected: 0 });
    expect(manifest.input).toMatchObject({ format: 'csv', gzip: true });
  });
});

describe('mlops score', () => {
  it('uploads the file, waits, and prints where the scores are with the counts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlops-score-'));
    const stateFile = join(dir, 'local.json');
    writeFileSync(stateFile, JSON.stringify(t.platform.describe()));
    const file = join(dir, 'cli-drop.jsonl');
    writeFileSync(file, jsonl(flights.slice(0, 200)));
    const { stdout } = await promisify(execFile)(process.execPath, [bin, 'score', file], {
      env: { ...process.env, MLOPS_STATE_FILE: stateFile },
    });
    expect(stdout).toMatch(/scored incoming\/flight-delay\/cli-drop\.jsonl with flight-delay v\d+/);
    expect(stdout).toMatch(/rows +200 in, 200 scored, 0 rejected/);
    expect(stdout).toMatch(
      /scores\/model=flight-delay\/version=\d+\/dt=\d{4}-\d{2}-\d{2}\/source=cli-drop\.jsonl\//,
    );
  }, 60_000);
});

describe('replays', () => {
  it('leave the output byte-identical: the same file dropped twice, and its event delivered again', async () => {
    const rows = flights.slice(3_000, 4_000);
    await drop('replayed.csv', csv(rows));
    await waitForManifest('replayed.csv');
    const before = await snapshot('replayed.csv');
    const key = await drop('replayed.csv', csv(rows)); // same bytes: same etag
    // S3 delivers at least once: deliver the last event for the key again.
    const event = t.platform.events.received().findLast((e) => JSON.stringify(e).includes(key));
    if (!event) throw new Error('no event was routed for the drop');
    await t.platform.events.replay(event);
    const executions = t.platform.events.executionsFor(key);
    expect(executions.length).toBeGreaterThanOrEqual(3);
    for (const arn of executions) await t.platform.stepFunctions.waitForExecution(arn, 30_000);
    const outcomes = executions.map((arn) => t.platform.stepFunctions.describeExecution(arn).status);
    expect(outcomes.every((s) => s === 'SUCCEEDED')).toBe(true);
    expect(await snapshot('replayed.csv')).toEqual(before);
    expect(Object.keys(before).filter((k) => k.endsWith('.jsonl'))).toHaveLength(1);
  });

  it('remove parts left from an earlier, larger run of the same input', async () => {
    const big = Array.from({ length: 25_000 }, (_, i) => ({ ...flights[i % flights.length], id: `b${i}` }));
    await drop('shrinking.csv', csv(big));
    const first = await waitForManifest('shrinking.csv');
    expect(first.parts).toHaveLength(3);
    const started = Date.now();
    await drop('shrinking.csv', csv(big.slice(0, 500)));
    const second = await waitForManifest('shrinking.csv', started);
    expect(second.parts).toHaveLength(1);
    const production = await registry.getProductionVersion(SEED.model);
    const keys = batchOutputKeys({
      model: SEED.model,
      version: production?.version ?? 0,
      dt: today,
      source: 'shrinking.csv',
    });
    expect((await list(keys.scoresPrefix)).filter((k) => k.endsWith('.jsonl'))).toEqual([keys.scoresPart(0)]);
  });
});

describe('bad input', () => {
  it('sends rows that fail validation to rejected/ with their reason, and scores the rest', async () => {
    const rows: Array<Record<string, unknown>> = flights.slice(0, 300);
    rows[5] = { ...rows[5], distance: -3 };
    rows[9] = { ...rows[9], date: 'yesterday' };
    await drop('some-bad.csv', csv(rows));
    const manifest = await waitForManifest('some-bad.csv');
    expect(manifest.rows).toEqual({ in: 300, out: 298, rejected: 2 });
    const rejected = ((await text(manifest.parts[0]?.rejectedKey ?? '')) ?? '').trim().split('\n');
    const reasons = rejected.map((l) => JSON.parse(l) as { row: number; reason: string });
    expect(reasons.map((r) => r.row)).toEqual([5, 9]);
    expect(reasons[0]?.reason).toMatch(/distance/);
    expect(reasons[1]?.reason).toMatch(/date/);
  });

  it('fails the execution with the reason when the file cannot be parsed, and pages', async () => {
    const key = await drop('broken.csv', 'date,distance,origin,destination\n"2001/01/01 10:00,100,SFO,LAX\n');
    const arn = platformStack(t.platform).outputs.BatchScoringArn ?? '';
    const deadline = Date.now() + 30_000;
    let failed: { error?: string; cause?: string } | undefined;
    while (!failed && Date.now() < deadline) {
      for (const e of t.platform.stepFunctions.listExecutions(arn, 'FAILED')) {
        const d = t.platform.stepFunctions.describeExecution(e.executionArn);
        if (String(d.input).includes(key)) failed = d;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(failed?.error).toBe('UnparsableInput');
    expect(failed?.cause).toMatch(/broken\.csv: .*line 2/);
    const topic = platformStack(t.platform).outputs.AlarmsTopicArn?.split(':').at(-1) ?? '';
    const alarms = readFileSync(t.platform.sns.messageFile(topic), 'utf8');
    expect(alarms).toContain('Batch scoring failed: incoming/flight-delay/broken.csv');
  });
});
