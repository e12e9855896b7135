// Feature set `flights-v1`: scores a scheduled flight from its departure time, distance and airports.
import * as z from 'zod';
import { DEPARTURE_TIME_FORMAT, parseDepartureTime } from './departure-time.ts';
import type { FeatureSet } from './feature-set.ts';

/** One flight to score, as sent to the prediction API (no label: delay is what is predicted). */
export interface FlightInstance {
  /** Scheduled departure in the origin airport's local time: `YYYY/MM/DD HH:mm` or `YYYY-MM-DDTHH:mm`. */
  readonly date: string;
  /** Distance flown in miles. */
  readonly distance: number;
  /** Origin airport code (IATA), upper case once validated. */
  readonly origin: string;
  /** Destination airport code (IATA), upper case once validated. */
  readonly destination: string;
}

/** What `flights-v1` learns from training data: the airports common enough to get their own column. */
export interface FlightEncoding {
  /** Origins with their own one-hot column, sorted; every other origin shares `origin=(other)`. */
  readonly origins: readonly string[];
  /** Destinations with their own one-hot column, sorted; the rest share `destination=(other)`. */
  readonly destinations: readonly string[];
}

/** A flight counts as delayed when it departs more than this many minutes late. */
export const DELAY_THRESHOLD_MINUTES = 15;

/** Training label: 1 when the flight departed more than 15 minutes late. */
export const flightDelayLabel = (row: { readonly delay: number }): 0 | 1 =>
  row.delay > DELAY_THRESHOLD_MINUTES ? 1 : 0;

/**
 * An airport needs this many training flights for its own column. Weights fitted to a handful of
 * flights are noise; pooled in `(other)`, rare airports share one better-estimated weight.
 * (On flights-20k, 50 scored a slightly better held-out AUC than 10 or 20.)
 */
export const MIN_FLIGHTS_PER_AIRPORT = 50;

/** Longest plausible flight; beyond it a distance is a unit or typing error, not a flight. */
const MAX_DISTANCE_MILES = 10_000;

/** sin/cos of the 24 h and 12 h cycles: delays build up through the day and clear overnight. */
const HOUR_FEATURES = ['hour_sin_24h', 'hour_cos_24h', 'hour_sin_12h', 'hour_cos_12h'] as const;
const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const OTHER = '(other)';

// Column layout: hour features, weekdays, log distance, origins + other, destinations + other.
const WEEKDAY_START = HOUR_FEATURES.length;
const LOG_DISTANCE = WEEKDAY_START + WEEKDAYS.length;
const AIRPORTS_START = LOG_DISTANCE + 1;

const airportCode = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z0-9]{1,8}$/, 'expected an airport code of 1-8 letters or digits, e.g. "DTW"');

const instanceSchema = z.strictObject({
  date: z.string().refine((text) => parseDepartureTime(text) !== undefined, {
    error: `expected a local departure time ${DEPARTURE_TIME_FORMAT}`,
  }),
  distance: z
    .number()
    .positive('expected a distance in miles greater than 0')
    .max(MAX_DISTANCE_MILES, `expected a distance of at most ${MAX_DISTANCE_MILES} miles`),
  origin: airportCode,
  destination: airportCode,
});

const airportList = z.array(z.string()).refine((codes) => new Set(codes).size === codes.length, {
  error: 'airport codes must be unique',
});
const encodingSchema = z.object({ origins: airportList, destinations: airportList });

/** An encoding turned into column lookups. */
interface Columns {
  readonly width: number;
  readonly origin: ReadonlyMap<string, number>;
  readonly originOther: number;
  readonly destination: ReadonlyMap<string, number>;
  readonly destinationOther: number;
}

/** Serving encodes with one encoding object per loaded model, so lookups are built once per object. */
const columnsCache = new WeakMap<FlightEncoding, Columns>();

function columnsOf(encoding: FlightEncoding): Columns {
  const cached = columnsCache.get(encoding);
  if (cached) return cached;
  // Serving parses encodings from artifact JSON, typed only by trust: check the shape once, here.
  const parsed = encodingSchema.safeParse(encoding);
  if (!parsed.success) throw new TypeError(`not a flights-v1 encoding: ${z.prettifyError(parsed.error)}`);
  const { origins, destinations } = parsed.data;
  const index = (codes: readonly string[], start: number) =>
    new Map(codes.map((code, i) => [code, start + i]));
  const originOther = AIRPORTS_START + origins.length;
  const destinationOther = originOther + 1 + destinations.length;
  const columns: Columns = {
    width: destinationOther + 1,
    origin: index(origins, AIRPORTS_START),
    originOther,
    destination: index(destinations, originOther + 1),
    destinationOther,
  };
  columnsCache.set(encoding, columns);
  return columns;
}

/** Airports with at least MIN_FLIGHTS_PER_AIRPORT flights, sorted so the encoding is deterministic. */
function commonAirports(codes: Iterable<string>): string[] {
  const counts = new Map<string, number>();
  for (const code of codes) counts.set(code, (counts.get(code) ?? 0) + 1);
  return [...counts]
    .filter(([, count]) => count >= MIN_FLIGHTS_PER_AIRPORT)
    .map(([code]) => code)
    .sort();
}

/**
 * `flights-v1`: departure hour on the 24 h and 12 h clocks (sin/cos, so 23:59 sits next to
 * 00:00), weekday one-hot, log distance, and one-hot origin and destination airports with an
 * `(other)` bucket for airports rare in training or never seen, so serving never fails on them.
 */
export const flights: FeatureSet<FlightInstance, FlightEncoding> = {
  name: 'flights-v1',
  instanceSchema,

  fit(rows) {
    return {
      origins: commonAirports(rows.map((row) => row.origin)),
      destinations: commonAirports(rows.map((row) => row.destination)),
    };
  },

  featureNames(encoding) {
    columnsOf(encoding); // validates
    return [
      ...HOUR_FEATURES,
      ...WEEKDAYS.map((day) => `weekday=${day}`),
      'log_distance',
      ...encoding.origins.map((code) => `origin=${code}`),
      `origin=${OTHER}`,
      ...encoding.destinations.map((code) => `destination=${code}`),
      `destination=${OTHER}`,
    ];
  },

  encode(rows, encoding) {
    const columns = columnsOf(encoding);
    const out = new Float32Array(rows.length * columns.width);
    rows.forEach((row, i) => {
      const departure = parseDepartureTime(row.date);
      if (!departure) {
        throw new RangeError(`row ${i}: date ${JSON.stringify(row.date)} is not a departure time`);
      }
      const base = i * columns.width;
      const angle = (2 * Math.PI * (departure.hour + departure.minute / 60)) / 24;
      out.set([Math.sin(angle), Math.cos(angle), Math.sin(2 * angle), Math.cos(2 * angle)], base);
      out[base + WEEKDAY_START + departure.weekday] = 1;
      out[base + LOG_DISTANCE] = Math.log(row.distance);
      out[base + (columns.origin.get(row.origin) ?? columns.originOther)] = 1;
      out[base + (columns.destination.get(row.destination) ?? columns.destinationOther)] = 1;
    });
    return out;
  },
};
