// gatherGroundTruth: every data object of a model's dt partitions read once, through the
// GroundTruthObjects port, with files it cannot read skipped and named, and each record kept once.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  type GroundTruthObjects,
  gatherGroundTruth,
} from '../../../../../functions/lib/retraining/ground-truth.ts';
import { recipeFor } from '../../../../../functions/lib/training/recipes.ts';

const recipe = recipeFor('flights-v1');
const PREFIX = 'ground-truth/model=flight-delay';

/** Ground-truth objects in memory; `gone` keys are still listed but deleted before they are read. */
class MemoryGroundTruth implements GroundTruthObjects {
  readonly objects = new Map<string, Uint8Array>();
  readonly gone = new Set<string>();
  readonly reads: string[] = [];

  put(key: string, body: string | Uint8Array): void {
    this.objects.set(key, typeof body === 'string' ? new TextEncoder().encode(body) : body);
  }

  async listKeys(prefix: string): Promise<string[]> {
    return [...this.objects.keys(), ...this.gone].filter((k) => k.startsWith(prefix)).sort();
  }

  async read(key: string): Promise<Uint8Array> {
    this.reads.push(key);
    const body = this.objects.get(key);
    if (!body)
      throw Object.assign(new Error(`The specified key does not exist: ${key}`), { name: 'NoSuchKey' });
    return body;
  }
}

const lines = (rows: readonly unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n');
const sfo = { date: '2001/01/14 21:55', distance: 1200, origin: 'SFO', destination: 'LAX', delay: 45 };
const lax = { date: '2001/01/15 06:00', distance: 337, origin: 'LAX', destination: 'SFO', delay: -3 };
const den = { date: '2001/01/16 12:30', distance: 1019, origin: 'DEN', destination: 'ORD', delay: 20 };

function bucket(): MemoryGroundTruth {
  const objects = new MemoryGroundTruth();
  objects.put(`${PREFIX}/dt=2026-11-26/part-0.jsonl`, lines([sfo, lax, { ...den, distance: -1 }]));
  objects.put(`${PREFIX}/dt=2026-11-26/_SUCCESS`, '');
  objects.put(`${PREFIX}/dt=2026-11-26/.part-0.jsonl.crc`, 'not data');
  // The same SFO flight again, spelled in CSV with a lower-case origin: one record.
  objects.put(
    `${PREFIX}/dt=2026-11-27/late.csv.gz`,
    gzipSync(
      'date,delay,distance,origin,destination\n2001/01/14 21:55,45,1200,sfo,LAX\n2001/01/16 12:30,20,1019,DEN,ORD\n',
    ),
  );
  objects.put(`${PREFIX}/dt=2026-11-27/notes.txt`, 'labels for the 27th');
  objects.put(`${PREFIX}/dt=2026-11-27/broken.jsonl`, '{"date": ');
  objects.gone.add(`${PREFIX}/dt=2026-11-27/retracted.jsonl`);
  // Outside what is asked for: another day, another model.
  objects.put(`${PREFIX}/dt=2026-11-25/old.jsonl`, lines([{ ...lax, distance: 338 }]));
  objects.put('ground-truth/model=churn/dt=2026-11-27/part-0.jsonl', lines([{ ...den, distance: 1020 }]));
  return objects;
}

describe('gatherGroundTruth', () => {
  it("reads every data object of the model's partitions, keeping each valid record once", async () => {
    const objects = bucket();

    const gathered = await gatherGroundTruth('flight-delay', ['2026-11-26', '2026-11-27'], recipe, objects);

    expect(gathered.files).toEqual([
      { key: `${PREFIX}/dt=2026-11-26/part-0.jsonl`, rows: 3, valid: 2 },
      { key: `${PREFIX}/dt=2026-11-27/late.csv.gz`, rows: 2, valid: 1 },
    ]);
    expect(gathered.rows.records.map((r) => [r.row.origin, r.row.date, r.label])).toEqual([
      ['SFO', '2001/01/14 21:55', 1],
      ['LAX', '2001/01/15 06:00', 0],
      ['DEN', '2001/01/16 12:30', 1],
    ]);
    expect(gathered.rows.duplicates).toBe(1);
    expect(gathered.rows.rejected).toBe(1);
    expect(gathered.rows.rejectReasons()).toEqual([
      { reason: 'distance: expected a distance in miles greater than 0', rows: 1 },
    ]);
  });

  it('skips folder markers and hidden files without reading them', async () => {
    const objects = bucket();

    await gatherGroundTruth('flight-delay', ['2026-11-26', '2026-11-27'], recipe, objects);

    expect(objects.reads.filter((k) => /\/[_.][^/]*$/.test(k))).toEqual([]);
    expect(
      objects.reads.every(
        (k) => k.startsWith(`${PREFIX}/dt=2026-11-26/`) || k.startsWith(`${PREFIX}/dt=2026-11-27/`),
      ),
    ).toBe(true);
  });

  it('skips files it cannot read as rows, with the reason, and goes on', async () => {
    const gathered = await gatherGroundTruth('flight-delay', ['2026-11-26', '2026-11-27'], recipe, bucket());

    expect(gathered.skipped).toEqual([
      {
        key: `${PREFIX}/dt=2026-11-27/broken.jsonl`,
        reason: expect.stringContaining('dataset line 1 is not valid JSON'),
      },
      {
        key: `${PREFIX}/dt=2026-11-27/notes.txt`,
        reason: 'not a ground-truth file: name it *.csv, *.json, *.jsonl or *.ndjson (optionally .gz)',
      },
    ]);
  });

  it('ignores an object deleted between the listing and the read', async () => {
    const objects = bucket();

    const gathered = await gatherGroundTruth('flight-delay', ['2026-11-27'], recipe, objects);

    expect(objects.reads).toContain(`${PREFIX}/dt=2026-11-27/retracted.jsonl`);
    expect([...gathered.files, ...gathered.skipped].map((f) => f.key)).not.toContain(
      `${PREFIX}/dt=2026-11-27/retracted.jsonl`,
    );
    expect(gathered.files.map((f) => f.key)).toEqual([`${PREFIX}/dt=2026-11-27/late.csv.gz`]);
  });

  it('throws a read that fails for another reason than a deletion, so the step is retried on the same files', async () => {
    const objects = bucket();
    objects.read = async () => {
      throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
    };

    await expect(gatherGroundTruth('flight-delay', ['2026-11-27'], recipe, objects)).rejects.toMatchObject({
      name: 'AccessDenied',
    });
  });

  it('finds nothing in partitions that hold nothing', async () => {
    const gathered = await gatherGroundTruth('flight-delay', ['2026-11-20'], recipe, bucket());

    expect(gathered).toMatchObject({ files: [], skipped: [] });
    expect(gathered.rows.records).toEqual([]);
  });
});
