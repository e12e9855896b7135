// Ground truth as a retraining reads it: which dt partitions a window's lookback covers, how each
// file format becomes rows, which rows count (each record once, rejects with their reasons), and
// a holdout split that depends on the record alone.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  holdoutDraw,
  isDataObject,
  LabelledRows,
  lookbackPartitions,
  readGroundTruthFile,
  splitHoldout,
} from '../../../../../functions/lib/retraining/ground-truth.ts';
import { recipeFor } from '../../../../../functions/lib/training/recipes.ts';
import { flightsRawRows } from '../../../../support/training-run.ts';

const recipe = recipeFor('flights-v1');
const text = (value: string) => new TextEncoder().encode(value);

describe('lookbackPartitions', () => {
  it('covers every UTC day that overlaps the lookback, oldest first', () => {
    expect(lookbackPartitions(new Date('2026-11-27T07:00:00Z'), 3)).toEqual([
      '2026-11-24',
      '2026-11-25',
      '2026-11-26',
      '2026-11-27',
    ]);
  });

  it('crosses month and year ends', () => {
    expect(lookbackPartitions(new Date('2027-01-01T00:30:00Z'), 1)).toEqual(['2026-12-31', '2027-01-01']);
  });

  it('fails on a lookback that is not a positive whole number of days', () => {
    expect(() => lookbackPartitions(new Date(), 0)).toThrow(/lookbackDays must be a positive integer, got 0/);
  });
});

describe('isDataObject', () => {
  it('skips folder markers, manifests and hidden files', () => {
    const keys = ['p/a.json', 'p/', 'p/_SUCCESS', 'p/.DS_Store', 'p/b.csv.gz'];
    expect(keys.filter(isDataObject)).toEqual(['p/a.json', 'p/b.csv.gz']);
  });
});

describe('readGroundTruthFile', () => {
  const rows = flightsRawRows().slice(0, 3);

  it('reads a JSON array, as the seed flights file is', () => {
    expect(readGroundTruthFile('gt/a.json', text(JSON.stringify(rows)), recipe)).toEqual(rows);
  });

  it('reads gzipped JSON Lines', () => {
    const lines = rows.map((r) => JSON.stringify(r)).join('\n');
    expect(readGroundTruthFile('gt/a.jsonl.gz', gzipSync(text(lines)), recipe)).toEqual(rows);
  });

  it('reads CSV with numbers where the recipe and the label expect them', () => {
    const csv = `date,delay,distance,origin,destination\n2001/01/14 21:55,45,1200,SFO,LAX\n2001/01/15 06:00,-3,405,LAX,SFO\n`;

    expect(readGroundTruthFile('gt/a.csv', text(csv), recipe)).toEqual([
      { date: '2001/01/14 21:55', delay: 45, distance: 1200, origin: 'SFO', destination: 'LAX' },
      { date: '2001/01/15 06:00', delay: -3, distance: 405, origin: 'LAX', destination: 'SFO' },
    ]);
  });

  it('fails on a file whose name says no format it reads', () => {
    expect(() => readGroundTruthFile('gt/a.parquet', text('x'), recipe)).toThrow(/name it \*\.csv, \*\.json/);
  });
});

describe('LabelledRows', () => {
  it('keeps valid labelled rows once each and counts the rest by reason', () => {
    const [a, b, c] = flightsRawRows();
    const collected = new LabelledRows(recipe);

    const added = collected.add([
      a,
      b,
      { ...c, origin: c?.origin.toLowerCase() },
      c, // the same record as the one before, spelled in upper case
      { ...a, delay: 'late' },
      { ...b, distance: -1 },
      'not a row',
    ]);

    expect(added).toBe(3);
    expect(collected.records.map((r) => r.row)).toEqual([a, b, { ...c, origin: c?.origin.toLowerCase() }]);
    expect(collected.duplicates).toBe(1);
    expect(collected.rejected).toBe(3);
    expect(collected.rejectReasons()).toEqual([
      { reason: '(row): not an object', rows: 1 },
      { reason: 'delay: Invalid input: expected number, received string', rows: 1 },
      { reason: 'distance: expected a distance in miles greater than 0', rows: 1 },
    ]);
  });
});

describe('splitHoldout', () => {
  const collected = new LabelledRows(recipe);
  collected.add(flightsRawRows().slice(0, 10_000));

  it('holds out about the share asked for', () => {
    const { train, holdout } = splitHoldout(collected.records, 0.3);

    expect(train.length + holdout.length).toBe(10_000);
    expect(holdout.length / 10_000).toBeGreaterThan(0.28);
    expect(holdout.length / 10_000).toBeLessThan(0.32);
  });

  it('puts a record on the same side whatever order it arrives in', () => {
    const forward = splitHoldout(collected.records, 0.3);
    const backward = splitHoldout([...collected.records].reverse(), 0.3);

    expect(new Set(backward.holdout.map((r) => r.key))).toEqual(new Set(forward.holdout.map((r) => r.key)));
    for (const record of forward.holdout) expect(holdoutDraw(record.key)).toBeLessThan(0.3);
  });

  it('fails on a share outside (0, 1)', () => {
    expect(() => splitHoldout([], 1)).toThrow(/holdoutShare must be in \(0, 1\), got 1/);
  });
});
