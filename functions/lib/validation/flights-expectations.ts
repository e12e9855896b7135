// Expectations for flights training data (`flights-v1`), derived from vega-datasets flights-20k.
import * as z from 'zod';
import { type FlightInstance, flightDelayLabel, flights } from '../features/flights.ts';
import type { ExpectationSet } from './expectations.ts';
import reference from './flights-reference.json' with { type: 'json' };

/** One training row: a flight as served, plus its departure delay in minutes (negative: early). */
export interface FlightTrainingRow extends FlightInstance {
  readonly delay: number;
}

/**
 * A training row is a serving instance plus `delay`, so the instance is checked by the feature
 * set's own schema: training can never accept what serving would reject.
 */
const flightTrainingRow: z.ZodType<FlightTrainingRow> = z
  .looseObject({ delay: z.number().finite('expected a delay in minutes') })
  .transform((row, ctx) => {
    const { delay, ...instance } = row;
    const parsed = flights.instanceSchema.safeParse(instance);
    if (parsed.success) return { ...parsed.data, delay };
    for (const issue of parsed.error.issues) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path, input: instance });
    }
    return z.NEVER;
  });

/** Airport shares in flights-20k, from the counts in `flights-reference.json`. */
function shares(counts: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([code, count]) => [code, count / reference.rows]));
}

/**
 * flights-20k as observed: 20,000 rows from Jan-Mar 2001; distance 30..4,475 miles (mean 724,
 * median 562); delay -59..522 minutes; 21.7% delayed more than 15 minutes; 220 origins and 223
 * destinations, 30 of each with at least 1% of flights. Bands leave room for a different sample
 * or season, not for a unit change (in km the mean would be ~1,165 and the median ~904).
 */
export const flightsExpectations: ExpectationSet<FlightTrainingRow> = {
  dataset: 'flights',
  rowSchema: flightTrainingRow,
  minRows: 5_000,
  maxNullRate: { date: 0, delay: 0, distance: 0, origin: 0, destination: 0 },
  ranges: [
    {
      column: 'distance',
      min: 20,
      max: 5_100,
      maxOutOfRangeShare: 0.001,
      mean: { min: 600, max: 860 },
      quantiles: [{ q: 0.5, min: 470, max: 660 }],
    },
    // A day late is the longest delay worth learning from; beyond it the flight was likely rescheduled.
    { column: 'delay', min: -120, max: 1_440, maxOutOfRangeShare: 0.001, mean: { min: -5, max: 30 } },
  ],
  categories: [
    { column: 'origin', reference: shares(reference.origin), maxUnseenShare: 0.02, requiredAboveShare: 0.01 },
    {
      column: 'destination',
      reference: shares(reference.destination),
      maxUnseenShare: 0.02,
      requiredAboveShare: 0.01,
    },
  ],
  labelBalance: {
    description: 'delayed more than 15 minutes',
    label: flightDelayLabel,
    positiveRate: { min: 0.1, max: 0.4 },
  },
  // No flight number in the data, and two carriers can fly a route at the same minute (2 such
  // pairs in flights-20k), so only a whole repeated record counts as a duplicate.
  uniqueKey: {
    description: 'date, origin, destination, distance, delay',
    key: (row) => [row.date, row.origin, row.destination, row.distance, row.delay].join('|'),
  },
};
