// The challenger's training run: a run id derived from the retraining execution (so one retraining
// is one run and one version), and the champion's recipe carried over where it can be rerun.
import { describe, expect, it } from 'vitest';
import {
  challengerRecipe,
  challengerRunId,
  challengerTrainingRun,
} from '../../../../../functions/lib/retraining/challenger-run.ts';
import { retrainingExecutionName } from '../../../../../functions/lib/retraining/retraining-request.ts';
import { RunId } from '../../../../../functions/lib/runs/training-run.ts';

describe('challengerRunId', () => {
  it("is the execution's name when that is a valid run id", () => {
    const name = retrainingExecutionName('flight-delay', new Date('2026-11-27T07:00:00Z'));

    expect(challengerRunId(name)).toBe('flight-delay-drift-20261127T070000Z');
  });

  it('shortens a long name with a hash of the whole, so two long names never collide', () => {
    const a = retrainingExecutionName('a'.repeat(60), new Date('2026-11-27T07:00:00Z'));
    const b = retrainingExecutionName('a'.repeat(60), new Date('2026-11-27T08:00:00Z'));

    expect(RunId.parse(challengerRunId(a))).toHaveLength(57);
    expect(challengerRunId(a)).not.toBe(challengerRunId(b));
    expect(challengerRunId(a)).toBe(challengerRunId(a));
  });

  it('replaces what run ids do not allow', () => {
    const id = challengerRunId('_my_model-manual-20261127T070000Z');

    expect(RunId.parse(id)).toMatch(/^my-model-manual-20261127T070000Z-[0-9a-f]{8}$/);
  });
});

describe('challengerRecipe', () => {
  it("takes the champion's trainer, parameters and split seed", () => {
    expect(challengerRecipe({ version: 3, params: { trainer: 'gbdt', nTrees: 60, splitSeed: 4 } })).toEqual({
      trainer: 'gbdt',
      params: { nTrees: 60 },
      seed: 4,
    });
  });

  it('falls back to the defaults when the parameters are not valid any more, saying so', () => {
    const recipe = challengerRecipe({ version: 3, params: { trainer: 'logreg', bogus: 1 } });

    expect(recipe).toMatchObject({ trainer: 'logreg', params: {}, seed: 0 });
    expect(recipe.note).toMatch(/^v3's logreg parameters are not valid any more/);
  });
});

describe('challengerTrainingRun', () => {
  it('refuses a run the training pipeline would refuse, naming the field', () => {
    expect(() =>
      challengerTrainingRun({
        executionName: 'x',
        model: 'Not A Model',
        featureSet: 'flights-v1',
        datasetUri: 's3://data/datasets/x.jsonl',
        recipe: { trainer: 'logreg', params: {}, seed: 0 },
      }),
    ).toThrow(/model/);
  });
});
