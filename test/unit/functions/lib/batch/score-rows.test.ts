import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type IndexedItem,
  prepareInstance,
  type ScoringModel,
  scoreItems,
} from '../../../../../functions/lib/batch/score-rows.ts';
import { ModelUnavailable } from '../../../../../functions/lib/errors.ts';
import { flights } from '../../../../../functions/lib/features/flights.ts';
import type { ModelVersion } from '../../../../../functions/lib/registry/model-version.ts';
import type { LoadedModel } from '../../../../../functions/lib/serving/loaded-model.ts';
import { createOnnxModelLoader } from '../../../../../functions/lib/serving/onnx-model-loader.ts';
import { recipeFor } from '../../../../../functions/lib/training/recipes.ts';
import { trainFlightModel } from '../../../../support/trained-model.ts';

const recipe = recipeFor('flights-v1');

/** A flight as a CSV row gives it: every value text. */
const csvFlight = (overrides: Record<string, string> = {}) => ({
  date: '2001/01/05 18:30',
  distance: '500',
  origin: 'dtw',
  destination: 'ORD',
  ...overrides,
});

describe('recipe fromText (flights-v1)', () => {
  it('turns well-formed distance text into a number and leaves other fields as they are', () => {
    expect(recipe.fromText(csvFlight({ distance: ' 1e3 ' }))).toEqual({ ...csvFlight(), distance: 1000 });
    expect(recipe.fromText(csvFlight({ distance: '12.5' })).distance).toBe(12.5);
    expect(recipe.fromText(csvFlight({ distance: '.5' })).distance).toBe(0.5);
  });

  it.each(['', '  ', 'abc', '0x10', 'Infinity', '1,000', '12 mi'])('leaves distance %j as text', (text) => {
    expect(recipe.fromText(csvFlight({ distance: text })).distance).toBe(text);
  });

  it('does not change the row it is given', () => {
    const row = csvFlight();
    recipe.fromText(row);
    expect(row).toEqual(csvFlight());
  });
});

describe('prepareInstance', () => {
  it('converts CSV text and validates it as the prediction API does', () => {
    expect(prepareInstance(csvFlight(), recipe, 'csv')).toEqual({
      ok: true,
      instance: { date: '2001/01/05 18:30', distance: 500, origin: 'DTW', destination: 'ORD' },
    });
  });

  it('gives the schema message for each bad field', () => {
    expect(prepareInstance(csvFlight({ distance: '-5' }), recipe, 'csv')).toEqual({
      ok: false,
      reason: 'distance: expected a distance in miles greater than 0',
    });
    const prepared = prepareInstance(csvFlight({ distance: '', date: 'tomorrow' }), recipe, 'csv');
    expect(prepared.ok).toBe(false);
    const reason = prepared.ok ? '' : prepared.reason;
    expect(reason).toMatch(/^date: expected a local departure time .*; distance: .*number/);
  });

  it('reports unknown and missing fields by name', () => {
    const { destination: _destination, ...withoutDestination } = csvFlight();
    const prepared = prepareInstance({ ...withoutDestination, delay: '20' }, recipe, 'csv');
    expect(prepared.ok ? '' : prepared.reason).toMatch(/^destination: .*; delay: unknown field$/);
  });

  it('does not convert JSON Lines values: a distance must be a JSON number', () => {
    expect(prepareInstance({ ...csvFlight(), distance: 500 }, recipe, 'jsonl').ok).toBe(true);
    expect(prepareInstance(csvFlight(), recipe, 'jsonl').ok).toBe(false);
  });

  it('keeps the key column (id, then key, then row_id) out of the instance and returns it', () => {
    const byId = prepareInstance({ ...csvFlight(), key: 'k', id: 'f-1' }, recipe, 'csv');
    expect(byId).toMatchObject({ ok: false, reason: 'key: unknown field' });
    expect(prepareInstance({ id: 'f-1', ...csvFlight() }, recipe, 'csv')).toMatchObject({
      ok: true,
      key: 'f-1',
    });
    expect(prepareInstance({ ...csvFlight(), key: 'k' }, recipe, 'csv')).toMatchObject({
      ok: true,
      key: 'k',
    });
    expect(prepareInstance({ ...csvFlight(), row_id: '7' }, recipe, 'csv')).toMatchObject({
      ok: true,
      key: '7',
    });
    expect(prepareInstance({ ...csvFlight(), distance: 5, id: 42 }, recipe, 'jsonl')).toMatchObject({
      ok: true,
      key: 42,
    });
  });

  it('uses a named key column instead of the default names', () => {
    const row = { flight: 'UA 1', ...csvFlight() };
    expect(prepareInstance(row, recipe, 'csv', { keyColumn: 'flight' })).toMatchObject({
      ok: true,
      key: 'UA 1',
    });
    expect(prepareInstance({ ...row, id: '1' }, recipe, 'csv', { keyColumn: 'flight' })).toEqual({
      ok: false,
      reason: 'id: unknown field',
    });
    expect(prepareInstance(csvFlight(), recipe, 'csv', { keyColumn: 'flight' })).toEqual({
      ok: false,
      reason: 'flight: missing (the key column)',
    });
  });

  it('rejects a key that is not a string or number', () => {
    expect(prepareInstance({ ...csvFlight(), distance: 5, id: { a: 1 } }, recipe, 'jsonl')).toEqual({
      ok: false,
      reason: "id: expected a string or number as the row's key",
    });
  });

  it('does not change the item it is given', () => {
    const item = { id: '1', ...csvFlight() };
    prepareInstance(item, recipe, 'csv');
    expect(item).toEqual({ id: '1', ...csvFlight() });
  });
});

describe('scoreItems with a trained flights-v1 model', () => {
  let model: LoadedModel;

  beforeAll(async () => {
    const trained = trainFlightModel();
    const artifacts = new Map([['s3://artifacts/models/fixture/1/model.onnx', trained.bytes]]);
    const load = createOnnxModelLoader(async (uri) => {
      const bytes = artifacts.get(uri);
      if (!bytes) throw new Error(`NoSuchKey: ${uri}`);
      return bytes;
    });
    model = await load({
      model: 'fixture',
      version: 1,
      artifactUri: 's3://artifacts/models/fixture/1/model.onnx',
      artifactSha256: trained.sha256,
      featureSet: 'flights-v1',
    } as ModelVersion);
  });

  /** A batch starting at item 1000: accepted and rejected rows mixed, some with keys. */
  const batch = (): IndexedItem[] =>
    [
      { id: 'a', ...csvFlight() },
      { id: 'b', ...csvFlight({ distance: 'far' }) },
      {
        id: 'c',
        ...csvFlight({ date: '2001/03/02 06:05', distance: '1800', origin: 'LAX', destination: 'JFK' }),
      },
      csvFlight({ date: '2001/02/10 23:55', distance: '120', origin: 'zzz', destination: 'DTW' }),
      { id: 'e', ...csvFlight({ origin: 'not an airport' }) },
      {
        id: 'f',
        ...csvFlight({ date: '2001/01/07 12:00', distance: '2500', origin: 'ATL', destination: 'SFO' }),
      },
    ].map((row, i) => ({ index: 1000 + i, row }));

  it('scores accepted rows in input order with their id, row index, score and label', async () => {
    const { scored } = await scoreItems(batch(), model, { recipe, format: 'csv' });
    const lines = scored.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((l) => [l.id, l.row])).toEqual([
      ['a', 1000],
      ['c', 1002],
      [undefined, 1003],
      ['f', 1005],
    ]);
    expect(Object.keys(lines[0] ?? {})).toEqual(['id', 'row', 'score', 'label']);
    expect(Object.keys(lines[2] ?? {})).toEqual(['row', 'score', 'label']);
    for (const line of lines) expect(line.label).toBe((line.score as number) >= model.threshold ? 1 : 0);
  });

  it('gives the scores of a direct model.score of the same encoded rows', async () => {
    const items = batch();
    const { scored } = await scoreItems(items, model, { recipe, format: 'csv' });
    const accepted = [0, 2, 3, 5].map((i) =>
      flights.instanceSchema.parse(recipe.fromText(withoutId(items[i]?.row ?? {}))),
    );
    const direct = await model.score(flights.encode(accepted, model.encoding as never), accepted.length);
    expect(scored.map((line) => (JSON.parse(line) as { score: number }).score)).toEqual(Array.from(direct));
  });

  it('writes a rejected line with the row index, the reasons and the row as read', async () => {
    const items = batch();
    const { rejected } = await scoreItems(items, model, { recipe, format: 'csv' });
    expect(rejected.map((line) => JSON.parse(line))).toEqual([
      { row: 1001, reason: expect.stringMatching(/^distance: /), input: items[1]?.row },
      { row: 1004, reason: expect.stringMatching(/^origin: expected an airport code/), input: items[4]?.row },
    ]);
    expect(Object.keys(JSON.parse(rejected[0] ?? '{}'))).toEqual(['row', 'reason', 'input']);
  });

  it('encodes and scores a whole batch with one call each', async () => {
    const score = vi.fn(model.score);
    const encode = vi.spyOn(model.featureSet, 'encode');
    await scoreItems(batch(), { ...model, score }, { recipe, format: 'csv' });
    expect(encode).toHaveBeenCalledTimes(1);
    expect(score).toHaveBeenCalledTimes(1);
    expect(score.mock.calls[0]?.[1]).toBe(4);
    encode.mockRestore();
  });

  it('gives the same bytes for the same rows', async () => {
    const first = await scoreItems(batch(), model, { recipe, format: 'csv' });
    const second = await scoreItems(batch(), model, { recipe, format: 'csv' });
    expect(second).toEqual(first);
  });

  it('reads keys from a named column and scores JSON Lines rows', async () => {
    const items = [
      {
        index: 0,
        row: { flight: 'UA 1', date: '2001/01/05 18:30', distance: 500, origin: 'DTW', destination: 'ORD' },
      },
    ];
    const { scored, rejected } = await scoreItems(items, model, {
      recipe,
      format: 'jsonl',
      keyColumn: 'flight',
    });
    expect(rejected).toEqual([]);
    expect(JSON.parse(scored[0] ?? '{}')).toMatchObject({ id: 'UA 1', row: 0 });
  });

  it('does not call the model when every row is rejected', async () => {
    const score = vi.fn(model.score);
    const result = await scoreItems(
      [{ index: 0, row: { nonsense: '1' } }],
      { ...model, score },
      {
        recipe,
        format: 'csv',
      },
    );
    expect(result.scored).toEqual([]);
    expect(result.rejected).toHaveLength(1);
    expect(score).not.toHaveBeenCalled();
  });

  it('fails when the recipe belongs to another feature set', async () => {
    const other = { ...recipe, featureSet: { ...recipe.featureSet, name: 'other-v1' } };
    await expect(scoreItems(batch(), model, { recipe: other, format: 'csv' })).rejects.toThrow(TypeError);
  });
});

describe('scoreItems with a broken model', () => {
  const item = { index: 0, row: csvFlight() };
  const encoding = { origins: [], destinations: [] };
  const fake = (scores: number[]): ScoringModel => ({
    featureSet: flights as ScoringModel['featureSet'],
    encoding,
    threshold: 0.5,
    score: async () => Float32Array.from(scores),
  });

  it('fails with ModelUnavailable when the model returns the wrong number of scores', async () => {
    await expect(scoreItems([item], fake([0.1, 0.2]), { recipe, format: 'csv' })).rejects.toThrow(
      ModelUnavailable,
    );
  });

  it('fails with ModelUnavailable when a score is not a number', async () => {
    await expect(scoreItems([item], fake([Number.NaN]), { recipe, format: 'csv' })).rejects.toThrow(
      /no valid score for row 0/,
    );
  });
});

function withoutId(row: Record<string, unknown>): Record<string, string> {
  const { id: _id, ...rest } = row;
  return rest as Record<string, string>;
}
