import { describe, expect, it } from 'vitest';
import {
  buildManifest,
  type ManifestInput,
  ManifestSchema,
  type PartSummary,
  partitionOf,
  renderPart,
  sameRun,
  sha256Hex,
  staleParts,
} from '../../../../../functions/lib/batch/batch-output.ts';
import { InvalidRequest } from '../../../../../functions/lib/errors.ts';
import { batchOutputKeys } from '../../../../../functions/lib/storage/s3-layout.ts';

const keys = batchOutputKeys({ model: 'flight-delay', version: 3, dt: '2024-05-01', source: 'rows.csv' });
const ARTIFACT = 'a'.repeat(64);

function part(index: number, rowsOut: number, rowsRejected = 0): PartSummary {
  const scores = renderPart(Array.from({ length: rowsOut }, (_, i) => `{"row":${i}}`));
  return {
    index,
    rowsIn: rowsOut + rowsRejected,
    rowsOut,
    rowsRejected,
    scoresKey: keys.scoresPart(index),
    scoresSha256: sha256Hex(scores),
    scoresBytes: scores.length,
    ...(rowsRejected > 0
      ? { rejectedKey: keys.rejectedPart(index), rejectedSha256: sha256Hex(`r${index}`) }
      : {}),
  };
}

const run = (overrides: Partial<ManifestInput> = {}): ManifestInput => ({
  input: {
    bucket: 'data',
    key: 'incoming/flight-delay/rows.csv',
    etag: '"abc123"',
    bytes: 4096,
    format: 'csv',
    gzip: false,
  },
  model: { name: 'flight-delay', version: 3, artifactSha256: ARTIFACT },
  partition: { dt: '2024-05-01', source: 'rows.csv' },
  parts: [part(1, 5, 2), part(0, 10), part(2, 3)],
  timings: { startedAt: '2024-05-01T10:00:00.000Z', finishedAt: new Date('2024-05-01T10:01:30.000Z') },
  ...overrides,
});

describe('renderPart and sha256Hex', () => {
  it('ends every line with a newline', () => {
    expect(new TextDecoder().decode(renderPart(['{"a":1}', '{"a":2}']))).toBe('{"a":1}\n{"a":2}\n');
    expect(renderPart([])).toHaveLength(0);
  });

  it('gives the hex sha256 of bytes and text alike', () => {
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(sha256Hex('abc')).toBe(sha256Hex(new TextEncoder().encode('abc')));
  });
});

describe('buildManifest', () => {
  it('sums row counts and sorts parts by index', () => {
    const manifest = buildManifest(run());
    expect(manifest.rows).toEqual({ in: 20, out: 18, rejected: 2 });
    expect(manifest.parts.map((p) => p.index)).toEqual([0, 1, 2]);
    expect(manifest.parts[1]).toEqual(part(1, 5, 2));
    expect(manifest.failedBatches).toBe(0);
  });

  it('records the input identity without ETag quotes, the artifact and ISO timings', () => {
    const manifest = buildManifest(run());
    expect(manifest.input).toEqual({
      bucket: 'data',
      key: 'incoming/flight-delay/rows.csv',
      etag: 'abc123',
      bytes: 4096,
      format: 'csv',
      gzip: false,
    });
    expect(manifest.model).toEqual({ name: 'flight-delay', version: 3, artifactSha256: ARTIFACT });
    expect(manifest.timings).toEqual({
      startedAt: '2024-05-01T10:00:00.000Z',
      finishedAt: '2024-05-01T10:01:30.000Z',
    });
  });

  it('is byte-identical whatever the order of parts and their keys', () => {
    const shuffled = run({
      parts: [part(2, 3), part(0, 10), part(1, 5, 2)].map(
        (p) => Object.fromEntries(Object.entries(p).reverse()) as PartSummary,
      ),
    });
    expect(JSON.stringify(buildManifest(shuffled))).toBe(JSON.stringify(buildManifest(run())));
    expect(Object.keys(buildManifest(shuffled))).toEqual([
      'manifestVersion',
      'input',
      'model',
      'partition',
      'rows',
      'failedBatches',
      'parts',
      'timings',
    ]);
    expect(Object.keys(buildManifest(shuffled).parts[1] ?? {})).toEqual(Object.keys(part(1, 5, 2)));
  });

  it('parses back with ManifestSchema after a JSON round trip', () => {
    const manifest = buildManifest(run());
    expect(ManifestSchema.parse(JSON.parse(JSON.stringify(manifest)))).toEqual(manifest);
  });

  it('records failed batches and allows the gaps they leave', () => {
    const manifest = buildManifest(run({ parts: [part(0, 10), part(2, 3)], failedBatches: 1 }));
    expect(manifest.failedBatches).toBe(1);
    expect(manifest.rows.in).toBe(13);
  });

  it('fails when a part is missing and no batch failed', () => {
    expect(() => buildManifest(run({ parts: [part(0, 10), part(2, 3)] }))).toThrow(/part 1 is missing/);
  });

  it('fails when a part index repeats', () => {
    expect(() => buildManifest(run({ parts: [part(0, 10), part(0, 10)] }))).toThrow(/part 0 appears twice/);
  });

  it("fails when a part's counts do not add up", () => {
    expect(() => buildManifest(run({ parts: [{ ...part(0, 10), rowsIn: 11 }] }))).toThrow(
      /11 rows in but 10 out \+ 0 rejected/,
    );
  });
});

describe('sameRun', () => {
  const manifest = () => JSON.parse(JSON.stringify(buildManifest(run()))) as unknown;
  const input = { bucket: 'data', key: 'incoming/flight-delay/rows.csv', etag: 'abc123' };

  it('is true for the same bucket, key and ETag scored by the same artifact, quoted or not', () => {
    expect(sameRun(manifest(), input, ARTIFACT)).toBe(true);
    expect(sameRun(manifest(), { ...input, etag: '"abc123"' }, ARTIFACT)).toBe(true);
  });

  it.each([
    ['another ETag (the file was replaced)', { ...input, etag: 'def456' }, ARTIFACT],
    ['another key', { ...input, key: 'incoming/flight-delay/other.csv' }, ARTIFACT],
    ['another bucket', { ...input, bucket: 'other' }, ARTIFACT],
    ['another artifact', input, 'b'.repeat(64)],
    ['an empty ETag', { ...input, etag: '' }, ARTIFACT],
  ])('is false for %s', (_what, other, artifact) => {
    expect(sameRun(manifest(), other, artifact)).toBe(false);
  });

  it('is false when batches failed, so a replay scores the input again', () => {
    const partial = buildManifest(run({ parts: [part(0, 10)], failedBatches: 2 }));
    expect(sameRun(partial, input, ARTIFACT)).toBe(false);
  });

  it('is false for anything that is not a manifest', () => {
    expect(sameRun(undefined, input, ARTIFACT)).toBe(false);
    expect(sameRun({ input }, input, ARTIFACT)).toBe(false);
  });
});

describe('staleParts', () => {
  const existing = [
    keys.scoresPart(0),
    keys.scoresPart(1),
    keys.scoresPart(2),
    keys.scoresPart(3),
    keys.success,
    `${keys.scoresPrefix}notes.txt`,
    `${keys.scoresPrefix}nested/part-00009.jsonl`,
    'scores/model=flight-delay/version=3/dt=2024-05-01/source=rows.csv.gz/part-00009.jsonl',
  ];

  it('lists parts at or above the part count, and nothing else', () => {
    expect(staleParts(existing, keys.scoresPrefix, 2)).toEqual([keys.scoresPart(2), keys.scoresPart(3)]);
    expect(staleParts(existing, keys.scoresPrefix, 4)).toEqual([]);
  });

  it('accepts the prefix without its trailing slash', () => {
    expect(staleParts(existing, keys.scoresPrefix.slice(0, -1), 3)).toEqual([keys.scoresPart(3)]);
  });

  it('also lists parts this run did not write when given the written indices', () => {
    const rejected = [keys.rejectedPart(0), keys.rejectedPart(1), keys.rejectedPart(4)];
    expect(staleParts(rejected, keys.rejectedPrefix, 3, [1])).toEqual([
      keys.rejectedPart(0),
      keys.rejectedPart(4),
    ]);
  });

  it('reads part numbers past 99999', () => {
    expect(staleParts([keys.scoresPart(123_456)], keys.scoresPrefix, 100_000)).toEqual([
      keys.scoresPart(123_456),
    ]);
  });
});

describe('partitionOf', () => {
  const modified = new Date('2024-05-01T23:30:00-02:00'); // 2024-05-02 in UTC

  it('reads the model and file name, dating the partition by the UTC day of last modification', () => {
    expect(partitionOf('incoming/flight-delay/rows.csv', modified)).toEqual({
      model: 'flight-delay',
      dt: '2024-05-02',
      source: 'rows.csv',
    });
  });

  it('reads an optional version and dt folder', () => {
    expect(partitionOf('incoming/flight-delay/version=12/dt=2024-02-29/rows.jsonl.gz', modified)).toEqual({
      model: 'flight-delay',
      version: 12,
      dt: '2024-02-29',
      source: 'rows.jsonl.gz',
    });
    expect(partitionOf('incoming/m1/dt=2023-12-31/r.csv', modified)).toMatchObject({ dt: '2023-12-31' });
    expect(partitionOf('incoming/m1/version=2/r.csv', modified)).toMatchObject({
      version: 2,
      dt: '2024-05-02',
    });
  });

  it('replaces unsafe characters in the file name and tells apart names that differ only there', () => {
    const spaced = partitionOf('incoming/m1/May rows (final).csv.gz', modified).source;
    expect(spaced).toMatch(/^May_rows__final_-[0-9a-f]{8}\.csv\.gz$/);
    const accented = partitionOf('incoming/m1/données.csv', modified).source;
    expect(accented).toMatch(/^donn_es-[0-9a-f]{8}\.csv$/);
    expect(partitionOf('incoming/m1/May_rows__final_.csv.gz', modified).source).toBe(
      'May_rows__final_.csv.gz',
    );
    expect(partitionOf('incoming/m1/a+b.csv', modified).source).not.toBe(
      partitionOf('incoming/m1/a=b.csv', modified).source,
    );
  });

  it.each([
    ['outside incoming/', 'datasets/flight-delay/rows.csv', /not under incoming\//],
    ['without a model folder', 'incoming/rows.csv', /names no model folder/],
    ['with an invalid model name', 'incoming/Flight_Delay/rows.csv', /"Flight_Delay" is not a model name/],
    ['for a folder', 'incoming/flight-delay/', /is a folder/],
    ['with a bad version', 'incoming/flight-delay/version=0/rows.csv', /"version=0" is not version=/],
    ['with a version that is not a number', 'incoming/m/version=latest/rows.csv', /is not version=/],
    ['with an impossible date', 'incoming/m/dt=2023-02-29/rows.csv', /"dt=2023-02-29" is not dt=/],
    [
      'with dt before version',
      'incoming/m/dt=2024-01-01/version=2/rows.csv',
      /unexpected folder "version=2"/,
    ],
    ['with extra folders', 'incoming/m/archive/rows.csv', /unexpected folder "archive"/],
    ['for a name of dots', 'incoming/m/..', /not a file name/],
  ])('fails %s with InvalidRequest naming the layout', (_what, key, message) => {
    let error: unknown;
    try {
      partitionOf(key, modified);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidRequest);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain('expected incoming/{model}/[version={n}/][dt=YYYY-MM-DD/]');
  });
});
