import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { distinctShiftedFlights, type FlightRecord, shiftedFlights } from '../../../cli/drift-simulation.ts';

const flights = JSON.parse(
  readFileSync(
    join(dirname(createRequire(import.meta.url).resolve('vega-datasets')), '..', 'data', 'flights-20k.json'),
    'utf8',
  ),
) as FlightRecord[];

const share = (rows: readonly FlightRecord[], test: (r: FlightRecord) => boolean) =>
  rows.filter(test).length / rows.length;
const delayed = (r: FlightRecord) => r.delay > 15;
const longHaul = (r: FlightRecord) => r.distance > 1000;

describe('shiftedFlights', () => {
  it('draws like the data when nothing shifts', () => {
    const drawn = shiftedFlights(flights, 'none', 5_000, 1);
    expect(share(drawn, longHaul)).toBeCloseTo(share(flights, longHaul), 1);
    expect(share(drawn, delayed)).toBeCloseTo(share(flights, delayed), 1);
  });

  it('shifts the inputs for a covariate shift, drawing real flights', () => {
    const drawn = shiftedFlights(flights, 'covariate', 5_000, 1);
    expect(share(drawn, longHaul)).toBeGreaterThan(share(flights, longHaul) + 0.2);
    expect(drawn.every((row) => flights.includes(row))).toBe(true);
  });

  it('raises the share of delayed flights for a label shift', () => {
    const drawn = shiftedFlights(flights, 'label', 5_000, 1);
    expect(share(drawn, delayed)).toBeGreaterThan(share(flights, delayed) + 0.2);
  });

  it('keeps the inputs and rewrites the outcome for a concept shift (weekday evenings late, weekends on time)', () => {
    const drawn = shiftedFlights(flights, 'concept', 5_000, 1);
    expect(share(drawn, longHaul)).toBeCloseTo(share(flights, longHaul), 1);
    const evenings = drawn.filter((r) => / (1[7-9]|2\d):/.test(r.date));
    expect(share(evenings, delayed)).toBeGreaterThan(0.6);
    expect(share(evenings, delayed)).toBeLessThan(0.8); // weekend evenings are on time now
  });

  it('gives the same rows for the same seed', () => {
    expect(shiftedFlights(flights, 'label', 100, 7)).toEqual(shiftedFlights(flights, 'label', 100, 7));
  });
});

describe('distinctShiftedFlights', () => {
  it('draws each flight at most once, still shifted', () => {
    const drawn = distinctShiftedFlights(flights, 'covariate', 8_000, 3);
    expect(new Set(drawn).size).toBe(8_000);
    expect(share(drawn, longHaul)).toBeGreaterThan(share(flights, longHaul) + 0.1);
  });
});
