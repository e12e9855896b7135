import { describe, expect, it } from 'vitest';
import {
  type FlightEncoding,
  type FlightInstance,
  flightDelayLabel,
  flights,
  MIN_FLIGHTS_PER_AIRPORT,
} from '../../../../../functions/lib/features/flights.ts';
import { loadFlights } from '../../../../support/flights-dataset.ts';

const flight = (overrides: Partial<FlightInstance> = {}): FlightInstance => ({
  date: '2001/01/01 00:47',
  distance: 1750,
  origin: 'DTW',
  destination: 'LAS',
  ...overrides,
});

/** `count` copies of a flight: enough of one airport to pass (or miss) the vocabulary threshold. */
const repeat = (count: number, overrides: Partial<FlightInstance>) =>
  Array.from({ length: count }, () => flight(overrides));

const encoding: FlightEncoding = { origins: ['DTW', 'ORD'], destinations: ['LAS'] };

/** Value of the column called `name` in row `row` of an encoded matrix. */
function column(x: Float32Array, names: string[], row: number, name: string): number {
  const j = names.indexOf(name);
  if (j < 0) throw new Error(`no column ${name}`);
  return x[row * names.length + j] ?? Number.NaN;
}

describe('flights feature set', () => {
  describe('fit', () => {
    it(`keeps airports with at least ${MIN_FLIGHTS_PER_AIRPORT} training flights, sorted`, () => {
      const rows = [
        ...repeat(MIN_FLIGHTS_PER_AIRPORT, { origin: 'ORD', destination: 'SFO' }),
        ...repeat(MIN_FLIGHTS_PER_AIRPORT, { origin: 'ATL', destination: 'SFO' }),
        ...repeat(MIN_FLIGHTS_PER_AIRPORT - 1, { origin: 'BOS', destination: 'JFK' }),
      ];
      expect(flights.fit(rows)).toEqual({ origins: ['ATL', 'ORD'], destinations: ['SFO'] });
    });

    it('is JSON-serialisable and encodes identically after a JSON round trip', () => {
      const { instances } = loadFlights();
      const fitted = flights.fit(instances);
      const restored = JSON.parse(JSON.stringify(fitted)) as FlightEncoding;
      const sample = instances.slice(0, 500);
      expect(flights.encode(sample, restored)).toEqual(flights.encode(sample, fitted));
    });
  });

  describe('featureNames', () => {
    it('lists hour, weekday, distance, then airports each with an (other) bucket', () => {
      expect(flights.featureNames(encoding)).toEqual([
        'hour_sin_24h',
        'hour_cos_24h',
        'hour_sin_12h',
        'hour_cos_12h',
        'weekday=mon',
        'weekday=tue',
        'weekday=wed',
        'weekday=thu',
        'weekday=fri',
        'weekday=sat',
        'weekday=sun',
        'log_distance',
        'origin=DTW',
        'origin=ORD',
        'origin=(other)',
        'destination=LAS',
        'destination=(other)',
      ]);
    });

    it('fails on an encoding of the wrong shape, as a corrupt artifact would carry', () => {
      const corrupt = { origins: 'DTW' } as unknown as FlightEncoding;
      expect(() => flights.featureNames(corrupt)).toThrow(/not a flights-v1 encoding/);
      const duplicated = { origins: ['DTW', 'DTW'], destinations: [] };
      expect(() => flights.encode([flight()], duplicated)).toThrow(/unique/);
    });
  });

  describe('encode', () => {
    const names = flights.featureNames(encoding);

    it('returns a row-major rows × features matrix', () => {
      const x = flights.encode([flight(), flight({ origin: 'ORD' }), flight()], encoding);
      expect(x).toBeInstanceOf(Float32Array);
      expect(x).toHaveLength(3 * names.length);
    });

    it('encodes the hour on the clock, the weekday, log distance and the airports', () => {
      const x = flights.encode([flight({ date: '2001/01/01 06:00' })], encoding);
      expect(column(x, names, 0, 'hour_sin_24h')).toBeCloseTo(1, 6); // 06:00 is a quarter of the day
      expect(column(x, names, 0, 'hour_cos_24h')).toBeCloseTo(0, 6);
      expect(column(x, names, 0, 'hour_sin_12h')).toBeCloseTo(0, 6);
      expect(column(x, names, 0, 'hour_cos_12h')).toBeCloseTo(-1, 6);
      expect(column(x, names, 0, 'weekday=mon')).toBe(1);
      expect(column(x, names, 0, 'log_distance')).toBe(Math.fround(Math.log(1750)));
      expect(column(x, names, 0, 'origin=DTW')).toBe(1);
      expect(column(x, names, 0, 'destination=LAS')).toBe(1);
      const ones = Array.from(x).filter((v) => v === 1);
      expect(ones).toHaveLength(3 + 1); // weekday, origin, destination, and hour_sin_24h at exactly 06:00
    });

    it('places 23:59 next to 00:00 on the clock', () => {
      const x = flights.encode(
        [flight({ date: '2001/01/01 23:59' }), flight({ date: '2001/01/02 00:00' })],
        encoding,
      );
      const width = names.length;
      expect(Math.abs((x[0] ?? 0) - (x[width] ?? 0))).toBeLessThan(0.01);
      expect(Math.abs((x[1] ?? 0) - (x[width + 1] ?? 0))).toBeLessThan(0.01);
    });

    it('puts an airport never seen in training in the (other) bucket instead of failing', () => {
      const x = flights.encode([flight({ origin: 'XYZ', destination: 'QQQ' })], encoding);
      expect(column(x, names, 0, 'origin=(other)')).toBe(1);
      expect(column(x, names, 0, 'destination=(other)')).toBe(1);
      expect(column(x, names, 0, 'origin=DTW') + column(x, names, 0, 'origin=ORD')).toBe(0);
    });

    it('sets exactly one weekday and one column per airport on every real flight', () => {
      const { instances } = loadFlights();
      const fitted = flights.fit(instances);
      const realNames = flights.featureNames(fitted);
      const x = flights.encode(instances.slice(0, 2000), fitted);
      const blockSum = (row: number, prefix: string) =>
        realNames.reduce(
          (sum, name, j) => sum + (name.startsWith(prefix) ? (x[row * realNames.length + j] ?? 0) : 0),
          0,
        );
      for (let row = 0; row < 2000; row++) {
        expect([blockSum(row, 'weekday='), blockSum(row, 'origin='), blockSum(row, 'destination=')]).toEqual([
          1, 1, 1,
        ]);
      }
      expect(x.every(Number.isFinite)).toBe(true);
    });

    it('does not depend on the host time zone', () => {
      const rows = [flight({ date: '2001/01/07 23:59' }), flight({ date: '2001-01-08T00:01' })];
      const original = process.env.TZ;
      try {
        const perZone = ['UTC', 'Pacific/Kiritimati', 'Pacific/Pago_Pago'].map((tz) => {
          process.env.TZ = tz;
          return flights.encode(rows, encoding);
        });
        expect(perZone[1]).toEqual(perZone[0]);
        expect(perZone[2]).toEqual(perZone[0]);
        expect(column(perZone[0] ?? new Float32Array(), names, 0, 'weekday=sun')).toBe(1);
        expect(column(perZone[0] ?? new Float32Array(), names, 1, 'weekday=mon')).toBe(1);
      } finally {
        if (original === undefined) delete process.env.TZ;
        else process.env.TZ = original;
      }
    });
  });

  describe('instanceSchema', () => {
    const issues = (value: unknown) => {
      const result = flights.instanceSchema.safeParse(value);
      return result.success
        ? []
        : result.error.issues.map((i) => ({ path: i.path, code: i.code, message: i.message }));
    };

    it('accepts a flight and normalises airport codes to upper case', () => {
      expect(flights.instanceSchema.parse(flight({ origin: ' dtw', destination: 'las' }))).toEqual(flight());
    });

    it('accepts an ISO departure time', () => {
      expect(issues(flight({ date: '2001-01-01T00:47' }))).toEqual([]);
    });

    it('accepts every flight in flights-20k', () => {
      expect(loadFlights().instances).toHaveLength(20_000);
    });

    it('fails on a wrong type, naming the field', () => {
      expect(issues({ ...flight(), distance: '1750' })).toEqual([
        expect.objectContaining({ path: ['distance'], code: 'invalid_type' }),
      ]);
    });

    it('fails on a missing field, naming the field', () => {
      const { origin: _origin, ...missing } = flight();
      expect(issues(missing)).toEqual([expect.objectContaining({ path: ['origin'], code: 'invalid_type' })]);
    });

    it('fails on an extra field such as the label', () => {
      const result = flights.instanceSchema.safeParse({ ...flight(), delay: 66 });
      expect(result.success).toBe(false);
      expect(result.error?.issues).toEqual([
        expect.objectContaining({ code: 'unrecognized_keys', keys: ['delay'] }),
      ]);
    });

    it.each([0, -5, 20_000, Number.NaN, Number.POSITIVE_INFINITY])('fails on distance %s', (distance) => {
      expect(issues(flight({ distance }))).toEqual([expect.objectContaining({ path: ['distance'] })]);
    });

    it('fails on a malformed date, saying which format is expected', () => {
      expect(issues(flight({ date: '01/01/2001 00:47' }))).toEqual([
        expect.objectContaining({ path: ['date'], message: expect.stringContaining('YYYY/MM/DD HH:mm') }),
      ]);
    });

    it('fails on an airport code that is not 1-8 letters or digits', () => {
      expect(issues(flight({ destination: 'LAS VEGAS' }))).toEqual([
        expect.objectContaining({ path: ['destination'], message: expect.stringContaining('airport code') }),
      ]);
      expect(issues(flight({ origin: '' }))).toEqual([expect.objectContaining({ path: ['origin'] })]);
    });
  });

  describe('flightDelayLabel', () => {
    it('labels a flight delayed when it departs more than 15 minutes late', () => {
      expect([-5, 0, 15, 16, 66].map((delay) => flightDelayLabel({ delay }))).toEqual([0, 0, 0, 1, 1]);
    });

    it('gives flights-20k its known 21.7% positive rate', () => {
      const { labels } = loadFlights();
      expect(labels.reduce((sum, y) => sum + y, 0) / labels.length).toBeCloseTo(0.21745, 5);
    });
  });
});
