// Training recipes: for each feature set, how a raw training row becomes (instance, label), what
// its data must satisfy before training (the validation gate), how its test rows are sliced
// into subgroups, which fields its drift profile describes, and how a batch CSV row's text becomes
// an instance. Labels and slices are training and monitoring concerns, so they live here rather
// than in the serving feature sets.
import type { FieldKind } from '../drift/profile.ts';
import { InvalidRequest } from '../errors.ts';
import { airportRegion } from '../features/airport-regions.ts';
import { parseDepartureTime } from '../features/departure-time.ts';
import type { FeatureSet } from '../features/feature-set.ts';
import { type FlightInstance, flightDelayLabel, flights } from '../features/flights.ts';
import type { ExpectationSet } from '../validation/expectations.ts';
import { flightsExpectations } from '../validation/flights-expectations.ts';

/** How to turn a raw training row into (instance, label), and how to check and slice the data. */
export interface TrainingRecipe<Instance = unknown> {
  readonly featureSet: FeatureSet<Instance>;
  /** Columns that are not model inputs (the label and what it is derived from). */
  readonly labelColumns: readonly string[];
  /** 1 for the positive class; undefined when the row has no usable label. */
  label(row: Record<string, unknown>): 0 | 1 | undefined;
  /** The data-validation gate run before training. */
  readonly expectations: ExpectationSet<unknown>;
  /** Named ways to slice instances into subgroups for per-subgroup metrics and the fairness gate. */
  readonly subgroups: Readonly<Record<string, (instance: Instance) => string>>;
  /** The slice used when a run names none. */
  readonly defaultSubgroup: string;
  /**
   * Fields of an instance as served that the drift profile describes; serving's inference
   * capture derives the same fields, so reference and live data are comparable.
   */
  readonly monitoredFields: Readonly<Record<string, FieldKind>>;
  monitoredValues(instance: Instance): Record<string, number | string | null>;
  /**
   * The identity of an instance as served: how an outcome that arrives later (a ground-truth row)
   * finds the captured predictions it belongs to. Two spellings of one instance give one key.
   */
  instanceKey(instance: Instance): string;
  /**
   * How a CSV row's text (every value a string, as Step Functions' ItemReader gives it) becomes a
   * raw instance for `featureSet.instanceSchema`. Converts only text that is well formed for its
   * field and leaves the rest as it is, so validation reports the bad value.
   */
  fromText(row: Record<string, string>): Record<string, unknown>;
}

/** Distance bands in miles, a coarse slice that every airport mix has. */
function distanceBand(miles: number): string {
  if (miles < 500) return 'short (<500 mi)';
  if (miles < 1500) return 'medium (500-1500 mi)';
  return 'long (1500+ mi)';
}

/** Parts of the day as travellers think of them (local departure time). */
function dayPart(date: string): string {
  const hour = parseDepartureTime(date)?.hour ?? 0;
  if (hour < 6) return 'night (0-6h)';
  if (hour < 12) return 'morning (6-12h)';
  if (hour < 18) return 'afternoon (12-18h)';
  return 'evening (18-24h)';
}

const WEEKDAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** A plain decimal number such as `812`, `-3.5`, `.5` or `1e3`; `Number()` alone would read `''` as 0. */
const DECIMAL_TEXT = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

const flightDelay: TrainingRecipe<FlightInstance> = {
  featureSet: flights,
  labelColumns: ['delay'],
  label: (row) =>
    typeof row.delay === 'number' && Number.isFinite(row.delay)
      ? flightDelayLabel({ delay: row.delay })
      : undefined,
  expectations: flightsExpectations as ExpectationSet<unknown>,
  subgroups: {
    origin_region: (f) => airportRegion(f.origin),
    distance_band: (f) => distanceBand(f.distance),
    day_part: (f) => dayPart(f.date),
  },
  defaultSubgroup: 'origin_region',
  monitoredFields: {
    distance: 'numeric',
    departure_hour: 'numeric',
    weekday: 'categorical',
    origin: 'categorical',
    destination: 'categorical',
  },
  monitoredValues: (f) => {
    const departure = parseDepartureTime(f.date);
    return {
      distance: f.distance,
      departure_hour: departure ? departure.hour + departure.minute / 60 : null,
      weekday: departure ? (WEEKDAY_NAMES[departure.weekday] ?? null) : null,
      origin: f.origin,
      destination: f.destination,
    };
  },
  // The departure to the minute as numbers (both accepted date spellings alike), the airports as
  // validated (upper case) and the distance.
  instanceKey: (f) => {
    const d = parseDepartureTime(f.date);
    const when = d ? [d.year, d.month, d.day, d.hour, d.minute].join('-') : f.date;
    return [when, f.origin, f.destination, f.distance].join('|');
  },
  fromText: (row) =>
    typeof row.distance === 'string' && DECIMAL_TEXT.test(row.distance)
      ? { ...row, distance: Number(row.distance) }
      : { ...row },
};

/** Recipes by feature set name. */
export const recipes: Readonly<Record<string, TrainingRecipe>> = Object.freeze({
  [flights.name]: flightDelay as TrainingRecipe,
});

/** The recipe for `featureSet`, or undefined when this build has none. */
export function getRecipe(featureSet: string): TrainingRecipe | undefined {
  return Object.hasOwn(recipes, featureSet) ? recipes[featureSet] : undefined;
}

/** The recipe for `featureSet`; an unknown one is a bad request naming the known ones. */
export function recipeFor(featureSet: string): TrainingRecipe {
  const recipe = getRecipe(featureSet);
  if (!recipe)
    throw new InvalidRequest(
      `unknown feature set "${featureSet}" (known: ${Object.keys(recipes).join(', ')})`,
    );
  return recipe;
}
