// Training recipes: which feature set a dataset feeds and how its label is derived. Labels are
// a training concern only, so they live here rather than in the serving feature sets.
import { flightDelayLabel } from '../lib/features/flights.ts';

/** How to turn a raw training row into (instance, label). */
export interface TrainingRecipe {
  readonly featureSet: string;
  /** Columns that are not model inputs (the label and what it is derived from). */
  readonly labelColumns: readonly string[];
  /** 1 for the positive class; throws or returns undefined when the row has no usable label. */
  label(row: Record<string, unknown>): 0 | 1 | undefined;
}

const flightDelay: TrainingRecipe = {
  featureSet: 'flights-v1',
  labelColumns: ['delay'],
  label: (row) =>
    typeof row.delay === 'number' && Number.isFinite(row.delay)
      ? flightDelayLabel({ delay: row.delay })
      : undefined,
};

/** Recipes by feature set name. */
export const recipes: Readonly<Record<string, TrainingRecipe>> = { [flightDelay.featureSet]: flightDelay };
